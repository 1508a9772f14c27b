/** `GET /api/devices`, a device's detail, its commands, and the live feed's `device` message. */
import { Type, type Static } from '@sinclair/typebox';
import { DeviceKindSchema, EpochMs, NullableMs, NullableString } from './common.js';

export const HealthSchema = Type.Union([Type.Literal('online'), Type.Literal('stale'), Type.Literal('offline'), Type.Literal('disabled')]);

/**
 * A device's birth as last retained. Its fields are optional here (the MQTT schema requires them):
 * a birth kept from an older firmware must not make the whole device list fail to serialize.
 */
export const BirthView = Type.Object(
  {
    ts: Type.Optional(Type.String()),
    model: Type.Optional(Type.String()),
    firmware: Type.Optional(Type.String()),
    capabilities: Type.Optional(Type.Array(Type.String())),
  },
  { additionalProperties: true },
);

export const DeviceViewSchema = Type.Object({
  kind: DeviceKindSchema,
  id: Type.String(),
  username: Type.String(),
  source: Type.Union([Type.Literal('config'), Type.Literal('provisioned')]),
  bridge: NullableString,
  location: NullableString,
  disabled: Type.Boolean(),
  online: Type.Boolean(),
  health: HealthSchema,
  via: Type.Union([Type.Literal('direct'), Type.Literal('bridge'), Type.Null()]),
  connectedAt: NullableMs,
  lastSeen: NullableMs,
  birth: Type.Union([BirthView, Type.Null()]),
  /** The last event of each type: its payload is the device's own (see the device catalogue). */
  lastEvents: Type.Record(Type.String(), Type.Object({ seq: Type.Integer(), recvTs: EpochMs, data: Type.Unknown() })),
  events: Type.Integer({ minimum: 0 }),
  rejects: Type.Record(Type.String(), Type.Integer({ minimum: 0 })),
  lastReject: Type.Union([Type.Object({ code: Type.String(), reason: Type.String(), at: EpochMs }), Type.Null()]),
});
export type DeviceView = Static<typeof DeviceViewSchema>;

/** A client refused at CONNECT (unknown, disabled, wrong secret), grouped by username and address. */
export const RefusedDeviceSchema = Type.Object({
  username: Type.String(),
  address: Type.String(),
  reason: Type.String(),
  attempts: Type.Integer({ minimum: 0 }),
  firstSeen: EpochMs,
  lastSeen: EpochMs,
});
export type RefusedDevice = Static<typeof RefusedDeviceSchema>;

export const DeviceList = Type.Object({ devices: Type.Array(DeviceViewSchema), refused: Type.Array(RefusedDeviceSchema) });
export type DeviceListBody = Static<typeof DeviceList>;

export const CommandStateSchema = Type.Union([Type.Literal('pending'), Type.Literal('acked'), Type.Literal('failed'), Type.Literal('expired')]);

/** A command sent to a device, with what became of it. */
export const CommandViewSchema = Type.Object({
  cmdId: Type.String(),
  kind: DeviceKindSchema,
  deviceId: Type.String(),
  type: Type.String(),
  data: Type.Record(Type.String(), Type.Unknown()),
  source: Type.String(),
  state: CommandStateSchema,
  createdAt: EpochMs,
  expiresAt: EpochMs,
  attempts: Type.Integer({ minimum: 0 }),
  lastSentAt: NullableMs,
  /** The device's error (ok:false), or why the gateway gave up (expired, no ack). */
  error: NullableString,
  ackedAt: NullableMs,
  finishedAt: NullableMs,
});
export type CommandView = Static<typeof CommandViewSchema>;

/** A payload the gateway refused (bad schema, unknown type): kept for the device's detail. */
export const DeadLetterView = Type.Object({
  recvTs: EpochMs,
  kind: Type.String(),
  deviceId: Type.String(),
  topic: Type.String(),
  code: Type.String(),
  reason: Type.String(),
  payload: Type.String(),
});
export type DeadLetterRow = Static<typeof DeadLetterView>;

export const DeviceDetail = Type.Object({
  device: DeviceViewSchema,
  rejects: Type.Array(DeadLetterView),
  /** null when this gateway keeps no commands. */
  commands: Type.Union([Type.Object({ pending: Type.Array(CommandViewSchema), recent: Type.Array(CommandViewSchema) }), Type.Null()]),
});
export type DeviceDetailBody = Static<typeof DeviceDetail>;

/** `data` is checked against the device catalogue by the command service (its errors name `body.data.<field>`). */
export const CommandBody = Type.Object(
  { type: Type.String({ minLength: 1, maxLength: 32 }), data: Type.Optional(Type.Record(Type.String(), Type.Unknown())) },
  { additionalProperties: false },
);
export const CommandAccepted = Type.Object({ cmdId: Type.String(), state: Type.Literal('pending') });
export type CommandAcceptedBody = Static<typeof CommandAccepted>;

/** Admin device provisioning: the secret is in the answer once, only its hash is stored. */
export const DeviceSecret = Type.Object({ username: Type.String(), password: Type.String() });
export type DeviceSecretBody = Static<typeof DeviceSecret>;
export const DeviceSwitched = Type.Object({ username: Type.String(), disabled: Type.Boolean(), disconnected: Type.Integer({ minimum: 0 }) });
export type DeviceSwitchedBody = Static<typeof DeviceSwitched>;
