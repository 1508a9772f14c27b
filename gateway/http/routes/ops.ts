import { EmptyBody, Ok, Refusals } from '../../protocol/schemas/api/common.js';
import { AlertList, AlertParams, AlertQuery, KpiDaySchema, KpiQuery, type AlertRow, type KpiDay } from '../../protocol/schemas/api/ops.js';
import { requireRole } from '../auth.js';
import type { TypedRoutes } from '../typeProvider.js';

export interface OpsRouteDeps {
  today: () => KpiDay;
  day: (day: string) => Promise<KpiDay>;
  alerts: (limit: number, openOnly: boolean) => Promise<AlertRow[]>;
  ack: (id: number, by: string) => Promise<boolean>;
}

/**
 * The day's numbers and the alert book for the ops page: `GET /api/kpi[?day=YYYY-MM-DD]` (the
 * store's local day, per hour), `GET /api/alerts[?open=true]`, `POST /api/alerts/:id/ack`
 * (attendant+; who and when are kept).
 */
export const opsRoutes: TypedRoutes<OpsRouteDeps> = async (app, deps) => {
  app.get('/api/kpi', { preHandler: requireRole('viewer'), schema: { querystring: KpiQuery, response: { 200: KpiDaySchema, ...Refusals } } }, async (req) => {
    const q = req.query;
    return q.day ? deps.day(q.day) : deps.today();
  });

  app.get('/api/alerts', { preHandler: requireRole('viewer'), schema: { querystring: AlertQuery, response: { 200: AlertList, ...Refusals } } }, async (req) => {
    const q = req.query;
    return { alerts: await deps.alerts(q.limit, q.open) };
  });

  app.post('/api/alerts/:id/ack', { preHandler: requireRole('attendant'), schema: { params: AlertParams, body: EmptyBody, response: { 200: Ok, ...Refusals } } }, async (req, reply) => {
    const id = req.params.id;
    if (!(await deps.ack(id, req.session!.username))) return reply.code(409).send({ code: 'SGW_ERR_CONFLICT', message: 'no open alert with that id' });
    req.log.info({ by: req.session!.username, alertId: id }, 'alert acknowledged');
    return { ok: true as const };
  });
};
