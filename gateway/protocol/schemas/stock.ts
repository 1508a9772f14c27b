/**
 * Stock: the exact `stockMove` record of every movement of the store's stock, filed as the gateway
 * itself (kind `light`, deviceId `storegw`, like its alert records; gatewayRecords.ts makes it
 * gateway-only), and the retained stock report for the online shop. Field names follow what
 * existing stock ledgers keep per movement: OSPOS `ospos_inventory` (item, user, date, signed
 * quantity, comment), Odoo `stock.move` (product, qty, reference, date, reason as a location) and
 * GS1 EPCIS (eventTime beside recordTime, bizTransaction).
 */
import { Type, type Static } from '@sinclair/typebox';
import { Timestamp } from './common.js';

const Gtin = Type.String({ pattern: '^[0-9]{8,14}$' });
const MoveId = Type.String({ minLength: 1, maxLength: 160, pattern: '^[A-Za-z0-9._:-]+$' });

export const StockMove = Type.Object(
  {
    ts: Timestamp,
    /** Idempotency key: HQ keeps one movement per id whatever is sent twice. */
    movementId: MoveId,
    gtin: Gtin,
    kind: Type.Union(['sale', 'return', 'receipt', 'adjustment', 'pickup', 'count'].map((k) => Type.Literal(k))),
    /** Signed change in base units; for `count`, the quantity counted (it sets on hand at eventTime). */
    qty: Type.Integer({ minimum: -1_000_000_000, maximum: 1_000_000_000 }),
    uom: Type.Union([Type.Literal('unit'), Type.Literal('g')]),
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
    /** When it happened in the store; `recordTime`: when the gateway learned of it. */
    eventTime: Timestamp,
    recordTime: Timestamp,
    /** Who: the ops user, `kiosk:<id>` for a sale, `hq` for a delivery. */
    actor: Type.String({ minLength: 1, maxLength: 80 }),
    sourceRef: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  },
  { additionalProperties: false },
);
export type StockMoveRec = Static<typeof StockMove>;
