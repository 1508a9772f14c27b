/**
 * RFID shelf readers, the I/O shell around shelfPresence.ts and cycleCount.ts. Every committed
 * `read` of a shelf's reader is decoded (SGTIN-96 → GTIN + serial, as the exit gate does) and
 * counts as one unit of that item on the shelf of the reader's zone for `presenceMs`. Every
 * `checkEveryMs` each watched item of each zone is compared with on hand: refill or out opens an
 * episode (one `SHELF_EMPTY` alert naming item and zone); back on the shelf closes it. Which
 * items a zone watches and its open episodes are kept in stock.db, so a restart neither forgets
 * an item whose tags vanished meanwhile nor raises an alert again for the same empty shelf.
 *
 * After a start nothing is judged for one presence window: the readers need a cycle or two to
 * report the shelf again, and an empty map is not an empty shelf.
 *
 * Cycle counts (in memory: an open count lost to a restart is started again, nothing was
 * applied) take the distinct serials the zone's readers read while they are open.
 */
import { randomBytes } from 'node:crypto';
import { decodeSgtin96 } from '../kiosk/sgtin.js';
import type { Logger } from '../log.js';
import type { NewEvent } from '../outbox/store.js';
import type { StockStore } from '../stock/store.js';
import { CycleCount, type CountLine } from './cycleCount.js';
import type { ShelfConfig } from './shelfConfig.js';
import { episodeStep, ShelfPresence, shelfState, type ShelfState } from './shelfPresence.js';

export interface ShelvesOptions {
  shelves: readonly ShelfConfig[];
  store: Pick<StockStore, 'levels' | 'shelfWatch' | 'watchShelfItems' | 'setShelfEpisode'>;
  /** The catalog item of a GTIN-14, or null when the store does not sell it. */
  itemOf: (gtin14: string) => { gtin: string; name: string } | null;
  nameOf: (gtin: string) => string | null;
  /** True once the unit was sold here: it is off the shelf. */
  sold: (gtin: string, serial: string) => boolean;
  alert: (source: string, code: string, message: string) => void;
  /** Every shelf read's outcome: `onShelf`, `notSgtin`, `foreign`. */
  count: (outcome: string) => void;
  log: Logger;
  now: () => number;
  mono: () => number;
}

export interface ShelfRow {
  zone: string;
  gtin: string;
  name: string;
  onShelf: number;
  onHand: number;
  minFacings: number;
  state: ShelfState;
}

interface Zone {
  minFacings: number;
  presenceMs: number;
  planned: Set<string>;
}

export class Shelves {
  private readonly zoneOf = new Map<string, string>(); // reader → zone
  private readonly zones = new Map<string, Zone>();
  private readonly presence: ShelfPresence;
  /** zone → gtin → open episode since (null: none). */
  private readonly watch = new Map<string, Map<string, number | null>>();
  private readonly counts = new Map<string, CycleCount>();
  private readonly log: Logger;
  private timer: NodeJS.Timeout | null = null;
  private judgeFrom = 0;
  /** Wall time of the last check that judged the shelves (null: none yet since the start). */
  checkedAt: number | null = null;
  private checking: Promise<void> = Promise.resolve();

  constructor(private readonly o: ShelvesOptions) {
    this.log = o.log.child({ module: 'shelves' });
    for (const s of o.shelves) {
      this.zoneOf.set(s.reader, s.zone);
      const z = this.zones.get(s.zone);
      // Several readers may cover one zone: the zone keeps the strictest facings and the longest window.
      if (z) Object.assign(z, { minFacings: Math.max(z.minFacings, s.minFacings), presenceMs: Math.max(z.presenceMs, s.presenceMs) });
      else this.zones.set(s.zone, { minFacings: s.minFacings, presenceMs: s.presenceMs, planned: new Set() });
      for (const g of s.gtins ?? []) this.zones.get(s.zone)!.planned.add(g);
    }
    this.presence = new ShelfPresence((zone) => this.zones.get(zone)?.presenceMs ?? 60_000);
  }

  get enabled(): boolean {
    return this.zones.size > 0;
  }

  async start(): Promise<void> {
    if (!this.enabled) return;
    for (const r of await this.o.store.shelfWatch()) if (this.zones.has(r.zone)) this.watched(r.zone).set(r.gtin, r.openSince);
    const planned = [...this.zones].flatMap(([zone, z]) => [...this.plannedOf(z)].filter((g) => !this.watched(zone).has(g)).map((gtin) => ({ zone, gtin })));
    await this.o.store.watchShelfItems(planned);
    for (const p of planned) this.watched(p.zone).set(p.gtin, null);
    const longest = Math.max(...[...this.zones.values()].map((z) => z.presenceMs));
    this.judgeFrom = this.o.mono() + longest;
    const every = Math.min(15_000, Math.max(250, Math.floor(Math.min(...[...this.zones.values()].map((z) => z.presenceMs)) / 4)));
    this.timer = setInterval(() => void this.check(), every);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.checking;
  }

  /**
   * A zone's planned GTINs in the catalog's own form of each number (reads are matched as GTIN-14
   * and named by the catalog), so "04012345678901" in the config and "4012345678901" in the catalog
   * are one item, not a second one that never sees a read. Not in the catalog: as configured.
   */
  private plannedOf(z: { planned: Set<string> }): Set<string> {
    return new Set([...z.planned].map((g) => this.o.itemOf(g.padStart(14, '0'))?.gtin ?? g));
  }

  private watched(zone: string): Map<string, number | null> {
    let m = this.watch.get(zone);
    if (!m) this.watch.set(zone, (m = new Map()));
    return m;
  }

  /** A committed device event; only shelf readers' reads are ours. Never throws. */
  onEvent(e: NewEvent): void {
    if (e.kind !== 'rfid' || e.type !== 'read') return;
    const zone = this.zoneOf.get(e.deviceId);
    if (zone === undefined) return;
    let epc: unknown;
    try {
      epc = (JSON.parse(e.data) as { epc?: unknown }).epc;
    } catch {
      epc = undefined;
    }
    const t = decodeSgtin96(epc);
    if (!t.ok) return this.o.count('notSgtin');
    const item = this.o.itemOf(t.gtin14);
    if (!item) return this.o.count('foreign');
    this.o.count('onShelf');
    const serial = String(t.serial);
    this.presence.see(zone, item.gtin, serial, e.monoMs);
    for (const c of this.counts.values()) if (c.zone === null || c.zone === zone) c.read(item.gtin, serial);
    const w = this.watched(zone);
    if (!w.has(item.gtin)) {
      w.set(item.gtin, null);
      this.o.store.watchShelfItems([{ zone, gtin: item.gtin }]).catch((err: Error) => this.log.warn({ err, zone, gtin: item.gtin }, 'shelf item could not be kept as watched'));
    }
  }

  /** Every watched item of every zone, now (on hand from the ledger). */
  async rows(): Promise<ShelfRow[]> {
    const onHand = new Map((await this.o.store.levels(0)).map((l) => [l.gtin, l.onHand]));
    const mono = this.o.mono();
    const out: ShelfRow[] = [];
    for (const [zone, items] of this.watch) {
      const z = this.zones.get(zone)!;
      for (const gtin of items.keys()) {
        const onShelf = this.presence.onShelf(zone, gtin, mono, this.o.sold);
        const oh = onHand.get(gtin) ?? 0;
        out.push({ zone, gtin, name: this.o.nameOf(gtin) ?? '', onShelf, onHand: oh, minFacings: z.minFacings, state: shelfState(onShelf, oh, z.minFacings) });
      }
    }
    return out.sort((a, b) => a.zone.localeCompare(b.zone) || a.gtin.localeCompare(b.gtin));
  }

  /** The refill list (in stock, not on the shelf) and the out-of-stock list. */
  async lists(): Promise<{ refill: ShelfRow[]; out: ShelfRow[] }> {
    const rows = await this.rows();
    return { refill: rows.filter((r) => r.state === 'refill'), out: rows.filter((r) => r.state === 'out') };
  }

  /** One pass over every zone: opens and closes episodes. */
  check(): Promise<void> {
    const run = this.checking.then(() => this.checkNow()).catch((err: Error) => this.log.error({ err }, 'shelf check failed'));
    this.checking = run;
    return run;
  }

  private async checkNow(): Promise<void> {
    if (this.o.mono() < this.judgeFrom) return;
    const at0 = this.o.now();
    for (const r of await this.rows()) {
      const w = this.watched(r.zone);
      const since = w.get(r.gtin) ?? null;
      // The alert is about the shelf: an item out of stock whose units are still on the shelf (the
      // ledger is wrong, a count will tell) is on the out list but raises no SHELF_EMPTY.
      const step = episodeStep(since !== null, r.onShelf < r.minFacings ? r.state : 'ok');
      if (step === 'none') continue;
      const at = step === 'raise' ? this.o.now() : null;
      await this.o.store.setShelfEpisode(r.zone, r.gtin, at);
      w.set(r.gtin, at);
      const name = r.name || r.gtin;
      if (step === 'close') {
        this.log.info({ zone: r.zone, gtin: r.gtin, onShelf: r.onShelf }, 'shelf refilled');
        continue;
      }
      const why = r.state === 'out' ? `out of stock (on hand ${r.onHand})` : `${r.onShelf} on the shelf, ${r.onHand} on hand: refill from the back room`;
      this.log.warn({ zone: r.zone, gtin: r.gtin, onShelf: r.onShelf, onHand: r.onHand, state: r.state }, 'shelf empty');
      this.o.alert(`shelf/${r.zone}`, 'SHELF_EMPTY', `${name} (GTIN ${r.gtin}) in ${r.zone}: ${why}`);
    }
    this.checkedAt = at0;
  }

  // ---- cycle counts ---------------------------------------------------------------------------

  /** Starts a count of a zone (null: every shelf reader); throws naming the field for an unknown zone. */
  startCount(zone: string | null, by: string, requestId: string): CycleCount {
    const again = [...this.counts.values()].find((c) => c.requestId === requestId);
    if (again) return again; // the same press sent twice
    if (zone !== null && !this.zones.has(zone)) throw Object.assign(new Error(`body.zone: no shelf zone "${zone}" (known: ${[...this.zones.keys()].join(', ') || 'none'})`), { statusCode: 400 });
    const planned = zone === null ? [...this.zones.values()].flatMap((z) => [...this.plannedOf(z)]) : [...this.plannedOf(this.zones.get(zone)!)];
    const c = new CycleCount(`cc-${this.o.now().toString(36)}-${randomBytes(4).toString('hex')}`, zone, this.o.now(), by, planned, requestId);
    this.counts.set(c.countId, c);
    // The newest 20 counts are kept (open or not): memory stays bounded whatever is started.
    for (const old of [...this.counts.keys()].slice(0, Math.max(0, this.counts.size - 20))) this.counts.delete(old);
    this.log.info({ countId: c.countId, zone, by }, 'cycle count started');
    return c;
  }

  countOf(id: string): CycleCount | null {
    return this.counts.get(id) ?? null;
  }

  zoneNames(): string[] {
    return [...this.zones.keys()];
  }

  /** The count's lines against on hand now. */
  async countLines(c: CycleCount): Promise<(CountLine & { name: string })[]> {
    const onHand = new Map((await this.o.store.levels(0)).map((l) => [l.gtin, l.onHand]));
    return c.lines((g) => onHand.get(g) ?? 0, this.o.sold).map((l) => ({ ...l, name: this.o.nameOf(l.gtin) ?? '' }));
  }

  /** On shelf per zone of one item. */
  onShelfOf(gtin: string): { zone: string; onShelf: number; minFacings: number }[] {
    const mono = this.o.mono();
    return [...this.watch].filter(([, items]) => items.has(gtin)).map(([zone]) => ({ zone, onShelf: this.presence.onShelf(zone, gtin, mono, this.o.sold), minFacings: this.zones.get(zone)!.minFacings }));
  }
}
