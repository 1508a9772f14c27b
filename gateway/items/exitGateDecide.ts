/**
 * The exit gate's decision, pure: one RFID read at a gate → alarm or quiet, with the reason.
 *
 * How it decides (the database-lookup scheme of the GS1 EPCglobal "RFID-based EAS" guide: no
 * write to the tag at the till, only reads): an EPC is decoded as SGTIN-96 (GS1 EPC Tag Data
 * Standard §14.5.1) into GTIN-14 and serial; the pair is looked up in the store's book of
 * serialised items held in memory (a decision takes microseconds; the gate has well under a
 * second, since a shopper at ~1.4 m/s crosses a 1–2 m read zone in about a second).
 *
 * Quiet, each counted by its reason:
 * - `notSgtin`: not an SGTIN-96 (another EPC scheme, a blank or garbled tag). Nothing says which
 *   item it is, so nothing says it was not paid for.
 * - `foreign`: an SGTIN of a GTIN this store does not sell (a shopper's own clothing, another
 *   retailer's tag). Alarming on those would alarm on every customer wearing a tagged jacket.
 * - `samePassage`: the tag was read at a gate less than the passage window ago; a reader reports
 *   the same tag many times a second, and one walk through the gate is one alarm at most.
 * - `sold` (sold in this store), `soldElsewhere` (HQ's `serials` feed), `exempt` (ops exempted
 *   the tag until a time: demo items, an item carried out by staff).
 * A GTIN without a serial cannot be told from another unit of the same product, and a sale of
 * the GTIN does not say which unit left: such a tag (a non-serialised EPC scheme) is `notSgtin`.
 *
 * Alarm: an SGTIN of a GTIN the store sells, not sold and not exempt; `flag` says when HQ lists it
 * as stolen or recalled.
 */
import { decodeSgtin96 } from '../kiosk/sgtin.js';
import type { SerialBook } from '../kiosk/serialBook.js';

export type QuietReason = 'notSgtin' | 'foreign' | 'samePassage' | 'sold' | 'soldElsewhere' | 'exempt';

export type GateDecision =
  | { alarm: true; gtin: string; serial: string; name: string; epc: string; flag?: 'stolen' | 'recalled' }
  | { alarm: false; reason: QuietReason; gtin?: string; serial?: string };

/**
 * Which reads of a tag form one passage: reads less than `windowMs` apart. A tag read again after
 * a gap of the window or more is a new passage (the item left and came back). Bounded: entries
 * older than the window are swept once the map holds more than `sweepAt`.
 */
export class Passages {
  private readonly last = new Map<string, number>();
  constructor(
    private readonly windowMs: number,
    private readonly sweepAt = 10_000,
  ) {}

  /** Records a read of `key` at `now` (monotonic ms); true when it starts a new passage. */
  seen(key: string, now: number): boolean {
    const prev = this.last.get(key);
    this.last.set(key, now);
    if (this.last.size > this.sweepAt) this.sweep(now);
    return prev === undefined || now - prev >= this.windowMs;
  }

  sweep(now: number): void {
    for (const [k, t] of this.last) if (now - t >= this.windowMs) this.last.delete(k);
  }

  get size(): number {
    return this.last.size;
  }
}

export interface DecideDeps {
  book: Pick<SerialBook, 'soldIn' | 'stateOf' | 'exemption'>;
  /** The catalog item of a GTIN-14, or null when the store does not sell it. */
  itemOf: (gtin14: string) => { gtin: string; name: string } | null;
  passages: Passages;
}

/** One read at a gate. `now`: wall ms (exemptions); `mono`: monotonic ms (passages). Never throws. */
export function decideExit(epc: unknown, d: DecideDeps, now: number, mono: number): GateDecision {
  const t = decodeSgtin96(epc);
  if (!t.ok) return { alarm: false, reason: 'notSgtin' };
  const serial = String(t.serial);
  const item = d.itemOf(t.gtin14);
  if (!item) return { alarm: false, reason: 'foreign', gtin: t.gtin14, serial };
  // Every read of the tag counts toward its passage, also reads of a sold or exempt one.
  if (!d.passages.seen(`${t.gtin14}|${serial}`, mono)) return { alarm: false, reason: 'samePassage', gtin: t.gtin14, serial };
  if (d.book.exemption(t.gtin14, serial, now)) return { alarm: false, reason: 'exempt', gtin: t.gtin14, serial };
  if (d.book.soldIn(t.gtin14, serial) !== undefined) return { alarm: false, reason: 'sold', gtin: t.gtin14, serial };
  const state = d.book.stateOf(t.gtin14, serial);
  if (state === 'soldElsewhere') return { alarm: false, reason: 'soldElsewhere', gtin: t.gtin14, serial };
  return { alarm: true, gtin: t.gtin14, serial, name: item.name, epc: t.hex, ...(state === 'stolen' || state === 'recalled' ? { flag: state } : {}) };
}
