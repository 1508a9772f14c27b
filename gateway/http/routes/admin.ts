import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import type { DeviceRegistry, DeviceEntry } from '../../devices/registry.js';
import type { DeviceStore } from '../../devices/store.js';
import { ID_PATTERN, deviceUsername, type DeviceKind } from '../../protocol/topics.js';
import { DeviceKindSchema, DeviceSecret, DeviceSwitched, EmptyBody, Refusals } from '../../protocol/schemas/api/index.js';
import { DEVICE_SECRET_COST, hashSecret, newDeviceSecret } from '../../scryptHash.js';
import { requireRole } from '../auth.js';
import type { TypedRoutes } from '../typeProvider.js';

export interface AdminRouteDeps {
  registry: DeviceRegistry;
  store: DeviceStore;
  /** Closes the device's open MQTT connections (broker.disconnect); returns how many. */
  disconnect: (username: string) => number;
  now: () => number;
}

const Kind = DeviceKindSchema;
const Id = Type.String({ pattern: ID_PATTERN });
const AddBody = Type.Object({ kind: Kind, id: Id, location: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })) }, { additionalProperties: false });
const DeviceParams = Type.Object({ kind: Kind, id: Id });

/**
 * Device provisioning from the ops page (admin): add (the secret is shown once, only its scrypt
 * hash is stored, as `storegw device add` does), rotate (the old secret stops working: the
 * authenticator's memo is keyed by the stored hash), disable/enable (a disabled device is refused
 * at CONNECT; an open connection is closed). Devices declared in the config file are changed there.
 * Ops users are managed in opsUsers.ts.
 */
export const adminRoutes: TypedRoutes<AdminRouteDeps> = async (app, deps) => {
  const admin = { preHandler: requireRole('admin') };

  /** The provisioned entry of kind/id (also one added by the CLI while we run), or a sent error. */
  async function provisioned(kind: DeviceKind, id: string, reply: FastifyReply): Promise<DeviceEntry | null> {
    let d = deps.registry.get(kind, id);
    if (!d) {
      const row = await deps.store.findProvisioned(kind, id);
      if (row) d = deps.registry.addProvisioned(row.kind, row.id, row.secretHash, row.location, row.disabled) ?? undefined;
    }
    if (!d) {
      await reply.code(404).send({ code: 'SGW_ERR_NOT_FOUND', message: `no device ${kind}/${id}` });
      return null;
    }
    if (d.source === 'config') {
      await reply.code(409).send({ code: 'SGW_ERR_CONFLICT', message: `${kind}/${id} is declared in the config file; change it there` });
      return null;
    }
    return d;
  }

  app.post('/api/admin/devices', { ...admin, schema: { body: AddBody, response: { 201: DeviceSecret, ...Refusals } } }, async (req, reply) => {
    const b = req.body;
    if (deps.registry.get(b.kind, b.id)) return reply.code(409).send({ code: 'SGW_ERR_CONFLICT', message: `${b.kind}/${b.id} exists already` });
    const password = newDeviceSecret();
    const secretHash = await hashSecret(password, DEVICE_SECRET_COST);
    const added = await deps.store.provision({ kind: b.kind, id: b.id, secretHash, location: b.location ?? null, disabled: false }, deps.now());
    if (!added) return reply.code(409).send({ code: 'SGW_ERR_CONFLICT', message: `${b.kind}/${b.id} is provisioned already` });
    deps.registry.addProvisioned(b.kind, b.id, secretHash, b.location ?? null, false);
    req.log.info({ by: req.session!.username, deviceId: b.id, kind: b.kind }, 'device provisioned');
    // Shown once: only the hash is kept.
    return reply.code(201).send({ username: deviceUsername(b.kind, b.id), password });
  });

  app.post('/api/admin/devices/:kind/:id/rotate', { ...admin, schema: { params: DeviceParams, body: EmptyBody, response: { 200: DeviceSecret, ...Refusals } } }, async (req, reply) => {
    const { kind, id } = req.params;
    const d = await provisioned(kind, id, reply);
    if (!d) return reply;
    const password = newDeviceSecret();
    const secretHash = await hashSecret(password, DEVICE_SECRET_COST);
    await deps.store.provision({ kind, id, secretHash, location: d.location, disabled: d.disabled }, deps.now(), true);
    deps.registry.addProvisioned(kind, id, secretHash, d.location, d.disabled);
    // A connection made with the old secret does not outlive it.
    const closed = deps.disconnect(deviceUsername(kind, id));
    req.log.info({ by: req.session!.username, deviceId: id, kind, closed }, 'device secret rotated');
    return { username: deviceUsername(kind, id), password };
  });

  for (const action of ['disable', 'enable'] as const) {
    app.post(`/api/admin/devices/:kind/:id/${action}`, { ...admin, schema: { params: DeviceParams, body: EmptyBody, response: { 200: DeviceSwitched, ...Refusals } } }, async (req, reply) => {
      const { kind, id } = req.params;
      const d = await provisioned(kind, id, reply);
      if (!d) return reply;
      const disabled = action === 'disable';
      await deps.store.setDisabled(kind, id, disabled);
      deps.registry.addProvisioned(kind, id, d.secretHash ?? '', d.location, disabled);
      const closed = disabled ? deps.disconnect(deviceUsername(kind, id)) : 0;
      req.log.info({ by: req.session!.username, deviceId: id, kind, closed }, `device ${action}d`);
      return { username: deviceUsername(kind, id), disabled, disconnected: closed };
    });
  }
};
