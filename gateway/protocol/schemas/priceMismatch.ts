/**
 * Shelf = till: the exact record of a sale line charged at a price one of the item's
 * shelf labels does not show. Filed as kind `kiosk`, type `priceMismatch`, deviceId = the kiosk;
 * only the gateway writes it (gatewayRecords.ts), committed together with its `transaction`.
 * Money is integer minor units; prices are per item, or per kg for weighed items.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Currency, MinorUnits, Timestamp } from './common.js';

const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' });

/** Feed versions (`feed/scope` → version) of the catalog a line was priced from. */
export const CatalogVersions = Type.Record(Type.String({ pattern: '^[a-z]+/[a-z]+$', maxLength: 32 }), Type.Integer({ minimum: 0 }), { maxProperties: 16 });

export const LabelStates = ['current', 'pending', 'stale', 'none'] as const;

/** A sale line's shelf label at the moment of the sale (`lines[].label` of a transaction). */
export const SaleLineLabel = Type.Object(
  {
    state: Type.Union(LabelStates.map((s) => Type.Literal(s))),
    labelId: Type.Optional(Id),
    /** The content hash the label acknowledged (what it shows); null = it never acknowledged any. */
    hash: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
    /** The price a shopper reads on it (lower of regular and promotion); null = not known. */
    shows: Type.Optional(Type.Union([MinorUnits, Type.Null()])),
    labels: Type.Optional(Type.Integer({ minimum: 2 })),
  },
  { additionalProperties: false },
);

export const PriceMismatch = Type.Object(
  {
    ts: Timestamp,
    /** `{transactionId}:{line}:{labelId}`: one record per line and label, the same on any re-send. */
    mismatchId: Type.String({ minLength: 1, maxLength: 160 }),
    kioskId: Id,
    transactionId: Id,
    /** Index of the line in the transaction's `lines`. */
    line: Type.Integer({ minimum: 0, maximum: 9_999 }),
    gtin: Type.String({ pattern: '^[0-9]{8,14}$' }),
    name: Type.String({ maxLength: 128 }),
    catalogVersions: Type.Optional(CatalogVersions),
    currency: Currency,
    /** The till's price for everyone (before member benefits) — what the label should show. */
    tillPrice: MinorUnits,
    /** What the shopper was charged per unit (the till's price, or a lower member price). */
    charged: MinorUnits,
    labelId: Id,
    labelState: Type.Union([Type.Literal('current'), Type.Literal('pending'), Type.Literal('stale')]),
    labelHash: Type.String({ maxLength: 64 }),
    labelPrice: MinorUnits,
    labelCurrency: Currency,
    /** Which price the shopper paid: always the till's (a LAN device cannot set a price). */
    paid: Type.Literal('till'),
  },
  { additionalProperties: false },
);

export type PriceMismatchRec = Static<typeof PriceMismatch>;
export type SaleLineLabelT = Static<typeof SaleLineLabel>;
