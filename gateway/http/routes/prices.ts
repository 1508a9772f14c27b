import { Type } from '@sinclair/typebox';
import { Ok, Refusals } from '../../protocol/schemas/api/common.js';
import { FlashBody, Flashed, LabelList, LabelOne, LabelParams, LabelQuery, PriceQuery, QuoteBody, SyncReportSchema } from '../../protocol/schemas/api/shelf.js';
import type { PriceService } from '../../prices/prices.js';
import { requireRole } from '../auth.js';
import type { TypedRoutes } from '../typeProvider.js';

export interface PriceRouteDeps {
  prices: PriceService;
}

/**
 * Shelf-label sync for ops: `GET /api/labels?state=stale|pending|failed|current`, `GET
 * /api/prices/sync`, a price lookup, and two attendant actions: LED flash and resend.
 */
export const priceRoutes: TypedRoutes<PriceRouteDeps> = async (app, deps) => {
  app.get('/api/labels', { preHandler: requireRole('viewer'), schema: { querystring: LabelQuery, response: { 200: LabelList, ...Refusals } } }, async (req) => {
    const q = req.query;
    return { state: q.state, ...deps.prices.listLabels(q.state, q.limit, q.offset) };
  });

  app.get('/api/labels/:id', { preHandler: requireRole('viewer'), schema: { params: LabelParams, response: { 200: LabelOne, ...Refusals } } }, async (req, reply) => {
    const l = deps.prices.label(req.params.id);
    if (!l) return reply.code(404).send({ code: 'SGW_ERR_NOT_FOUND', message: 'no such label' });
    return { label: l };
  });

  app.get('/api/prices/sync', { preHandler: requireRole('viewer'), schema: { response: { 200: SyncReportSchema, ...Refusals } } }, async () => deps.prices.sync());

  app.get('/api/prices/:gtin', { preHandler: requireRole('viewer'), schema: { params: Type.Object({ gtin: Type.String({ pattern: '^[0-9]{8,14}$' }) }), querystring: PriceQuery, response: { 200: QuoteBody, ...Refusals } } }, async (req, reply) => {
    const q = req.query;
    const quote = deps.prices.priceAt(req.params.gtin, q.at ? Date.parse(q.at) : undefined, q.member);
    if (!quote) return reply.code(404).send({ code: 'SGW_ERR_NOT_FOUND', message: 'no item or no price for this GTIN' });
    return { quote };
  });

  app.post('/api/labels/:id/flash', { preHandler: requireRole('attendant'), schema: { params: LabelParams, body: FlashBody, response: { 200: Flashed, ...Refusals } } }, async (req, reply) => {
    // A missing body gets the schema's defaults too (ajv's useDefaults fills an object only).
    const b = req.body ?? { color: 'green', seconds: 10 };
    const res = await deps.prices.flash(req.params.id, b.color, b.seconds);
    if (!res.ok) return reply.code(409).send({ code: 'SGW_ERR_CONFLICT', message: res.reason });
    return res;
  });

  app.post('/api/labels/:id/resend', { preHandler: requireRole('attendant'), schema: { params: LabelParams, response: { 200: Ok, ...Refusals } } }, async (req, reply) => {
    const ok = await deps.prices.resend(req.params.id);
    if (!ok) return reply.code(404).send({ code: 'SGW_ERR_NOT_FOUND', message: 'no such label, or it has no content' });
    return { ok: true as const };
  });
};
