/**
 * The signed `orders` feed's body (hq/v1/store/{storeId}/orders): click & collect orders HQ has
 * been paid for, each with the pickup code the shopper scans at the kiosk.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Currency, MinorUnits, Timestamp } from '../common.js';

const OrderId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' });
const PickupCode = Type.String({ pattern: '^[A-Z0-9]{6,32}$' });

export const OnlineOrder = Type.Object(
  {
    orderId: OrderId,
    pickupCode: PickupCode,
    customer: Type.Optional(Type.String({ maxLength: 64 })),
    lines: Type.Array(Type.Object({ gtin: Type.Optional(Type.String({ pattern: '^[0-9]{8,14}$' })), name: Type.String({ minLength: 1, maxLength: 128 }), qty: Type.Integer({ minimum: 1, maximum: 10_000 }) }, { additionalProperties: false }), { minItems: 1, maxItems: 1000 }),
    total: MinorUnits,
    currency: Currency,
    paidAt: Timestamp,
  },
  { additionalProperties: false },
);

/** `snapshot` replaces the open orders HQ knows of (collected ones stay collected); `delta` upserts and removes. */
export const OrdersBody = Type.Object(
  {
    mode: Type.Union([Type.Literal('snapshot'), Type.Literal('delta')]),
    /** The version a delta applies to (a delta on any other version is refused: hq/feedPolicy.ts). */
    baseVersion: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
    orders: Type.Array(OnlineOrder, { maxItems: 100_000 }),
    remove: Type.Optional(Type.Array(OrderId, { maxItems: 100_000 })),
  },
  { additionalProperties: false },
);

export type OnlineOrderT = Static<typeof OnlineOrder>;
export type OrdersBodyT = Static<typeof OrdersBody>;
