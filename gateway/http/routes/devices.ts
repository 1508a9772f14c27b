import { Type } from '@sinclair/typebox';
import type { DeviceRegistry } from '../../devices/registry.js';
import type { OutboxStore } from '../../outbox/store.js';
import type { CommandService } from '../../devices/commands.js';
import { opsRefusal, opsRoleFor } from '../../devices/commandPolicy.js';
import { SgwError } from '../../errors.js';
import { ID_PATTERN } from '../../protocol/topics.js';
import { CommandAccepted, CommandBody, DeviceDetail, DeviceKindSchema, DeviceList, HealthSchema, Refusals } from '../../protocol/schemas/api/index.js';
import { hasRole, requireRole } from '../auth.js';
import type { TypedRoutes } from '../typeProvider.js';

export interface DeviceRouteDeps {
  registry: DeviceRegistry;
  outbox: Pick<OutboxStore, 'recentDeadLetters'>;
  /** The command store; without it the detail has no commands and there is no POST. */
  commands?: Pick<CommandService, 'check' | 'send' | 'pending' | 'recent'>;
  /** The kiosk and payment under way of a payment terminal, or null (kiosk/sessions.ts `paymentInFlight`). */
  paymentInFlight?: (paymentId: string) => { kioskId: string; requestId: string | null } | null;
}

const ListQuery = Type.Object({ kind: Type.Optional(DeviceKindSchema), health: Type.Optional(HealthSchema) }, { additionalProperties: false });
const DeviceParams = Type.Object({ kind: DeviceKindSchema, id: Type.String({ pattern: ID_PATTERN }) });
/** Any kind/id: an unknown one is a 404 naming it, not a schema error. */
const AnyDeviceParams = Type.Object({ kind: Type.String(), id: Type.String() });

/** How many finished commands the detail shows. */
const RECENT = 20;

/**
 * `GET /api/devices` (every device with health, last seen, counters; refused ones too), one
 * device's detail with its pending and recent commands, and `POST …/commands` for ops.
 */
export const deviceRoutes: TypedRoutes<DeviceRouteDeps> = async (app, deps) => {
  app.get('/api/devices', { preHandler: requireRole('viewer'), schema: { querystring: ListQuery, response: { 200: DeviceList, ...Refusals } } }, async (req) => {
    const q = req.query;
    const devices = deps.registry
      .views()
      .filter((d) => (!q.kind || d.kind === q.kind) && (!q.health || d.health === q.health))
      .sort((a, b) => a.username.localeCompare(b.username));
    return { devices, refused: deps.registry.refusedDevices() };
  });

  app.get('/api/devices/:kind/:id', { preHandler: requireRole('viewer'), schema: { params: AnyDeviceParams, response: { 200: DeviceDetail, ...Refusals } } }, async (req, reply) => {
    const { kind, id } = req.params;
    const d = deps.registry.byUsername(`${kind}/${id}`);
    if (!d) return reply.code(404).send({ code: 'SGW_ERR_NOT_FOUND', message: `no device ${kind}/${id}` });
    const c = deps.commands;
    const commands = c ? { pending: await c.pending(d.kind, d.id), recent: await c.recent(d.kind, d.id, RECENT) } : null;
    return { device: deps.registry.view(d), rejects: await deps.outbox.recentDeadLetters(id), commands };
  });

  const commands = deps.commands;
  if (!commands) return;
  // Attendants run the floor (a scale to tare, a light to reset, an inventory to start) and already
  // approve at kiosks; viewers only look. Auth runs before validation: strangers learn no schema.
  app.post('/api/devices/:kind/:id/commands', { preValidation: requireRole('attendant'), schema: { params: DeviceParams, body: CommandBody, response: { 202: CommandAccepted, ...Refusals } } }, async (req, reply) => {
    const { kind, id } = req.params;
    const body = req.body;
    const d = deps.registry.get(kind, id);
    if (!d) return reply.code(404).send({ code: 'SGW_ERR_NOT_FOUND', message: `no device ${kind}/${id}` });
    if (d.disabled) return reply.code(409).send({ code: 'SGW_ERR_CONFLICT', message: `${kind}/${id} is disabled; enable it before sending commands` });
    const refusal = opsRefusal(kind, body.type);
    if (refusal) return reply.code(403).send({ code: 'SGW_ERR_NOT_AUTHORIZED', message: refusal });
    const need = opsRoleFor(kind, body.type);
    if (!hasRole(req.session!, need)) return reply.code(403).send({ code: 'SGW_ERR_NOT_AUTHORIZED', message: `type: ${kind} ${body.type} needs the ${need} role` });
    if (kind === 'payment' && body.type === 'endOfDay') {
      // A terminal closing its batch in the middle of a charge could lose or split that payment.
      const busy = deps.paymentInFlight?.(id);
      if (busy) return reply.code(409).send({ code: 'SGW_ERR_CONFLICT', message: `${kind}/${id} is taking a payment at kiosk ${busy.kioskId}${busy.requestId ? ` (request ${busy.requestId})` : ''}; run the end of day when that kiosk is not paying` });
    }
    const data = body.data ?? {};
    try {
      commands.check(kind, body.type, data, 'body.');
      const by = req.session!.username;
      const cmdId = await commands.send(kind, id, body.type, data, { source: `ops:${by}` });
      req.log.info({ deviceId: id, kind, type: body.type, cmdId, by }, 'command from ops');
      return await reply.code(202).send({ cmdId, state: 'pending' as const });
    } catch (err) {
      if (err instanceof SgwError && err.statusCode < 500) return reply.code(err.statusCode).send({ code: err.code, message: err.message });
      throw err;
    }
  });
};
