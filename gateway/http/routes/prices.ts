import { Type } from '@sinclair/typebox';
import type { PriceService } from '../../prices/prices.js';
import { requireRole } from '../auth.js';
import type { TypedRoutes } from '../typeProvider.js';

export interface PriceRouteDeps {
  prices: PriceService;
}

const LabelQuery = Type.Object(
  {
    state: Type.Union([Type.Literal('stale'), Type.Literal('pending'), Type.Literal('failed'), Type.Literal('current')], { default: 'stale' }),
    limit: Type.Integer({ minimum: 1, maximum: 5000, default: 500 }),
    offset: Type.Integer({ minimum: 0, default: 0 }),
  },
  { additionalProperties: false },
);
const LabelParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' }) });
const FlashBody = Type.Object(
  { color: Type.String({ pattern: '^[a-z]{1,16}$', default: 'green' }), seconds: Type.Integer({ minimum: 1, maximum: 600, default: 10 }) },
  { additionalProperties: false },
);
const PriceQuery = Type.Object({ at: Type.Optional(Type.String({ format: 'date-time' })), member: Type.Optional(Type.String({ maxLength: 64 })) }, { additionalProperties: false });

/**
 * Shelf-label sync for ops: `GET /api/labels?state=stale|pending|failed|current`, `GET
 * /api/prices/sync`, a price lookup, and two attendant actions: LED flash and resend.
 */
export const priceRoutes: TypedRoutes<PriceRouteDeps> = async (app, deps) => {
  app.get('/api/labels', { preHandler: requireRole('viewer'), schema: { querystring: LabelQuery } }, async (req) => {
    const q = req.query;
    return { state: q.state, ...deps.prices.listLabels(q.state, q.limit, q.offset) };
  });

  app.get('/api/labels/:id', { preHandler: requireRole('viewer'), schema: { params: LabelParams } }, async (req, reply) => {
    const l = deps.prices.label(req.params.id);
    if (!l) return reply.code(404).send({ code: 'SGW_ERR_NOT_FOUND', message: 'no such label' });
    return { label: l };
  });

  app.get('/api/prices/sync', { preHandler: requireRole('viewer') }, async () => deps.prices.sync());

  app.get('/api/prices/:gtin', { preHandler: requireRole('viewer'), schema: { params: Type.Object({ gtin: Type.String({ pattern: '^[0-9]{8,14}$' }) }), querystring: PriceQuery } }, async (req, reply) => {
    const q = req.query;
    const quote = deps.prices.priceAt(req.params.gtin, q.at ? Date.parse(q.at) : undefined, q.member);
    if (!quote) return reply.code(404).send({ code: 'SGW_ERR_NOT_FOUND', message: 'no item or no price for this GTIN' });
    return { quote };
  });

  app.post('/api/labels/:id/flash', { preHandler: requireRole('attendant'), schema: { params: LabelParams, body: FlashBody } }, async (req, reply) => {
    // A missing body gets the schema's defaults too (ajv's useDefaults fills an object only).
    const b = req.body ?? { color: 'green', seconds: 10 };
    const res = await deps.prices.flash(req.params.id, b.color, b.seconds);
    if (!res.ok) return reply.code(409).send({ code: 'SGW_ERR_CONFLICT', message: res.reason });
    return res;
  });

  app.post('/api/labels/:id/resend', { preHandler: requireRole('attendant'), schema: { params: LabelParams } }, async (req, reply) => {
    const ok = await deps.prices.resend(req.params.id);
    if (!ok) return reply.code(404).send({ code: 'SGW_ERR_NOT_FOUND', message: 'no such label, or it has no content' });
    return { ok: true };
  });
};
