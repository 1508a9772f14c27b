/**
 * The ops page's Stock view. Reading (viewer+): `GET /api/stock/find?q=` (a GTIN or part of a
 * name), `GET /api/stock/items/:gtin` (level and last movements), `GET /api/stock/lists` (out and
 * low). Recording (attendant+, who it was comes from the session, never the body): `POST
 * /api/stock/receive` (cases scanned), `/adjust` (± with a reason), `/return`, `/count` (sets on
 * hand), `/deliveries/:id/confirm` (HQ's expected delivery, confirmed at the back door, partly or
 * whole; `GET /api/stock/deliveries` lists the open ones). Counts are attendant work too: cycle counts are done on the floor by the people who stock
 * it, and each names who counted in its record. A per-item low threshold is a store policy: admin.
 * Each recording answers after its exact `stockMove` records are durable.
 */
import type { StockActions } from '../../stock/stockActions.js';
import { MovementsNotStored } from '../../stock/stockService.js';
import { Refusals } from '../../protocol/schemas/api/common.js';
import { StockAdjustBody, StockConfirmBody, StockCountBody, StockDeliveries, StockDeliveryParams, StockFindQuery, StockFound, StockGtinParams, StockItemDetail, StockLists, StockMoved, StockReceiveBody, StockReturnBody, StockThresholdBody } from '../../protocol/schemas/api/stock.js';
import { requireRole } from '../auth.js';
import type { TypedRoutes } from '../typeProvider.js';
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface StockRouteDeps {
  actions: StockActions;
  setThreshold: (gtin: string, lowBelow: number | null) => Promise<void>;
}

/**
 * The two storage failures of a movement, told apart: stock.db did not store it (nothing changed;
 * the same request id may be sent again), or it is stored and only its record is not written yet
 * (it is written when storage is back).
 */
export async function recorded<T>(req: FastifyRequest, reply: FastifyReply, what: string, fn: () => Promise<T>): Promise<T | FastifyReply> {
  try {
    // Success is logged once, by the stock service ('stock moved', naming who): a line per request
    // here too doubled the log writes of the stock path.
    return await fn();
  } catch (err) {
    if (err instanceof MovementsNotStored) {
      req.log.error({ err: err.reason, by: req.session!.username, what }, 'stock movement not stored');
      return reply.code(503).send({ code: 'SGW_ERR_STORAGE', message: `the ${what} was not recorded (${err.reason.message}); nothing changed: send it again with the same requestId` });
    }
    req.log.error({ err, by: req.session!.username, what }, 'stock movement kept, its record not written yet');
    return reply.code(503).send({ code: 'SGW_ERR_RECORD_FAILED', message: `the ${what} is kept but its record could not be written yet (${(err as Error).message}); it is written when storage is back` });
  }
}

export const stockRoutes: TypedRoutes<StockRouteDeps> = async (app, deps) => {
  const a = deps.actions;
  app.get('/api/stock/find', { preHandler: requireRole('viewer'), schema: { querystring: StockFindQuery, response: { 200: StockFound, ...Refusals } } }, async (req) => ({ items: await a.find(req.query.q) }));
  app.get('/api/stock/items/:gtin', { preHandler: requireRole('viewer'), schema: { params: StockGtinParams, response: { 200: StockItemDetail, ...Refusals } } }, async (req) => a.detail(req.params.gtin));
  app.get('/api/stock/lists', { preHandler: requireRole('viewer'), schema: { response: { 200: StockLists, ...Refusals } } }, async () => a.lists());

  app.post('/api/stock/receive', { preHandler: requireRole('attendant'), schema: { body: StockReceiveBody, response: { 200: StockMoved, ...Refusals } } }, async (req, reply) =>
    recorded(req, reply, 'receipt', () => a.receive(req.session!.username, req.body.requestId, req.body.lines, req.body.ref)),
  );
  app.post('/api/stock/adjust', { preHandler: requireRole('attendant'), schema: { body: StockAdjustBody, response: { 200: StockMoved, ...Refusals } } }, async (req, reply) => {
    if (req.body.qty === 0) return reply.code(400).send({ code: 'SGW_ERR_SCHEMA', message: 'body.qty: an adjustment must change stock (not 0)' });
    return recorded(req, reply, 'adjustment', () => a.adjust(req.session!.username, req.body.requestId, req.body.gtin, req.body.qty, req.body.reason));
  });
  app.post('/api/stock/return', { preHandler: requireRole('attendant'), schema: { body: StockReturnBody, response: { 200: StockMoved, ...Refusals } } }, async (req, reply) =>
    recorded(req, reply, 'return', () => a.giveBack(req.session!.username, req.body.requestId, req.body.gtin, req.body.qty, req.body.ref)),
  );
  app.post('/api/stock/count', { preHandler: requireRole('attendant'), schema: { body: StockCountBody, response: { 200: StockMoved, ...Refusals } } }, async (req, reply) =>
    recorded(req, reply, 'count', () => a.count(req.session!.username, req.body.requestId, req.body.gtin, req.body.counted)),
  );
  app.get('/api/stock/deliveries', { preHandler: requireRole('viewer'), schema: { response: { 200: StockDeliveries, ...Refusals } } }, async () => ({ deliveries: await a.deliveries() }));
  app.post('/api/stock/deliveries/:deliveryId/confirm', { preHandler: requireRole('attendant'), schema: { params: StockDeliveryParams, body: StockConfirmBody, response: { 200: StockMoved, ...Refusals } } }, async (req, reply) =>
    recorded(req, reply, 'delivery receipt', async () => {
      const r = await a.confirmDelivery(req.session!.username, req.body.requestId, req.params.deliveryId, req.body.lines);
      if (!r.ok) return reply.code(r.status).send({ code: r.status === 404 ? 'SGW_ERR_NOT_FOUND' : 'SGW_ERR_SCHEMA', message: `${r.field}: ${r.message}` });
      return { movements: r.movements, items: r.items };
    }),
  );
  app.post('/api/stock/threshold', { preHandler: requireRole('admin'), schema: { body: StockThresholdBody, response: { 200: StockFound, ...Refusals } } }, async (req) => {
    await deps.setThreshold(req.body.gtin, req.body.lowBelow);
    return { items: await a.find(req.body.gtin) };
  });
};
