/** Shelf labels and prices for the ops page: `/api/labels`, `/api/prices/sync`, `/api/prices/:gtin`. */
import { Type, type Static } from '@sinclair/typebox';
import { EpochMs, NullableString } from './common.js';

export const LabelStates = ['stale', 'pending', 'failed', 'current'] as const;

/** One shelf label: what it should show (`target`), what it acknowledged showing (`acked`), by content hash. */
export const LabelViewSchema = Type.Object({
  labelId: Type.String(),
  gtin: NullableString,
  /** The access point that last heard it, else the one of its binding. */
  ap: NullableString,
  state: Type.String(),
  stale: Type.Boolean(),
  target: NullableString,
  acked: NullableString,
  attempts: Type.Integer({ minimum: 0 }),
  error: NullableString,
});
export type LabelView = Static<typeof LabelViewSchema>;

export const LabelList = Type.Object({
  state: Type.Union(LabelStates.map((s) => Type.Literal(s))),
  total: Type.Integer({ minimum: 0 }),
  labels: Type.Array(LabelViewSchema),
});
export type LabelListBody = Static<typeof LabelList>;
export const LabelOne = Type.Object({ label: LabelViewSchema });
export const LabelQuery = Type.Object(
  {
    state: Type.Union([Type.Literal('stale'), Type.Literal('pending'), Type.Literal('failed'), Type.Literal('current')], { default: 'stale' }),
    limit: Type.Integer({ minimum: 1, maximum: 5000, default: 500 }),
    offset: Type.Integer({ minimum: 0, default: 0 }),
  },
  { additionalProperties: false },
);
export const LabelParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' }) });
export const FlashBody = Type.Object(
  { color: Type.String({ pattern: '^[a-z]{1,16}$', default: 'green' }), seconds: Type.Integer({ minimum: 1, maximum: 600, default: 10 }) },
  { additionalProperties: false },
);
export const Flashed = Type.Object({ ok: Type.Literal(true), cmdId: Type.String(), ap: Type.String() });

/** A feed HQ sent that the gateway refused (signature, version, schema …), kept for the ops page. */
export const FeedRejectionSchema = Type.Object({
  at: EpochMs,
  topic: Type.String(),
  feed: Type.String(),
  scope: Type.String(),
  code: Type.String(),
  reason: Type.String(),
  kid: Type.Optional(Type.String()),
});
export type FeedRejection = Static<typeof FeedRejectionSchema>;

/** A sale at a price the shelf label did not show. */
export const MismatchLineSchema = Type.Object({
  seq: Type.Integer(),
  at: Type.String(),
  mismatchId: Type.String(),
  kioskId: Type.String(),
  transactionId: Type.String(),
  gtin: Type.String(),
  labelId: Type.String(),
  labelState: Type.String(),
  labelHash: Type.String(),
  tillPrice: Type.Integer(),
  labelPrice: Type.Integer(),
  currency: Type.String(),
});

const Count = Type.Integer({ minimum: 0 });
const Versions = Type.Record(Type.String(), Type.Integer());

/** `GET /api/prices/sync`: which feed versions the shelf is on, and how far the labels are. */
export const SyncReportSchema = Type.Object({
  ts: Type.String(),
  storeId: Type.String(),
  hqConnected: Type.Boolean(),
  /** Feed versions (`feed/scope`) the catalog in use was built from; `labels` counts against these. */
  versions: Versions,
  /** Versions committed, including one still being evaluated. */
  appliedVersions: Versions,
  feeds: Type.Object({ applied: Count, rejected: Count }),
  labels: Type.Object({ total: Count, current: Count, stale: Count, pending: Count, sent: Count, failed: Count, acked: Count }),
  commands: Type.Object({ sent: Count, labelsSent: Count, outstanding: Count, acks: Count }),
  alerts: Type.Array(FeedRejectionSchema),
  priceMismatches: Type.Object({ total: Count, recent: Type.Array(MismatchLineSchema) }),
});
export type SyncReportBody = Static<typeof SyncReportSchema>;

/** What an item costs at a time, for a member or not: all amounts in minor units of `currency`. */
export const PriceQuoteSchema = Type.Object({
  gtin: Type.String(),
  name: Type.String(),
  unit: Type.Union([Type.Literal('each'), Type.Literal('kg')]),
  currency: Type.String(),
  base: Type.Integer(),
  price: Type.Integer(),
  source: Type.Union([Type.Literal('base'), Type.Literal('promo'), Type.Literal('member')]),
  promo: Type.Union([Type.Object({ id: Type.String(), price: Type.Integer(), until: Type.String(), text: Type.Optional(Type.String()) }), Type.Null()]),
  expectedWeightG: Type.Optional(Type.Number()),
  weightToleranceG: Type.Optional(Type.Number()),
  ageRestriction: Type.Optional(Type.Integer()),
  vatRateBp: Type.Optional(Type.Integer()),
  versions: Type.Optional(Versions),
});
export const QuoteBody = Type.Object({ quote: PriceQuoteSchema });
export const PriceQuery = Type.Object({ at: Type.Optional(Type.String({ format: 'date-time' })), member: Type.Optional(Type.String({ maxLength: 64 })) }, { additionalProperties: false });
