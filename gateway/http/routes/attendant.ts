/**
 * Attendant approvals (the ops page's contract): the queue of open requests of every
 * kiosk, and approve/reject — each an exact `attendant` record (kind kiosk) committed before the
 * answer, after which the kiosk's session goes on.
 */
import { Type } from '@sinclair/typebox';
import type { KioskService } from '../../kiosk/sessions.js';
import { AttendantDecision, AttendantQueue, KioskVoided } from '../../protocol/schemas/api/checkout.js';
import { requireRole } from '../auth.js';
import { Refusals } from '../../protocol/schemas/api/common.js';
import type { TypedRoutes } from '../typeProvider.js';

export interface AttendantRouteDeps {
  service: KioskService;
}

const KioskParams = Type.Object({ kioskId: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' }) }, { additionalProperties: false });
const Params = Type.Object({ requestId: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' }) }, { additionalProperties: false });

export const attendantRoutes: TypedRoutes<AttendantRouteDeps> = async (app, deps) => {
  app.get('/api/attendant/queue', { preHandler: requireRole('attendant'), schema: { response: { 200: AttendantQueue, ...Refusals } } }, async () => ({ requests: deps.service.queue() }));

  for (const [path, decision] of [
    ['approve', 'approved'],
    ['reject', 'rejected'],
  ] as const) {
    app.post(`/api/attendant/:requestId/${path}`, { preHandler: requireRole('attendant'), schema: { params: Params, response: { 200: AttendantDecision, ...Refusals } } }, async (req, reply) => {
      const { requestId } = req.params;
      const ok = await deps.service.decide(requestId, decision, req.session!.username);
      if (!ok) return reply.code(404).send({ code: 'SGW_ERR_NOT_FOUND', message: `no open request ${requestId}` });
      return { requestId, decision };
    });
  }

  // A shopper walked away, or the attendant ends a transaction for them: the open cart is voided.
  app.post('/api/attendant/kiosks/:kioskId/void', { preHandler: requireRole('attendant'), schema: { params: KioskParams, response: { 200: KioskVoided, ...Refusals } } }, async (req, reply) => {
    const { kioskId } = req.params;
    const r = await deps.service.voidSession(kioskId, req.session!.username);
    if (r === 'notFound') return reply.code(404).send({ code: 'SGW_ERR_NOT_FOUND', message: `no kiosk ${kioskId}` });
    if (r === 'notOpen') return reply.code(409).send({ code: 'SGW_ERR_CONFLICT', message: `kiosk ${kioskId} has no open transaction to void (idle, approved and being recorded, or finished)` });
    req.log.info({ by: req.session!.username, deviceId: kioskId }, 'transaction voided by an attendant');
    return { kioskId, voided: true as const };
  });
};
