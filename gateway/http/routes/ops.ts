import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { KpiDay } from '../../kpi/kpis.js';
import type { AlertRow } from '../../kpi/kpiStore.js';
import { requireRole } from '../auth.js';

export interface OpsRouteDeps {
  today: () => KpiDay;
  day: (day: string) => Promise<KpiDay>;
  alerts: (limit: number, openOnly: boolean) => Promise<AlertRow[]>;
  ack: (id: number, by: string) => Promise<boolean>;
}

const KpiQuery = Type.Object({ day: Type.Optional(Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' })) }, { additionalProperties: false });
const AlertQuery = Type.Object(
  { open: Type.Boolean({ default: false }), limit: Type.Integer({ minimum: 1, maximum: 1000, default: 200 }) },
  { additionalProperties: false },
);
const AlertParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });
const EmptyBody = Type.Object({}, { additionalProperties: false });

/**
 * The day's numbers and the alert book for the ops page: `GET /api/kpi[?day=YYYY-MM-DD]` (the
 * store's local day, per hour), `GET /api/alerts[?open=true]`, `POST /api/alerts/:id/ack`
 * (attendant+; who and when are kept).
 */
export const opsRoutes: FastifyPluginAsync<OpsRouteDeps> = async (app, deps) => {
  app.get('/api/kpi', { preHandler: requireRole('viewer'), schema: { querystring: KpiQuery } }, async (req) => {
    const q = req.query as { day?: string };
    return q.day ? deps.day(q.day) : deps.today();
  });

  app.get('/api/alerts', { preHandler: requireRole('viewer'), schema: { querystring: AlertQuery } }, async (req) => {
    const q = req.query as { open: boolean; limit: number };
    return { alerts: await deps.alerts(q.limit, q.open) };
  });

  app.post('/api/alerts/:id/ack', { preHandler: requireRole('attendant'), schema: { params: AlertParams, body: EmptyBody } }, async (req, reply) => {
    const id = (req.params as { id: number }).id;
    if (!(await deps.ack(id, req.session!.username))) return reply.code(409).send({ code: 'SGW_ERR_CONFLICT', message: 'no open alert with that id' });
    req.log.info({ by: req.session!.username, alertId: id }, 'alert acknowledged');
    return { ok: true };
  });
};
