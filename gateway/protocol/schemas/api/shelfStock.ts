/** The ops page's shelf lists and RFID cycle counts: `/api/stock/shelf*` and `/api/stock/counts*` (the page imports these types only). */
import { Type, type Static } from '@sinclair/typebox';

const Gtin = Type.String({ pattern: '^[0-9]{8,14}$' });
const Zone = Type.String({ minLength: 1, maxLength: 64 });
/** Made by the page once per press: the same press sent twice is one action. */
const RequestId = Type.String({ minLength: 8, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' });

export const ShelfRowSchema = Type.Object({
  zone: Type.String(),
  gtin: Type.String(),
  name: Type.String(),
  onShelf: Type.Integer(),
  onHand: Type.Integer(),
  minFacings: Type.Integer(),
  state: Type.Union([Type.Literal('ok'), Type.Literal('refill'), Type.Literal('out')]),
});
export type ShelfRowView = Static<typeof ShelfRowSchema>;

/** In stock but not (enough) on the shelf, and out of stock, per zone. */
export const ShelfLists = Type.Object({
  zones: Type.Array(Type.String()),
  refill: Type.Array(ShelfRowSchema),
  out: Type.Array(ShelfRowSchema),
  /** When the shelves were last judged for alerts (null: not yet since the start, the readers get one presence window first). */
  checkedAt: Type.Union([Type.String(), Type.Null()]),
});
export type ShelfListsBody = Static<typeof ShelfLists>;

export const ShelfOfItem = Type.Object({ zones: Type.Array(Type.Object({ zone: Type.String(), onShelf: Type.Integer(), minFacings: Type.Integer() })) });
export type ShelfOfItemBody = Static<typeof ShelfOfItem>;

/** Starts a count of one zone, or of every shelf zone without `zone`. */
export const CountStartBody = Type.Object({ requestId: RequestId, zone: Type.Optional(Zone) }, { additionalProperties: false });
export const CountParams = Type.Object({ countId: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' }) }, { additionalProperties: false });
/** Applies the closed count; `gtins` applies only those items (the manager may leave a doubtful line out). */
export const CountApplyBody = Type.Object({ requestId: RequestId, gtins: Type.Optional(Type.Array(Gtin, { minItems: 1, maxItems: 5000 })) }, { additionalProperties: false });

export const CountView = Type.Object({
  countId: Type.String(),
  zone: Type.Union([Type.String(), Type.Null()]),
  startedAt: Type.String(),
  startedBy: Type.String(),
  /** The count's event time once closed: on hand is set as of this moment. */
  closedAt: Type.Union([Type.String(), Type.Null()]),
  applied: Type.Boolean(),
  lines: Type.Array(Type.Object({ gtin: Type.String(), name: Type.String(), counted: Type.Integer(), onHand: Type.Integer(), difference: Type.Integer() })),
});
export type CountViewBody = Static<typeof CountView>;
