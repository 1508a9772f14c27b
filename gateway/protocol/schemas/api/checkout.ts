/** Click & collect tasks (`/api/pickups`, the live feed's `pickups`) and the kiosks' summary (`GET /api/kiosks`). */
import { Type, type Static } from '@sinclair/typebox';
import { NullableString } from './common.js';

/** An open task as the ops page shows it; of the customer only what the order feed carries. */
export const PickupTaskSchema = Type.Object({
  orderId: Type.String(),
  kioskId: Type.String(),
  customer: Type.String(),
  /** Pieces (the sum of the lines' quantities) and lines. */
  items: Type.Integer({ minimum: 0 }),
  lines: Type.Integer({ minimum: 0 }),
  /** ISO time the pickup was confirmed. */
  since: Type.String(),
  /** 'handing': someone pressed "handed over" and the record is being written. */
  state: Type.Union([Type.Literal('open'), Type.Literal('handing')]),
});
export type PickupTask = Static<typeof PickupTaskSchema>;

export const PickupList = Type.Object({ tasks: Type.Array(PickupTaskSchema) });
export type PickupListBody = Static<typeof PickupList>;
export const PickupParams = Type.Object({ orderId: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' }) }, { additionalProperties: false });
/** A hand-over, committed as an exact `handover` record before this answer. */
export const HandedOver = Type.Object({ ok: Type.Literal(true), orderId: Type.String(), kioskId: Type.String(), by: Type.String(), at: Type.String(), seq: Type.Integer() });
export type HandedOverBody = Static<typeof HandedOver>;

const AttendantRequest = Type.Object({
  requestId: Type.String(),
  kind: Type.String(),
  item: Type.Optional(Type.String()),
  createdAt: Type.String(),
  /** void / override: minor units in `currency`; void: items in the cart. */
  amount: Type.Optional(Type.Integer()),
  currency: Type.Optional(Type.String()),
  count: Type.Optional(Type.Integer()),
});

/** One kiosk in `GET /api/kiosks`: its devices and the state of its cart. */
export const KioskSummarySchema = Type.Object({
  kioskId: Type.String(),
  /** Role (scanner, scale, payment, light …) → device id. */
  devices: Type.Record(Type.String(), Type.String()),
  phase: Type.String(),
  sessionId: Type.String(),
  version: Type.Integer(),
  lines: Type.Integer({ minimum: 0 }),
  total: Type.Integer(),
  currency: Type.String(),
  memberCode: NullableString,
  requests: Type.Array(AttendantRequest),
  helpCalled: Type.Boolean(),
  bagging: Type.Object({ state: Type.String(), deltaG: Type.Number() }),
  payment: Type.Union([Type.Object({ requestId: Type.String(), amount: Type.Integer(), status: Type.String() }), Type.Null()]),
});
export type KioskSummary = Static<typeof KioskSummarySchema>;
export const KioskList = Type.Object({ kiosks: Type.Array(KioskSummarySchema) });
export type KioskListBody = Static<typeof KioskList>;

/** The attendant queue: every open request of every kiosk. */
export const AttendantQueue = Type.Object({ requests: Type.Array(Type.Composite([AttendantRequest, Type.Object({ kioskId: Type.String() })])) });
export type AttendantQueueBody = Static<typeof AttendantQueue>;

/** An attendant's decision, committed as an exact `attendant` record before this answer. */
export const AttendantDecision = Type.Object({ requestId: Type.String(), decision: Type.Union([Type.Literal('approved'), Type.Literal('rejected')]) });
export type AttendantDecisionBody = Static<typeof AttendantDecision>;
export const KioskVoided = Type.Object({ kioskId: Type.String(), voided: Type.Literal(true) });
export type KioskVoidedBody = Static<typeof KioskVoided>;
