/**
 * Pieces every API schema shares. These schemas are the ops and kiosk pages' contract with the
 * gateway: routes declare them as their response schemas (fastify then serializes exactly these
 * fields), and the pages import their `Static<>` types, never a gateway module.
 */
import { Type, type Static } from '@sinclair/typebox';
import { DEVICE_KINDS, type DeviceKind } from '../../topics.js';

/** Every refusal: a stable `SGW_ERR_*` code and a message naming the field or the reason. */
export const ApiError = Type.Object({
  code: Type.String(),
  message: Type.String(),
  /** Seconds until a rate-limited attempt may be made again. */
  retryAfterS: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type ApiErrorBody = Static<typeof ApiError>;

/**
 * The answers of a refused request, for a route's `response`: fastify serializes them with the
 * same schema, so a refusal carries its code and message and nothing else.
 */
export const Refusals = { '4xx': ApiError, '5xx': ApiError } as const;

/** Milliseconds since the epoch (the gateway's clock). */
export const EpochMs = Type.Integer({ minimum: 0 });
export const NullableMs = Type.Union([EpochMs, Type.Null()]);
export const NullableString = Type.Union([Type.String(), Type.Null()]);

/** A device kind as the ops page shows it; `Unsafe` keeps the literal union `DeviceKind` as its type. */
export const DeviceKindSchema = Type.Unsafe<DeviceKind>(Type.Union(DEVICE_KINDS.map((k) => Type.Literal(k))));

export const RoleSchema = Type.Union([Type.Literal('viewer'), Type.Literal('attendant'), Type.Literal('admin')]);
export type ApiRole = Static<typeof RoleSchema>;

/** `{ ok: true }`: a state change that has nothing else to say. */
export const Ok = Type.Object({ ok: Type.Literal(true) });

/** The body of a POST whose meaning is in its path: every state change is a POST with a validated body. */
export const EmptyBody = Type.Object({}, { additionalProperties: false });
