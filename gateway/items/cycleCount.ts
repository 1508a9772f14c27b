/**
 * An RFID cycle count, pure: the distinct serials per item read by the zone's readers while the
 * count is open. Closing it fixes its event time; applying it turns each item's counted units
 * into a `count` movement at that time, so on hand becomes the counted units plus whatever moved
 * after (the stock rule: a count sets on hand as of its event time).
 *
 * A unit sold while the count is open is taken out of it: its sale movement is before the count's
 * event time, so it is already inside what the count says, and counting its tag (read before it
 * left) would put it back.
 */
export interface CountLine {
  gtin: string;
  counted: number;
  onHand: number;
  /** counted − on hand: what applying the count changes. */
  difference: number;
}

export class CycleCount {
  private readonly serials = new Map<string, Set<string>>();
  closedAt: number | null = null;
  applied = false;

  constructor(
    readonly countId: string,
    /** null: the whole store (every shelf reader). */
    readonly zone: string | null,
    readonly startedAt: number,
    readonly startedBy: string,
    /** Items planned for the zone: counted as 0 when none of their tags is read. */
    readonly planned: readonly string[],
    /** The press that started it: sent twice, it is the same count. */
    readonly requestId: string,
  ) {}

  /** A read while open; false once closed (too late to count). */
  read(gtin: string, serial: string): boolean {
    if (this.closedAt !== null) return false;
    let s = this.serials.get(gtin);
    if (!s) this.serials.set(gtin, (s = new Set()));
    s.add(serial);
    return true;
  }

  close(at: number): void {
    if (this.closedAt === null) this.closedAt = at;
  }

  /** Counted units per item (planned ones at 0 included) against on hand; units `sold` are left out. */
  lines(onHand: (gtin: string) => number, sold: (gtin: string, serial: string) => boolean): CountLine[] {
    const gtins = [...new Set([...this.planned, ...this.serials.keys()])].sort();
    return gtins.map((gtin) => {
      const counted = [...(this.serials.get(gtin) ?? [])].filter((s) => !sold(gtin, s)).length;
      const oh = onHand(gtin);
      return { gtin, counted, onHand: oh, difference: counted - oh };
    });
  }
}
