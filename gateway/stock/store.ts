/**
 * Stock repository (stock.db, WAL, synchronous FULL): the movement ledger, append-only and keyed
 * by movement id, and per GTIN the level derived from it. Its own file, not tables in kiosk.db:
 * stock moves from several sources (the kiosk's sales, ops people, HQ deliveries), it is kept far
 * longer than a kiosk's sessions, and a bulk receipt or count never lengthens a transaction the
 * kiosk's payment path waits behind. Its writes go through a writer thread of its own (db/owner.ts
 * `ownThread`): a burst of stock commits, each with its fsync, never queues in front of the
 * outbox's group commit that device PUBACKs wait for, nor the other way round.
 *
 * A batch of movements and the levels of the GTINs they touch are one transaction: the level is
 * recomputed in SQL from the latest count (by event time, ties by movement id) plus the movements
 * after it, the same rule as onHand.ts, so a late or repeated movement can never leave it stale.
 */
import { openOwned, type OwnedFile, type OwnerConnection, type Step } from '../db/owner.js';
import type { Movement, MoveKind } from './onHand.js';
import type { DeliveriesBodyT, DeliveryT } from './deliveries.js';

const MIGRATIONS: readonly string[] = [
  // 1: movements (seq: the outbox seq of its stockMove record, once written), levels, per-item thresholds, cursors.
  `CREATE TABLE movements (
     movement_id TEXT PRIMARY KEY, gtin TEXT NOT NULL, kind TEXT NOT NULL, qty INTEGER NOT NULL, uom TEXT NOT NULL,
     reason TEXT, event_time INTEGER NOT NULL, record_time INTEGER NOT NULL, actor TEXT NOT NULL, source_ref TEXT, seq INTEGER
   );
   CREATE INDEX movements_gtin_time ON movements (gtin, event_time);
   CREATE INDEX movements_unforwarded ON movements (record_time) WHERE seq IS NULL;
   CREATE TABLE levels (gtin TEXT PRIMARY KEY, on_hand INTEGER NOT NULL, counted_at INTEGER, updated_at INTEGER NOT NULL) WITHOUT ROWID;
   CREATE TABLE thresholds (gtin TEXT PRIMARY KEY, low_below INTEGER NOT NULL) WITHOUT ROWID;
   CREATE TABLE cursors (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
   CREATE INDEX movements_source ON movements (source_ref) WHERE source_ref IS NOT NULL;
   CREATE TABLE deliveries (delivery_id TEXT PRIMARY KEY, body TEXT NOT NULL, status TEXT NOT NULL, updated_at INTEGER NOT NULL) WITHOUT ROWID;
   CREATE TABLE delivery_feed (scope TEXT PRIMARY KEY, version INTEGER NOT NULL, applied_at INTEGER NOT NULL) WITHOUT ROWID`,
  // 2: the items each shelf zone watches (learned from its reads) and their open SHELF_EMPTY episode, across restarts.
  `CREATE TABLE shelf_watch (zone TEXT NOT NULL, gtin TEXT NOT NULL, open_since INTEGER, PRIMARY KEY (zone, gtin)) WITHOUT ROWID`,
];

/** A movement as the ledger keeps it. */
export interface MovementRow extends Movement {
  uom: 'unit' | 'g';
  reason: string | null;
  recordTime: number;
  /** Who: an ops user name, `kiosk:<id>`, `hq`. */
  actor: string;
  /** The transaction, order or delivery it belongs to. */
  sourceRef: string | null;
  seq: number | null;
}

export interface LevelRow {
  gtin: string;
  onHand: number;
  countedAt: number | null;
  updatedAt: number;
}

const LEVEL_SQL = `INSERT INTO levels (gtin, on_hand, counted_at, updated_at)
  SELECT g.gtin, COALESCE(c.qty, 0) + COALESCE((SELECT SUM(m.qty) FROM movements m WHERE m.gtin = g.gtin AND m.kind <> 'count' AND (c.event_time IS NULL OR m.event_time > c.event_time)), 0), c.event_time, ?
  FROM (SELECT ? AS gtin) g
  LEFT JOIN (SELECT qty, event_time FROM movements WHERE gtin = ? AND kind = 'count' ORDER BY event_time DESC, movement_id DESC LIMIT 1) c ON 1
  WHERE 1 -- an INSERT … SELECT with an upsert needs a WHERE, or SQLite may read ON CONFLICT as a join's ON
  ON CONFLICT (gtin) DO UPDATE SET on_hand = excluded.on_hand, counted_at = excluded.counted_at, updated_at = excluded.updated_at`;

const COLS = 'movement_id, gtin, kind, qty, uom, reason, event_time, record_time, actor, source_ref, seq';
type Raw = { movement_id: string; gtin: string; kind: MoveKind; qty: number; uom: 'unit' | 'g'; reason: string | null; event_time: number; record_time: number; actor: string; source_ref: string | null; seq: number | null };
const rowOf = (r: Raw): MovementRow => ({ movementId: r.movement_id, gtin: r.gtin, kind: r.kind, qty: r.qty, uom: r.uom, reason: r.reason, eventTime: r.event_time, recordTime: r.record_time, actor: r.actor, sourceRef: r.source_ref, seq: r.seq });

export class StockStore {
  private db!: OwnerConnection;
  private owned: OwnedFile | null = null;
  private readonly appends: { moves: readonly Omit<MovementRow, 'seq'>[]; now: number; cursor?: { name: string; value: number }; resolve: (fresh: string[]) => void; reject: (err: Error) => void }[] = [];
  private appending = false;
  constructor(private readonly file: string) {}

  async start(): Promise<void> {
    this.owned = await openOwned(this.file, MIGRATIONS, { synchronous: 'FULL', ownThread: true });
    this.db = this.owned.conn;
  }

  async stop(): Promise<void> {
    await this.owned?.close();
    this.owned = null;
  }

  /**
   * Appends movements (a movement id already there is left as it was) and recomputes the levels of
   * their GTINs, one transaction. `cursor` advances a named cursor in the same commit. Resolves
   * with the ids that were new.
   */
  append(moves: readonly Omit<MovementRow, 'seq'>[], now: number, cursor?: { name: string; value: number }): Promise<string[]> {
    if (moves.length === 0 && !cursor) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.appends.push({ moves, now, cursor, resolve, reject });
      if (!this.appending) void this.commitAppends();
    });
  }

  /**
   * Group commit: appends that arrive while one commit is on the disk wait for it and then share
   * the next transaction (and its fsync). With one commit per append, people recording stock on
   * several ops pages at once queued one fsync each behind the outbox's on the shared writer.
   * Each append is still all or nothing: a failed transaction fails every append in it.
   */
  private async commitAppends(): Promise<void> {
    this.appending = true;
    while (this.appends.length > 0) {
      const group = this.appends.splice(0, 64);
      const steps: Step[] = [];
      const gtins = new Set<string>();
      for (const a of group) {
        for (const m of a.moves) {
          steps.push({ sql: 'INSERT OR IGNORE INTO movements (movement_id, gtin, kind, qty, uom, reason, event_time, record_time, actor, source_ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', rows: [[m.movementId, m.gtin, m.kind, m.qty, m.uom, m.reason, m.eventTime, m.recordTime, m.actor, m.sourceRef]] });
          gtins.add(m.gtin);
        }
      }
      const now = Math.max(...group.map((a) => a.now));
      if (gtins.size) steps.push({ sql: LEVEL_SQL, rows: [...gtins].map((g) => [now, g, g]) });
      for (const a of group) if (a.cursor) steps.push({ sql: 'INSERT INTO cursors (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)', rows: [[a.cursor.name, a.cursor.value]] });
      try {
        const results = await this.db.steps(steps, true);
        let i = 0;
        for (const a of group) a.resolve(a.moves.filter(() => results[i++]!.changes === 1).map((m) => m.movementId));
      } catch (err) {
        for (const a of group) a.reject(err as Error);
      }
    }
    this.appending = false;
  }

  async cursor(name: string): Promise<number | null> {
    return (await this.db.get<{ value: number }>('SELECT value FROM cursors WHERE name = ?', [name]))?.value ?? null;
  }

  async level(gtin: string): Promise<LevelRow | null> {
    const r = await this.db.get<{ gtin: string; on_hand: number; counted_at: number | null; updated_at: number }>('SELECT gtin, on_hand, counted_at, updated_at FROM levels WHERE gtin = ?', [gtin]);
    return r ? { gtin: r.gtin, onHand: r.on_hand, countedAt: r.counted_at, updatedAt: r.updated_at } : null;
  }

  /** Every level changed at or after `sinceMs` (the stock report). */
  async levels(sinceMs = 0): Promise<LevelRow[]> {
    const rows = await this.db.all<{ gtin: string; on_hand: number; counted_at: number | null; updated_at: number }>('SELECT gtin, on_hand, counted_at, updated_at FROM levels WHERE updated_at >= ? ORDER BY gtin', [sinceMs]);
    return rows.map((r) => ({ gtin: r.gtin, onHand: r.on_hand, countedAt: r.counted_at, updatedAt: r.updated_at }));
  }

  /** Levels under their threshold (per-item override, else `lowBelow`), lowest first. */
  async lowLevels(lowBelow: number, limit: number): Promise<(LevelRow & { lowBelow: number })[]> {
    const rows = await this.db.all<{ gtin: string; on_hand: number; counted_at: number | null; updated_at: number; low_below: number }>(
      'SELECT l.gtin, l.on_hand, l.counted_at, l.updated_at, COALESCE(t.low_below, ?) AS low_below FROM levels l LEFT JOIN thresholds t ON t.gtin = l.gtin WHERE l.on_hand < COALESCE(t.low_below, ?) ORDER BY l.on_hand, l.gtin LIMIT ?',
      [lowBelow, lowBelow, limit],
    );
    return rows.map((r) => ({ gtin: r.gtin, onHand: r.on_hand, countedAt: r.counted_at, updatedAt: r.updated_at, lowBelow: r.low_below }));
  }

  async threshold(gtin: string): Promise<number | null> {
    return (await this.db.get<{ low_below: number }>('SELECT low_below FROM thresholds WHERE gtin = ?', [gtin]))?.low_below ?? null;
  }

  /** A per-item threshold; null removes it (the config default applies again). */
  async setThreshold(gtin: string, lowBelow: number | null): Promise<void> {
    if (lowBelow === null) await this.db.run('DELETE FROM thresholds WHERE gtin = ?', [gtin]);
    else await this.db.run('INSERT INTO thresholds (gtin, low_below) VALUES (?, ?) ON CONFLICT (gtin) DO UPDATE SET low_below = excluded.low_below', [gtin, lowBelow]);
  }

  /** The latest movements of a GTIN, newest event first (then the last one learned of). */
  async movements(gtin: string, limit: number): Promise<MovementRow[]> {
    return (await this.db.all<Raw>(`SELECT ${COLS} FROM movements WHERE gtin = ? ORDER BY event_time DESC, rowid DESC LIMIT ?`, [gtin, limit])).map(rowOf);
  }

  async movement(id: string): Promise<MovementRow | null> {
    const r = await this.db.get<Raw>(`SELECT ${COLS} FROM movements WHERE movement_id = ?`, [id]);
    return r ? rowOf(r) : null;
  }

  /** Movements whose stockMove record is not written yet, oldest first. */
  async unforwarded(limit: number): Promise<MovementRow[]> {
    return (await this.db.all<Raw>(`SELECT ${COLS} FROM movements WHERE seq IS NULL ORDER BY record_time, movement_id LIMIT ?`, [limit])).map(rowOf);
  }

  /** Notes the seq of each movement's record, one transaction. */
  async markForwarded(done: readonly { movementId: string; seq: number }[]): Promise<void> {
    if (done.length === 0) return;
    await this.db.steps([{ sql: 'UPDATE movements SET seq = ? WHERE movement_id = ?', rows: done.map((d) => [d.seq, d.movementId]) }], true);
  }

  // ---- expected deliveries (HQ's signed `deliveries` feed) ----------------------------------

  async deliveriesVersion(): Promise<number | undefined> {
    return (await this.db.get<{ version: number }>("SELECT version FROM delivery_feed WHERE scope = 'store'"))?.version;
  }

  /** One feed version, one transaction: a snapshot closes the open deliveries it no longer lists. */
  async applyDeliveries(version: number, body: DeliveriesBodyT, now: number): Promise<void> {
    const steps: Step[] = [];
    if (body.mode === 'snapshot') steps.push({ sql: "UPDATE deliveries SET status = 'removed', updated_at = ? WHERE status = 'open'", rows: [[now]] });
    if (body.remove?.length) steps.push({ sql: "UPDATE deliveries SET status = 'removed', updated_at = ? WHERE delivery_id = ? AND status = 'open'", rows: body.remove.map((id) => [now, id]) });
    if (body.deliveries.length) steps.push({ sql: "INSERT INTO deliveries (delivery_id, body, status, updated_at) VALUES (?, ?, 'open', ?) ON CONFLICT (delivery_id) DO UPDATE SET body = excluded.body, status = 'open', updated_at = excluded.updated_at", rows: body.deliveries.map((d) => [d.deliveryId, JSON.stringify(d), now]) });
    steps.push({ sql: "INSERT INTO delivery_feed (scope, version, applied_at) VALUES ('store', ?, ?) ON CONFLICT (scope) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at", rows: [[version, now]] });
    await this.db.steps(steps, true);
  }

  async openDeliveries(): Promise<DeliveryT[]> {
    return (await this.db.all<{ body: string }>("SELECT body FROM deliveries WHERE status = 'open' ORDER BY delivery_id")).map((r) => JSON.parse(r.body) as DeliveryT);
  }

  async delivery(id: string): Promise<DeliveryT | null> {
    const r = await this.db.get<{ body: string }>("SELECT body FROM deliveries WHERE delivery_id = ? AND status = 'open'", [id]);
    return r ? (JSON.parse(r.body) as DeliveryT) : null;
  }

  /** Receipt movements booked against a delivery. */
  async movementsOf(sourceRef: string): Promise<MovementRow[]> {
    return (await this.db.all<Raw>(`SELECT ${COLS} FROM movements WHERE source_ref = ? ORDER BY rowid`, [sourceRef])).map(rowOf);
  }

  // ---- shelf zones (items/shelves.ts) ---------------------------------------------------------

  /** Every item a zone watches, with the start of its open SHELF_EMPTY episode (null: none). */
  async shelfWatch(): Promise<{ zone: string; gtin: string; openSince: number | null }[]> {
    return (await this.db.all<{ zone: string; gtin: string; open_since: number | null }>('SELECT zone, gtin, open_since FROM shelf_watch ORDER BY zone, gtin')).map((r) => ({ zone: r.zone, gtin: r.gtin, openSince: r.open_since }));
  }

  async watchShelfItems(items: readonly { zone: string; gtin: string }[]): Promise<void> {
    if (items.length) await this.db.steps([{ sql: 'INSERT OR IGNORE INTO shelf_watch (zone, gtin) VALUES (?, ?)', rows: items.map((i) => [i.zone, i.gtin]) }], true);
  }

  async setShelfEpisode(zone: string, gtin: string, openSince: number | null): Promise<void> {
    await this.db.run('INSERT INTO shelf_watch (zone, gtin, open_since) VALUES (?, ?, ?) ON CONFLICT (zone, gtin) DO UPDATE SET open_since = excluded.open_since', [zone, gtin, openSince]);
  }
}
