/**
 * Click & collect tasks on the ops page: `GET /api/pickups` (viewer+) lists the orders
 * collected at a kiosk that nobody has handed over yet; `POST /api/pickups/:orderId/handover` `{}`
 * (attendant+) marks one handed over — an exact `handover` record with the logged-in person and the
 * time, committed before the answer. The body is empty by schema: who it was comes from the session,
 * never from the request. A second hand-over of the same order (another tab) is refused with 409.
 * Cross-origin POSTs are refused before any route (requestGuards.ts).
 */
import type { Handovers } from '../../kiosk/handovers.js';
import { EmptyBody, Refusals } from '../../protocol/schemas/api/common.js';
import { HandedOver, PickupList, PickupParams } from '../../protocol/schemas/api/checkout.js';
import { requireRole } from '../auth.js';
import type { TypedRoutes } from '../typeProvider.js';

export interface PickupRouteDeps {
  handovers: Pick<Handovers, 'list' | 'handOver'>;
}


const STATUS = { notFound: 404, done: 409, busy: 409, failed: 503 } as const;
const CODE = { notFound: 'SGW_ERR_NOT_FOUND', done: 'SGW_ERR_CONFLICT', busy: 'SGW_ERR_CONFLICT', failed: 'SGW_ERR_RECORD_FAILED' } as const;

export const pickupRoutes: TypedRoutes<PickupRouteDeps> = async (app, deps) => {
  app.get('/api/pickups', { preHandler: requireRole('viewer'), schema: { response: { 200: PickupList, ...Refusals } } }, async () => ({ tasks: [...deps.handovers.list()] }));

  app.post('/api/pickups/:orderId/handover', { preHandler: requireRole('attendant'), schema: { params: PickupParams, body: EmptyBody, response: { 200: HandedOver, ...Refusals } } }, async (req, reply) => {
    const { orderId } = req.params;
    const by = req.session!.username;
    const r = await deps.handovers.handOver(orderId, by);
    if (!r.ok) {
      req.log.warn({ by, orderId, reason: r.reason }, 'hand-over refused');
      return reply.code(STATUS[r.reason]).send({ code: CODE[r.reason], message: r.message });
    }
    return r;
  });
};
