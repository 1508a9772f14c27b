/**
 * What is on a shelf, pure: per zone and item, the distinct serials read within the presence
 * window. A fixed reader reports the same tag many times a second and misses some tags in any
 * one cycle (metal shelving, tags behind each other), so a unit is counted by its serial, never
 * by its reads, and stays on the shelf for the window after its last read; a window of two or
 * more read cycles keeps one missed cycle from emptying the shelf.
 *
 * The refill rule: an item with fewer units on the shelf than its facings but some on hand is
 * "in stock, not on the shelf" (staff can refill it from the back room); with nothing on hand it
 * is out of stock, and only a delivery helps. RFID stock studies found the gap that matters is
 * between the back room and the shelf: the store has the item, the shopper cannot find it.
 */

/** Units of one item seen in one zone: serial → monotonic ms of its last read. */
type Seen = Map<string, number>;

export class ShelfPresence {
  /** zone → item GTIN → serials. */
  private readonly zones = new Map<string, Map<string, Seen>>();

  constructor(private readonly presenceMs: (zone: string) => number) {}

  /** One read of a unit (a read of an older time than the last one changes nothing). */
  see(zone: string, gtin: string, serial: string, mono: number): void {
    let items = this.zones.get(zone);
    if (!items) this.zones.set(zone, (items = new Map()));
    let seen = items.get(gtin);
    if (!seen) items.set(gtin, (seen = new Map()));
    if ((seen.get(serial) ?? -Infinity) < mono) seen.set(serial, mono);
  }

  /**
   * Units of `gtin` on the shelf in `zone` now; drops the expired ones as it goes, and the units
   * `gone` says left for sure (sold: it stops counting at once, not a window later).
   */
  onShelf(zone: string, gtin: string, mono: number, gone: (gtin: string, serial: string) => boolean = () => false): number {
    const seen = this.zones.get(zone)?.get(gtin);
    if (!seen) return 0;
    const from = mono - this.presenceMs(zone);
    for (const [serial, at] of seen) if (at <= from || gone(gtin, serial)) seen.delete(serial);
    return seen.size;
  }

  /** The items ever read in a zone (some may be at 0 now). */
  itemsIn(zone: string): string[] {
    return [...(this.zones.get(zone)?.keys() ?? [])];
  }
}

export type ShelfState = 'ok' | 'refill' | 'out';

/** An item in a zone: out with nothing on hand; refill with some on hand and fewer than `minFacings` on the shelf. */
export function shelfState(onShelf: number, onHand: number, minFacings: number): ShelfState {
  if (onHand <= 0) return 'out';
  return onShelf < minFacings ? 'refill' : 'ok';
}

/**
 * One alert per episode: an episode opens when the item leaves `ok` (a SHELF_EMPTY alert) and
 * closes when it is back (the shelf refilled); staying in `refill` or `out` raises nothing more.
 */
export function episodeStep(open: boolean, state: ShelfState): 'raise' | 'close' | 'none' {
  if (state === 'ok') return open ? 'close' : 'none';
  return open ? 'none' : 'raise';
}
