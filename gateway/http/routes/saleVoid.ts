/**
 * `POST /api/sales/:transactionId/void` (attendant or admin; who and which role come from the
 * session, never the body; a reason is required): voids a completed sale (kiosk/saleVoids.ts).
 * 200 with the exact `saleVoided` record once every step is done; 404 for a sale this store has
 * not made, 409 for one voided already or older than `kiosk.saleVoidWindowMs`; 503 when the void
 * was committed but a later step failed (it is finished at the next start).
 *
 * `GET /api/sales/by-receipt/:shortNo` (attendant or admin): the sales within the void window whose
 * receipt shows this short number (what the shopper holds: the thank-you screen and the paper
 * receipt print it), so the void form takes either; 404 when none.
 */
import { Type } from '@sinclair/typebox';
import type { SaleVoids } from '../../kiosk/saleVoids.js';
import { Refusals } from '../../protocol/schemas/api/common.js';
import { SaleByReceiptParams, SalesByReceipt, SaleVoidBody, SaleVoided, SaleVoidParams } from '../../protocol/schemas/saleVoid.js';
import { requireRole } from '../auth.js';
import type { TypedRoutes } from '../typeProvider.js';

export interface SaleVoidRouteDeps {
  voids: SaleVoids;
}

export const saleVoidRoutes: TypedRoutes<SaleVoidRouteDeps> = async (app, deps) => {
  app.get('/api/sales/by-receipt/:shortNo', { preHandler: requireRole('attendant'), schema: { params: SaleByReceiptParams, response: { 200: SalesByReceipt, ...Refusals } } }, async (req, reply) => {
    const sales = await deps.voids.byReceipt(req.params.shortNo);
    if (sales.length === 0) return reply.code(404).send({ code: 'SGW_ERR_NOT_FOUND', message: `params.shortNo: no sale within the void window shows receipt number ${req.params.shortNo.toUpperCase()}` });
    return { sales: sales.slice(0, 100) };
  });

  app.post(
    '/api/sales/:transactionId/void',
    { preHandler: requireRole('attendant'), schema: { params: SaleVoidParams, body: SaleVoidBody, response: { 200: Type.Object({ voided: SaleVoided }), ...Refusals } } },
    async (req, reply) => {
      const s = req.session!;
      const role = s.role === 'admin' ? 'admin' : 'attendant';
      let r;
      try {
        r = await deps.voids.void(req.params.transactionId, s.username, role, req.body.reason);
      } catch (err) {
        // The void is committed (serials released, refused a second time); a later step failed.
        req.log.error({ err, by: s.username, transactionId: req.params.transactionId }, 'sale void kept, a step of it failed');
        return reply.code(503).send({ code: 'SGW_ERR_RECORD_FAILED', message: `params.transactionId: the void of ${req.params.transactionId} is kept but a step of it failed (${(err as Error).message}); it is finished at the next start` });
      }
      if (!r.ok) return reply.code(r.status).send({ code: r.code, message: r.message });
      req.log.info({ by: s.username, transactionId: req.params.transactionId, refund: r.record.refund.kind }, 'sale voided');
      return { voided: r.record };
    },
  );
};
