/**
 * Shelf availability and RFID cycle counts on the ops page. Reading (viewer+): `GET
 * /api/stock/shelf` (the refill list: in stock, not on the shelf; and out of stock, per zone),
 * `GET /api/stock/shelf/:gtin` (units on the shelf per zone). Counting (attendant+, floor work):
 * `POST /api/stock/counts` starts one for a zone or the whole store, `GET /api/stock/counts/:id`
 * shows what was read so far, `POST …/close` ends the read window and fixes the count's event
 * time, and shows each item's difference against on hand; only then `POST …/apply` turns the
 * lines into `count` movements (a manager never applies a count blindly). Applying twice is one
 * count: its movements are keyed by the count.
 */
import { MovementsNotStored } from '../../stock/stockService.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CycleCount } from '../../items/cycleCount.js';
import type { Shelves } from '../../items/shelves.js';
import type { StockActions } from '../../stock/stockActions.js';
import { Refusals } from '../../protocol/schemas/api/common.js';
import { StockGtinParams, StockMoved } from '../../protocol/schemas/api/stock.js';
import { CountApplyBody, CountParams, CountStartBody, CountView, ShelfLists, ShelfOfItem, type CountViewBody } from '../../protocol/schemas/api/shelfStock.js';
import { requireRole } from '../auth.js';
import type { TypedRoutes } from '../typeProvider.js';

export interface ShelfRouteDeps {
  shelves: Shelves;
  actions: StockActions;
  now: () => number;
}

const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());

async function view(shelves: Shelves, c: CycleCount): Promise<CountViewBody> {
  return { countId: c.countId, zone: c.zone, startedAt: iso(c.startedAt)!, startedBy: c.startedBy, closedAt: iso(c.closedAt), applied: c.applied, lines: await shelves.countLines(c) };
}

function notFound(reply: FastifyReply, id: string): FastifyReply {
  return reply.code(404).send({ code: 'SGW_ERR_NOT_FOUND', message: `params.countId: no count ${id} (counts live in memory: the newest 20, until the gateway restarts)` });
}

export const shelfRoutes: TypedRoutes<ShelfRouteDeps> = async (app, deps) => {
  const s = deps.shelves;
  app.get('/api/stock/shelf', { preHandler: requireRole('viewer'), schema: { response: { 200: ShelfLists, ...Refusals } } }, async () => ({ zones: s.zoneNames(), ...(await s.lists()), checkedAt: iso(s.checkedAt) }));
  app.get('/api/stock/shelf/:gtin', { preHandler: requireRole('viewer'), schema: { params: StockGtinParams, response: { 200: ShelfOfItem, ...Refusals } } }, async (req) => ({ zones: s.onShelfOf(req.params.gtin) }));

  app.post('/api/stock/counts', { preHandler: requireRole('attendant'), schema: { body: CountStartBody, response: { 200: CountView, ...Refusals } } }, async (req, reply) => {
    if (s.zoneNames().length === 0) return reply.code(409).send({ code: 'SGW_ERR_CONFLICT', message: 'body.zone: no shelf readers are configured (config `shelves`)' });
    const zone = req.body.zone ?? null;
    if (zone !== null && !s.zoneNames().includes(zone)) return reply.code(400).send({ code: 'SGW_ERR_SCHEMA', message: `body.zone: no shelf zone "${zone}" (known: ${s.zoneNames().join(', ')})` });
    const c = s.startCount(zone, req.session!.username, req.body.requestId);
    return view(s, c);
  });
  app.get('/api/stock/counts/:countId', { preHandler: requireRole('viewer'), schema: { params: CountParams, response: { 200: CountView, ...Refusals } } }, async (req, reply) => {
    const c = s.countOf(req.params.countId);
    return c ? view(s, c) : notFound(reply, req.params.countId);
  });
  app.post('/api/stock/counts/:countId/close', { preHandler: requireRole('attendant'), schema: { params: CountParams, response: { 200: CountView, ...Refusals } } }, async (req, reply) => {
    const c = s.countOf(req.params.countId);
    if (!c) return notFound(reply, req.params.countId);
    c.close(deps.now());
    req.log.info({ by: req.session!.username, countId: c.countId, zone: c.zone }, 'cycle count closed');
    return view(s, c);
  });
  app.post('/api/stock/counts/:countId/apply', { preHandler: requireRole('attendant'), schema: { params: CountParams, body: CountApplyBody, response: { 200: StockMoved, ...Refusals } } }, async (req: FastifyRequest<{ Params: { countId: string }; Body: { requestId: string; gtins?: string[] } }>, reply) => {
    const c = s.countOf(req.params.countId);
    if (!c) return notFound(reply, req.params.countId);
    if (c.closedAt === null) return reply.code(409).send({ code: 'SGW_ERR_CONFLICT', message: 'params.countId: the count is still open; close it and review its differences first' });
    const lines = await s.countLines(c);
    const pick = req.body.gtins ? new Set(req.body.gtins) : null;
    const unknown = req.body.gtins?.find((g) => !lines.some((l) => l.gtin === g));
    if (unknown) return reply.code(400).send({ code: 'SGW_ERR_SCHEMA', message: `body.gtins: ${unknown} is not a line of count ${c.countId}` });
    const chosen = lines.filter((l) => !pick || pick.has(l.gtin));
    try {
      const r = await deps.actions.applyCount(req.session!.username, c.countId, c.closedAt, chosen);
      c.applied = true;
      req.log.info({ by: req.session!.username, countId: c.countId, lines: chosen.length }, 'cycle count applied');
      return r;
    } catch (err) {
      if (err instanceof MovementsNotStored) {
        req.log.error({ err: err.reason, countId: c.countId }, 'count movements not stored');
        return reply.code(503).send({ code: 'SGW_ERR_STORAGE', message: `the count was not applied (${err.reason.message}); nothing changed: apply it again` });
      }
      req.log.error({ err, countId: c.countId }, 'count movements kept, their records not written yet');
      return reply.code(503).send({ code: 'SGW_ERR_RECORD_FAILED', message: `the count is kept but its records could not be written yet (${(err as Error).message}); they are written when storage is back` });
    }
  });
};
