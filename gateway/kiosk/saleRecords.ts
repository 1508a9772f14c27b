/**
 * Shelf = till, the sale's write: the `transaction` record with each line's shelf label
 * as it is at this moment (read from memory), and one `priceMismatch` record per line and label
 * that shows another price, and one `couponRedeemed` record per coupon the sale used, committed
 * through ingest in ONE transaction (a crash keeps both or
 * neither; they get consecutive seqs). The shopper paid the till's price (prices/shelfTill.ts).
 */
import type { Logger } from '../log.js';
import type { Ingest } from '../ingest/ingest.js';
import type { KioskTransactionRec } from '../protocol/schemas/kiosk.js';
import { topics } from '../protocol/topics.js';
import { kioskDevice } from './kioskRecords.js';
import { checkSale, type LabelAtSale } from '../prices/shelfTill.js';
import type { CouponRedeemedRec } from '../protocol/schemas/coupon.js';

/** One exact record per coupon used: what HQ matches across stores to find a serial used twice. */
export function couponRecords(data: KioskTransactionRec): CouponRedeemedRec[] {
  return (data.coupons ?? []).map((c) => ({ ts: data.ts, transactionId: data.transactionId, kioskId: data.kioskId, couponId: c.couponId, serial: c.serial, single: c.single, via: c.via, amount: c.amount, currency: data.currency }));
}

/**
 * The `couponReleased` records of a post-sale void of `sale` (one per coupon the sale used, the
 * exact reverse of its `couponRedeemed`), stamped `ts`: for the void's own commit to the outbox.
 */
export function couponReleaseRecords(sale: KioskTransactionRec, ts: string): CouponRedeemedRec[] {
  return couponRecords(sale).map((c) => ({ ...c, ts }));
}

/** Records a completed sale and its price mismatches; resolves with the sale's seq once durable. */
export function recordSale(ingest: Ingest, kioskId: string, data: KioskTransactionRec, labelsAt: (gtin: string) => readonly LabelAtSale[], log: Logger): Promise<number> {
  const { record, mismatches } = checkSale(data, labelsAt);
  for (const m of mismatches) log.warn({ deviceId: kioskId, transactionId: m.transactionId, gtin: m.gtin, labelId: m.labelId, labelState: m.labelState, tillPrice: m.tillPrice, labelPrice: m.labelPrice }, 'sold at a price a shelf label does not show');
  const records = [{ type: 'transaction', data: record as object }, ...mismatches.map((m) => ({ type: 'priceMismatch', data: m as object })), ...couponRecords(data).map((c) => ({ type: 'couponRedeemed', data: c as object }))];
  return new Promise((resolve, reject) => {
    ingest.handleGroup(kioskDevice(kioskId), records.map((r) => ({ type: r.type, topic: topics.evt('kiosk', kioskId, r.type), payload: Buffer.from(JSON.stringify(r.data), 'utf8') })), (err, rejected, seq) => {
      if (err) reject(err);
      else if (rejected) reject(new Error('kiosk transaction record failed its schema'));
      else resolve(seq);
    });
  });
}
