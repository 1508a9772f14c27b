/**
 * Shelf = till, pure: what each sold line's shelf labels showed at the moment of the
 * sale, and whether the till charged a price a label does not show. No clock, no I/O: the label
 * states come in from the in-memory label tracking (PriceService.labelsAt), never from a query.
 *
 * States of a label, as a sale line records them:
 * - `current`: the label acknowledged the content of the catalog the till prices from;
 * - `pending`: new content is on its way (queued or sent, no acknowledgement yet);
 * - `stale`: the transfer gave up (retries exhausted); ops must act;
 * - `none`: no label is bound to the item.
 * A pending or stale label still shows what it last acknowledged (`hash`, and its price when the
 * gateway knows that content).
 *
 * The mismatch rule: a line is compared by the price a shopper reads on the shelf — the lower of
 * the label's regular price and its public promotion — against the till's price for everyone
 * (`shelfPrice`: before member benefits, which no label shows), in the same currency. A label whose
 * content the gateway cannot name (a blank label, an unknown hash) shows nothing to contradict and
 * is not a mismatch; its state is still recorded. Lines priced from the item's own barcode (an
 * in-store price-embedded code) carry no `shelfPrice` and are not compared.
 *
 * Who pays what: the shopper pays the till's price — the one computed from HQ's signed feed — and
 * the mismatch is flagged (record, ops alert, HQ sync report). A label's acknowledged content is
 * reported by a device on the store LAN; letting it lower a charge would let that device set prices.
 */
import type { KioskTransactionRec } from '../protocol/schemas/kiosk.js';
import type { PriceMismatchRec } from '../protocol/schemas/priceMismatch.js';

export type LabelSaleState = 'current' | 'pending' | 'stale';
export type ShelfState = LabelSaleState | 'none';

/** The prices a label's content shows (minor units; per item, or per kg for weighed items). */
export interface ShownPrice {
  hash: string;
  price: number;
  promoPrice: number | null;
  currency: string;
}

/** One label of an item as it is at the moment of the sale. */
export interface LabelAtSale {
  labelId: string;
  state: LabelSaleState;
  /** The content hash the label last acknowledged (null: it never acknowledged any). */
  hash: string | null;
  /** What that content shows, when the gateway knows it. */
  shows: ShownPrice | null;
}

/** The label part of a sale line (`line.label` in the transaction record). */
export interface LineLabel {
  state: ShelfState;
  labelId?: string;
  hash?: string | null;
  /** The price a shopper reads on that label (lower of regular and promotion), null if unknown. */
  shows?: number | null;
  /** How many labels the item has, when more than one (the one recorded is the worst). */
  labels?: number;
}

type SaleLine = KioskTransactionRec['lines'][number];

/** The price a shopper reads on a label: its promotion when that is lower than the regular price. */
export function shelfPriceOf(price: number, promoPrice: number | null | undefined): number {
  return promoPrice !== null && promoPrice !== undefined && promoPrice < price ? promoPrice : price;
}

/** True when `label` shows a price (or currency) other than the till's `shelfPrice`. */
export function isMismatch(tillPrice: number, currency: string, label: LabelAtSale): boolean {
  if (label.shows === null) return false;
  return label.shows.currency !== currency || shelfPriceOf(label.shows.price, label.shows.promoPrice) !== tillPrice;
}

const RANK: Record<LabelSaleState, number> = { current: 0, pending: 1, stale: 2 };

/**
 * The decision for one line: its label part, and the labels that show another price. `tillPrice`
 * undefined (price from the item's own barcode, or a line from before this field) is never compared.
 */
export function decideLine(tillPrice: number | undefined, currency: string, labels: readonly LabelAtSale[]): { label: LineLabel; mismatched: LabelAtSale[] } {
  if (labels.length === 0) return { label: { state: 'none' }, mismatched: [] };
  const mismatched = tillPrice === undefined ? [] : labels.filter((l) => isMismatch(tillPrice, currency, l));
  // The label recorded on the line: a mismatching one first, else the one furthest from current.
  let pick = mismatched[0] ?? labels[0];
  if (mismatched.length === 0) for (const l of labels) if (RANK[l.state] > RANK[pick.state]) pick = l;
  const label: LineLabel = {
    state: pick.state,
    labelId: pick.labelId,
    hash: pick.hash,
    shows: pick.shows ? shelfPriceOf(pick.shows.price, pick.shows.promoPrice) : null,
    ...(labels.length > 1 ? { labels: labels.length } : {}),
  };
  return { label, mismatched };
}

/**
 * A completed sale checked against the shelf: the record with every line's `label` filled in, and
 * one exact `priceMismatch` record per (line, label) that shows another price. The prices charged
 * are not touched (see the header: the till's price is paid).
 */
export function checkSale(rec: KioskTransactionRec, labelsAt: (gtin: string) => readonly LabelAtSale[]): { record: KioskTransactionRec; mismatches: PriceMismatchRec[] } {
  const mismatches: PriceMismatchRec[] = [];
  const lines = rec.lines.map((line: SaleLine, index) => {
    const tillPrice = typeof line.shelfPrice === 'number' ? line.shelfPrice : undefined;
    const { label, mismatched } = decideLine(tillPrice, rec.currency, labelsAt(line.gtin));
    for (const l of mismatched) mismatches.push(mismatchRecord(rec, line, index, tillPrice!, l));
    return { ...line, label };
  });
  return { record: { ...rec, lines }, mismatches };
}

function mismatchRecord(rec: KioskTransactionRec, line: SaleLine, index: number, tillPrice: number, l: LabelAtSale): PriceMismatchRec {
  const shows = l.shows!;
  return {
    ts: rec.ts,
    mismatchId: `${rec.transactionId}:${index}:${l.labelId}`,
    kioskId: rec.kioskId,
    transactionId: rec.transactionId,
    line: index,
    gtin: line.gtin,
    name: line.name,
    ...(line.catalogVersions !== undefined ? { catalogVersions: line.catalogVersions } : {}),
    currency: rec.currency,
    tillPrice,
    charged: line.unitPrice,
    labelId: l.labelId,
    labelState: l.state,
    labelHash: shows.hash,
    labelPrice: shelfPriceOf(shows.price, shows.promoPrice),
    labelCurrency: shows.currency,
    paid: 'till',
  };
}
