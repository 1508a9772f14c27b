import type { FastifyPluginAsync } from 'fastify';
import type { Metrics } from '../../metrics.js';

export interface SystemRouteDeps {
  metrics: Metrics;
  health: () => Promise<{ ok: boolean; checks: Record<string, unknown> }>;
}

/** `GET /healthz` (no login: for systemd and load balancers) and `GET /metrics` (Prometheus text). */
export const systemRoutes: FastifyPluginAsync<SystemRouteDeps> = async (app, deps) => {
  app.get('/healthz', async (_req, reply) => {
    const h = await deps.health();
    return reply.code(h.ok ? 200 : 503).send(h);
  });
  app.get('/metrics', async (_req, reply) => {
    const text = await deps.metrics.registry.metrics();
    return reply.type(deps.metrics.registry.contentType).send(text);
  });
};
