/** The day's numbers (`GET /api/kpi`, the live feed's `kpi`) and the alert book (`GET /api/alerts`, `alert`). */
import { Type, type Static } from '@sinclair/typebox';
import { EpochMs, NullableMs, NullableString } from './common.js';

const Count = Type.Integer({ minimum: 0 });
const NullableRatio = Type.Union([Type.Number(), Type.Null()]);

export const KpiFiguresSchema = Type.Object({
  visitors: Count,
  transactions: Count,
  /** Sum of transaction totals, minor units (cents). */
  sales: Count,
  memberTransactions: Count,
  repeatTransactions: Count,
  /** transactions / visitors; null without visitors. */
  conversion: NullableRatio,
  /** sales / transactions in minor units, rounded; null without transactions. */
  averageBasket: Type.Union([Type.Integer(), Type.Null()]),
  /** repeat / member transactions; null without member transactions. */
  repeatRate: NullableRatio,
  /** Sum of the totals of transactions with a member, minor units. */
  memberSales: Count,
  /** memberSales / sales (the member share of sales); null without sales. */
  memberShare: NullableRatio,
  /** Points members earned and spent on the sales. */
  pointsIssued: Count,
  pointsSpent: Count,
  /** Coupons applied on sales. */
  couponRedemptions: Count,
});
export type KpiFigures = Static<typeof KpiFiguresSchema>;

export const KpiDaySchema = Type.Object({
  day: Type.String(),
  timezone: Type.String(),
  currency: NullableString,
  totals: KpiFiguresSchema,
  /** 24 entries, local hours 0..23 (a DST day still shows 24 slots; the repeated hour adds up). */
  hours: Type.Array(Type.Composite([KpiFiguresSchema, Type.Object({ hour: Type.Integer({ minimum: 0, maximum: 23 }) })])),
  /**
   * Repeat rate by member tier for the day: members with two or more transactions / members seen
   * (by keyed member hash); tier '' = members whose sale named no tier.
   */
  tiers: Type.Array(Type.Object({ tier: Type.String(), members: Count, repeatMembers: Count, repeatRate: Type.Number() })),
});
export type KpiDay = Static<typeof KpiDaySchema>;

export const KpiQuery = Type.Object({ day: Type.Optional(Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' })) }, { additionalProperties: false });

export const AlertRowSchema = Type.Object({
  id: Type.Integer({ minimum: 1 }),
  at: EpochMs,
  source: Type.String(),
  code: Type.String(),
  severity: Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('critical')]),
  message: Type.String(),
  seq: Type.Union([Type.Integer(), Type.Null()]),
  ackedBy: NullableString,
  ackedAt: NullableMs,
});
export type AlertRow = Static<typeof AlertRowSchema>;

export const AlertList = Type.Object({ alerts: Type.Array(AlertRowSchema) });
export type AlertListBody = Static<typeof AlertList>;
export const AlertQuery = Type.Object(
  { open: Type.Boolean({ default: false }), limit: Type.Integer({ minimum: 1, maximum: 1000, default: 200 }) },
  { additionalProperties: false },
);
export const AlertParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });
