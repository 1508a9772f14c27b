import { Type, type Static, type TSchema } from '@sinclair/typebox';

/** ISO 8601 timestamp, device time (devices' clocks may be wrong; the gateway adds its own time). */
export const Timestamp = Type.String({ format: 'date-time', maxLength: 40 });
export const CmdId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' });
/** Money is an integer in minor units (cents), never a float. */
export const MinorUnits = Type.Integer({ minimum: 0, maximum: 1_000_000_000 });
export const Currency = Type.String({ pattern: '^[A-Z]{3}$' });

export const Heartbeat = Type.Object(
  {
    ts: Timestamp,
    uptimeS: Type.Integer({ minimum: 0 }),
    batteryPct: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    firmware: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: true },
);

export const Alert = Type.Object(
  {
    ts: Timestamp,
    code: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Z0-9_]+$' }),
    severity: Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('critical')]),
    message: Type.String({ maxLength: 1024 }),
  },
  { additionalProperties: true },
);

/** Every command is acknowledged with `evt/ack {cmdId, ok, error?}` (protocol/README.md §Device payloads). */
export const Ack = Type.Object(
  {
    ts: Type.Optional(Timestamp),
    cmdId: CmdId,
    ok: Type.Boolean(),
    error: Type.Optional(Type.String({ maxLength: 512 })),
  },
  { additionalProperties: true },
);

/** Retained on `birth` when a device connects. */
export const Birth = Type.Object(
  {
    ts: Type.Optional(Timestamp),
    model: Type.String({ minLength: 1, maxLength: 128 }),
    firmware: Type.String({ minLength: 1, maxLength: 64 }),
    capabilities: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 64 }),
  },
  { additionalProperties: true },
);

export const DeviceStateValues = ['online', 'offline'] as const;

export type HeartbeatEvt = Static<typeof Heartbeat>;
export type AlertEvt = Static<typeof Alert>;
export type AckEvt = Static<typeof Ack>;
export type BirthMsg = Static<typeof Birth>;

/** Helper for command payloads: every command carries a cmdId. */
export function command<P extends Record<string, TSchema>>(props: P) {
  return Type.Object({ cmdId: CmdId, ...props }, { additionalProperties: false });
}
