import type { FastifyPluginAsync } from 'fastify';
import type { Metrics } from '../../metrics.js';
import { AddressList } from '../addressList.js';

/** Who may read /metrics (http.metrics): listed addresses, and logged-in admins if `admins`. */
export interface MetricsAccess {
  allow: readonly string[];
  admins: boolean;
}

export interface SystemRouteDeps {
  metrics: Metrics;
  health: () => Promise<{ ok: boolean; checks: Record<string, unknown> }>;
  access: MetricsAccess;
}

/**
 * `GET /healthz` (no login: for systemd and load balancers) and `GET /metrics` (Prometheus text).
 * /metrics tells who is connected and how busy the store is, so it is not public: a scraper's
 * address goes in `http.metrics.allow` (Prometheus scrapes without cookies), people log in.
 */
export const systemRoutes: FastifyPluginAsync<SystemRouteDeps> = async (app, deps) => {
  const allow = new AddressList(deps.access.allow);
  app.get('/healthz', async (_req, reply) => {
    const h = await deps.health();
    return reply.code(h.ok ? 200 : 503).send(h);
  });
  app.get('/metrics', async (req, reply) => {
    const admin = deps.access.admins && req.session?.role === 'admin';
    if (!admin && !allow.has(req.ip)) {
      return reply.code(403).send({ code: 'SGW_ERR_NOT_AUTHORIZED', message: 'GET /metrics: this address is not in http.metrics.allow; log in as an admin' });
    }
    const text = await deps.metrics.registry.metrics();
    return reply.type(deps.metrics.registry.contentType).send(text);
  });
};
