/**
 * The signed `deliveries` feed's body (hq/v1/store/{storeId}/deliveries), HQ's stock feed to the
 * store: an advance ship notice per expected delivery, its lines by GTIN and quantity.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Timestamp } from '../common.js';

const DeliveryId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' });

export const Delivery = Type.Object(
  {
    deliveryId: DeliveryId,
    supplier: Type.Optional(Type.String({ maxLength: 128 })),
    expectedAt: Type.Optional(Timestamp),
    lines: Type.Array(Type.Object({ gtin: Type.String({ pattern: '^[0-9]{8,14}$' }), qty: Type.Integer({ minimum: 1, maximum: 1_000_000 }), name: Type.Optional(Type.String({ maxLength: 128 })) }, { additionalProperties: false }), { minItems: 1, maxItems: 5000 }),
  },
  { additionalProperties: false },
);
export type DeliveryT = Static<typeof Delivery>;

/** `snapshot` replaces the open deliveries HQ knows of; `delta` upserts and removes. */
export const DeliveriesBody = Type.Object(
  {
    mode: Type.Union([Type.Literal('snapshot'), Type.Literal('delta')]),
    baseVersion: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
    deliveries: Type.Array(Delivery, { maxItems: 10_000 }),
    remove: Type.Optional(Type.Array(DeliveryId, { maxItems: 10_000 })),
  },
  { additionalProperties: false },
);
export type DeliveriesBodyT = Static<typeof DeliveriesBody>;
