/**
 * What the store knows of each serialised item, in memory, so a kiosk and an exit gate decide in
 * microseconds (an exit gate must decide within a few milliseconds; a lookup per read in SQLite
 * on the writer thread would queue behind sale commits). kiosk.db is the truth (serialStore.ts):
 * the book is loaded from it at start, and a sale's serials are added the moment its commit
 * resolves, before the shopper sees "thank you", so a gate never alarms for an item sold a second ago.
 *
 * Memory: one map entry per serial sold here (tens of bytes each); a store selling 10,000
 * serialised items a day holds a year's in a few hundred MB at most — a store that sells more
 * should have HQ list old sales in the `serials` feed and prune (not done here).
 */
import { gtin14 } from './rfidTags.js';
import type { Exemption, SerialFlag, SoldSerial } from './serialStore.js';

/** Why a serial may not simply be sold (or walk out) again. */
export type SerialState = 'soldHere' | SerialFlag;

const keyOf = (gtin: string, serial: string): string => `${gtin14(gtin)}|${serial}`;

export class SerialBook {
  private readonly sold = new Map<string, string>(); // key → the last transaction that sold it
  private flags = new Map<string, SerialFlag>();
  private readonly exempt = new Map<string, Exemption>();

  addSold(serials: readonly SoldSerial[]): void {
    for (const s of serials) this.sold.set(keyOf(s.gtin, s.serial), s.transactionId);
  }

  /** A voided sale's serials: sold no more (unless another sale sold one since). */
  release(serials: readonly SoldSerial[]): void {
    for (const s of serials) if (this.sold.get(keyOf(s.gtin, s.serial)) === s.transactionId) this.sold.delete(keyOf(s.gtin, s.serial));
  }

  /** Replaces the feed's flags (after each applied `serials` feed, from kiosk.db). */
  setFlags(flags: readonly { gtin: string; serial: string; state: SerialFlag }[]): void {
    this.flags = new Map(flags.map((f) => [keyOf(f.gtin, f.serial), f.state]));
  }

  setExemption(e: Exemption): void {
    this.exempt.set(keyOf(e.gtin, e.serial), e);
  }

  /**
   * What stands against selling (gtin, serial): a block (stolen, recalled) first, since it holds
   * even for an item sold before; then a sale here or elsewhere. Null: free to sell.
   */
  stateOf(gtin: string, serial: string): SerialState | null {
    const k = keyOf(gtin, serial);
    const flag = this.flags.get(k);
    if (flag === 'stolen' || flag === 'recalled') return flag;
    if (this.sold.has(k)) return 'soldHere';
    return flag ?? null;
  }

  /** The transaction that last sold it here, if any. */
  soldIn(gtin: string, serial: string): string | undefined {
    return this.sold.get(keyOf(gtin, serial));
  }

  /** The exemption running at `now`, if any (an expired one is forgotten). */
  exemption(gtin: string, serial: string, now: number): Exemption | null {
    const k = keyOf(gtin, serial);
    const e = this.exempt.get(k);
    if (!e) return null;
    if (e.until > now) return e;
    this.exempt.delete(k);
    return null;
  }

  get soldCount(): number {
    return this.sold.size;
  }
}
