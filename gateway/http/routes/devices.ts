import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { DeviceRegistry } from '../../devices/registry.js';
import type { OutboxStore } from '../../outbox/store.js';
import { DEVICE_KINDS } from '../../protocol/topics.js';
import { requireRole } from '../auth.js';

export interface DeviceRouteDeps {
  registry: DeviceRegistry;
  outbox: OutboxStore;
}

const ListQuery = Type.Object(
  {
    kind: Type.Optional(Type.Union(DEVICE_KINDS.map((k) => Type.Literal(k)))),
    health: Type.Optional(Type.Union(['online', 'stale', 'offline', 'disabled'].map((h) => Type.Literal(h)))),
  },
  { additionalProperties: false },
);

/** `GET /api/devices` (every device with health, last seen, counters; refused ones too) and one device's detail. */
export const deviceRoutes: FastifyPluginAsync<DeviceRouteDeps> = async (app, deps) => {
  app.get('/api/devices', { preHandler: requireRole('viewer'), schema: { querystring: ListQuery } }, async (req) => {
    const q = req.query as { kind?: string; health?: string };
    const devices = deps.registry
      .views()
      .filter((d) => (!q.kind || d.kind === q.kind) && (!q.health || d.health === q.health))
      .sort((a, b) => a.username.localeCompare(b.username));
    return { devices, refused: deps.registry.refusedDevices() };
  });

  app.get('/api/devices/:kind/:id', { preHandler: requireRole('viewer') }, async (req, reply) => {
    const { kind, id } = req.params as { kind: string; id: string };
    const d = deps.registry.byUsername(`${kind}/${id}`);
    if (!d) return reply.code(404).send({ code: 'SGW_ERR_NOT_FOUND', message: `no device ${kind}/${id}` });
    return { device: deps.registry.view(d), rejects: await deps.outbox.recentDeadLetters(id) };
  });
};
