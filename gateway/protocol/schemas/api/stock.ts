/** The ops page's Stock view: `/api/stock/*` bodies and answers (the page imports these types only). */
import { Type, type Static } from '@sinclair/typebox';

const Gtin = Type.String({ pattern: '^[0-9]{8,14}$' });
/** Made by the page once per press: the same press sent twice is one movement. */
const RequestId = Type.String({ minLength: 8, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' });
const Qty = Type.Integer({ minimum: 1, maximum: 1_000_000 });

export const StockLineSchema = Type.Object({
  gtin: Gtin,
  name: Type.String(),
  onHand: Type.Integer(),
  reserved: Type.Integer(),
  available: Type.Integer(),
  lowBelow: Type.Integer(),
  state: Type.Union([Type.Literal('out'), Type.Literal('low'), Type.Literal('ok')]),
});
export type StockItem = Static<typeof StockLineSchema>;

export const StockMovementSchema = Type.Object({
  movementId: Type.String(),
  kind: Type.String(),
  qty: Type.Integer(),
  uom: Type.String(),
  reason: Type.Union([Type.String(), Type.Null()]),
  eventTime: Type.String(),
  actor: Type.String(),
  sourceRef: Type.Union([Type.String(), Type.Null()]),
  seq: Type.Union([Type.Integer(), Type.Null()]),
});
export type StockMovementView = Static<typeof StockMovementSchema>;

export const StockFindQuery = Type.Object({ q: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });
export const StockFound = Type.Object({ items: Type.Array(StockLineSchema) });
export type StockFoundBody = Static<typeof StockFound>;

export const StockGtinParams = Type.Object({ gtin: Gtin }, { additionalProperties: false });
export const StockItemDetail = Type.Object({ item: StockLineSchema, movements: Type.Array(StockMovementSchema) });
export type StockItemDetailBody = Static<typeof StockItemDetail>;

export const StockLists = Type.Object({ out: Type.Array(StockLineSchema), low: Type.Array(StockLineSchema) });
export type StockListsBody = Static<typeof StockLists>;

/** Goods received: the cases scanned, each a GTIN and how many units. */
export const StockReceiveBody = Type.Object(
  { requestId: RequestId, lines: Type.Array(Type.Object({ gtin: Gtin, qty: Qty }, { additionalProperties: false }), { minItems: 1, maxItems: 200 }), ref: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) },
  { additionalProperties: false },
);
export const AdjustReasons = ['damaged', 'theft', 'found', 'expired', 'recalled', 'correction', 'other'] as const;
export const StockAdjustBody = Type.Object(
  { requestId: RequestId, gtin: Gtin, qty: Type.Integer({ minimum: -1_000_000, maximum: 1_000_000 }), reason: Type.Union(AdjustReasons.map((r) => Type.Literal(r))) },
  { additionalProperties: false },
);
export const StockReturnBody = Type.Object({ requestId: RequestId, gtin: Gtin, qty: Qty, ref: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) }, { additionalProperties: false });
export const StockCountBody = Type.Object({ requestId: RequestId, gtin: Gtin, counted: Type.Integer({ minimum: 0, maximum: 1_000_000 }) }, { additionalProperties: false });
export const StockThresholdBody = Type.Object({ gtin: Gtin, lowBelow: Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000 }), Type.Null()]) }, { additionalProperties: false });

/** What an action wrote: its movements with their records' seqs, and the item after it. */
export const StockMoved = Type.Object({ movements: Type.Array(StockMovementSchema), items: Type.Array(StockLineSchema) });
export type StockMovedBody = Static<typeof StockMoved>;

/** Expected deliveries (HQ's `deliveries` feed) and the back-door confirmation. */
export const StockDeliveries = Type.Object({
  deliveries: Type.Array(
    Type.Object({
      deliveryId: Type.String(),
      supplier: Type.Optional(Type.String()),
      expectedAt: Type.Optional(Type.String()),
      lines: Type.Array(Type.Object({ gtin: Type.String(), qty: Type.Integer(), name: Type.Optional(Type.String()) })),
      received: Type.Array(Type.Integer()),
    }),
  ),
});
export type StockDeliveriesBody = Static<typeof StockDeliveries>;
export const StockDeliveryParams = Type.Object({ deliveryId: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' }) }, { additionalProperties: false });
export const StockConfirmBody = Type.Object(
  { requestId: RequestId, lines: Type.Array(Type.Object({ line: Type.Integer({ minimum: 0, maximum: 4999 }), qty: Qty }, { additionalProperties: false }), { minItems: 1, maxItems: 5000 }) },
  { additionalProperties: false },
);
