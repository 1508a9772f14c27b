/**
 * `POST /api/sales/:transactionId/void` (attendant or admin; who and which role come from the
 * session, never the body; a reason is required): voids a completed sale (kiosk/saleVoids.ts).
 * 200 with the exact `saleVoided` record once every step is done; 404 for a sale this store has
 * not made, 409 for one voided already or older than `kiosk.saleVoidWindowMs`.
 */
import { Type } from '@sinclair/typebox';
import type { SaleVoids } from '../../kiosk/saleVoids.js';
import { Refusals } from '../../protocol/schemas/api/common.js';
import { SaleVoidBody, SaleVoided, SaleVoidParams } from '../../protocol/schemas/saleVoid.js';
import { requireRole } from '../auth.js';
import type { TypedRoutes } from '../typeProvider.js';

export interface SaleVoidRouteDeps {
  voids: SaleVoids;
}

export const saleVoidRoutes: TypedRoutes<SaleVoidRouteDeps> = async (app, deps) => {
  app.post(
    '/api/sales/:transactionId/void',
    { preHandler: requireRole('attendant'), schema: { params: SaleVoidParams, body: SaleVoidBody, response: { 200: Type.Object({ voided: SaleVoided }), ...Refusals } } },
    async (req, reply) => {
      const s = req.session!;
      const role = s.role === 'admin' ? 'admin' : 'attendant';
      const r = await deps.voids.void(req.params.transactionId, s.username, role, req.body.reason);
      if (!r.ok) return reply.code(r.status).send({ code: r.code, message: r.message });
      req.log.info({ by: s.username, transactionId: req.params.transactionId, refund: r.record.refund.kind }, 'sale voided');
      return { voided: r.record };
    },
  );
};
