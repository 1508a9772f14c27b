/**
 * Stock repository (stock.db, WAL, synchronous FULL): the movement ledger, append-only and keyed
 * by movement id, and per GTIN the level derived from it. Its own file, not tables in kiosk.db:
 * stock moves from several sources (the kiosk's sales, ops people, HQ deliveries), it is kept far
 * longer than a kiosk's sessions, and a bulk receipt or count never lengthens a transaction the
 * kiosk's payment path waits behind. Its writes go through a writer thread of its own (db/owner.ts
 * `ownThread`): a burst of stock commits, each with its fsync, never queues in front of the
 * outbox's group commit that device PUBACKs wait for, nor the other way round. Its reads run on a
 * read-only connection of the main thread: in WAL mode a reader sees every transaction committed
 * before its statement starts and never waits for the writer (https://www.sqlite.org/wal.html,
 * "Concurrency"), so a read after an awaited write sees that write, and costs a B-tree lookup
 * instead of a message to the writer thread and back (a structured clone each way).
 *
 * A batch of movements and the levels of the GTINs they touch are one transaction, under the rule
 * of onHand.ts: the latest count (by event time, ties by movement id) plus the movements after it.
 * A new movement after the level's count adds its qty (a trigger); one at or before it changes
 * nothing; a count recomputes the level in SQL; a repeated id is ignored. A late or repeated
 * movement can never leave the level stale.
 */
import { openOwned, type OwnedFile, type OwnerConnection, type OwnerSupervision, type Step } from '../db/owner.js';
import { openDb, type Db } from '../db/sqlite.js';
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
  // 3: a new movement that is not a count adds its qty to the level, unless it happened at or before
  // the count the level starts from (an AFTER INSERT trigger does not fire for a row INSERT OR
  // IGNORE left out, so a repeat adds nothing). A count still recomputes the level (LEVEL_SQL).
  `CREATE TRIGGER movements_level AFTER INSERT ON movements WHEN NEW.kind <> 'count' BEGIN
     INSERT INTO levels (gtin, on_hand, counted_at, updated_at) VALUES (NEW.gtin, NEW.qty, NULL, NEW.record_time)
     ON CONFLICT (gtin) DO UPDATE SET on_hand = on_hand + excluded.on_hand, updated_at = excluded.updated_at
     WHERE counted_at IS NULL OR NEW.event_time > counted_at;
   END`,
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

/**
 * A level from scratch: the latest count plus every movement after it. Run for the GTINs of the
 * counts in a commit; other movements add to the level as they are inserted (migration 3's
 * trigger), since summing a GTIN's whole history since its last count on every sale grows with the
 * ledger (an item sold a hundred times a day and not counted for a quarter: 9,000 rows a sale).
 */
const LEVEL_SQL = `INSERT INTO levels (gtin, on_hand, counted_at, updated_at)
  SELECT g.gtin, COALESCE(c.qty, 0) + COALESCE((SELECT SUM(m.qty) FROM movements m WHERE m.gtin = g.gtin AND m.kind <> 'count' AND (c.event_time IS NULL OR m.event_time > c.event_time)), 0), c.event_time, ?
  FROM (SELECT ? AS gtin) g
  LEFT JOIN (SELECT qty, event_time FROM movements WHERE gtin = ? AND kind = 'count' ORDER BY event_time DESC, movement_id DESC LIMIT 1) c ON 1
  WHERE 1 -- an INSERT … SELECT with an upsert needs a WHERE, or SQLite may read ON CONFLICT as a join's ON
  ON CONFLICT (gtin) DO UPDATE SET on_hand = excluded.on_hand, counted_at = excluded.counted_at, updated_at = excluded.updated_at`;

const COLS = 'movement_id, gtin, kind, qty, uom, reason, event_time, record_time, actor, source_ref, seq';
type Raw = { movement_id: string; gtin: string; kind: MoveKind; qty: number; uom: 'unit' | 'g'; reason: string | null; event_time: number; record_time: number; actor: string; source_ref: string | null; seq: number | null };
const rowOf = (r: Raw): MovementRow => ({ movementId: r.movement_id, gtin: r.gtin, kind: r.kind, qty: r.qty, uom: r.uom, reason: r.reason, eventTime: r.event_time, recordTime: r.record_time, actor: r.actor, sourceRef: r.source_ref, seq: r.seq });

/** On hand and the per-item threshold (null: the config default) of a GTIN, as a commit left them. */
export interface LevelAfter {
  onHand: number;
  lowBelow: number | null;
}

/** What a commit tells the requests in it. */
interface Committed {
  /** Per request, the movement ids that were new (null for a request that appended nothing). */
  fresh: string[] | null;
  /** The levels of the group's GTINs after the commit, when a request in it asked. */
  levels: ReadonlyMap<string, LevelAfter>;
}

/** About how many movements (appended or marked forwarded) one stock.db transaction carries at most. */
const MAX_COMMIT_MOVES = 2000;

/** A request waiting for the group commit: movements to append and/or movements forwarded. */
interface Pending {
  moves: readonly Omit<MovementRow, 'seq'>[];
  now: number;
  cursor?: { name: string; value: number };
  forwarded: readonly { movementId: string; seq: number }[];
  /** Read the levels back inside the same transaction (the ops answer shows them). */
  readBack?: boolean;
  resolve: (c: Committed) => void;
  reject: (err: Error) => void;
}

export class StockStore {
  /** Writes: the writer thread. */
  private db!: OwnerConnection;
  /** Reads: read-only, on this thread. */
  private read!: Db;
  private owned: OwnedFile | null = null;
  private readonly appends: Pending[] = [];
  /**
   * Movements whose record is durable but whose seq is not committed to stock.db yet (it rides on
   * the next group commit): reads show that seq, and the forward does not pick them up again.
   */
  private readonly marking = new Map<string, number>();
  private appending = false;
  /** The group-commit loop (stop waits for it: forwarded marks still queued commit too). */
  private drained: Promise<void> = Promise.resolve();
  constructor(
    private readonly file: string,
    private readonly supervision?: OwnerSupervision,
  ) {}

  async start(): Promise<void> {
    this.owned = await openOwned(this.file, MIGRATIONS, { synchronous: 'FULL', ownThread: true, ...(this.supervision ? { supervision: this.supervision } : {}) });
    this.db = this.owned.conn;
    try {
      this.read = await openDb(this.file, { readonly: true });
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  async stop(): Promise<void> {
    await this.drained;
    await this.read?.close().catch(() => undefined);
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
    return this.enqueue({ moves, now, cursor, forwarded: [] }).then((r) => r.fresh!);
  }

  /**
   * `append`, and the levels (with their thresholds) of the GTINs it touched, read inside the same
   * transaction: the ops answer needs them, and a read of its own would be another statement after
   * the commit for every recording.
   */
  async appendRead(moves: readonly Omit<MovementRow, 'seq'>[], now: number): Promise<{ fresh: string[]; levels: Map<string, LevelAfter> }> {
    if (moves.length === 0) return { fresh: [], levels: new Map() };
    const r = await this.enqueue({ moves, now, forwarded: [], readBack: true });
    const levels = new Map<string, LevelAfter>();
    for (const m of moves) {
      const l = r.levels.get(m.gtin);
      if (l) levels.set(m.gtin, l);
    }
    return { fresh: r.fresh!, levels };
  }

  /**
   * Group commit: appends (and forwarded marks) that arrive while one commit is on the disk wait
   * for it and then share the next transaction and its fsync. With one commit per request, people
   * recording stock on several ops pages at once queued one fsync each. Each request is still all
   * or nothing: a failed transaction fails every request in it.
   */
  private enqueue(p: Omit<Pending, 'resolve' | 'reject'>): Promise<Committed> {
    return new Promise((resolve, reject) => {
      this.appends.push({ ...p, resolve, reject });
      if (!this.appending) {
        this.appending = true;
        this.drained = this.commitAppends();
      }
    });
  }

  private async commitAppends(): Promise<void> {
    while (this.appends.length > 0) {
      // Requests up to ~MAX_COMMIT_MOVES movements (at least one request) share a commit. A cap of
      // 64 requests held the ledger to 64 per fsync: on a disk taking 300 ms per fsync, ~200 a second.
      let n = 0;
      for (let moves = 0; n < this.appends.length && (n === 0 || moves + this.appends[n]!.moves.length + this.appends[n]!.forwarded.length <= MAX_COMMIT_MOVES); n++) moves += this.appends[n]!.moves.length + this.appends[n]!.forwarded.length;
      const group = this.appends.splice(0, n);
      const steps: Step[] = [];
      const gtins = new Set<string>();
      const counted = new Set<string>();
      for (const a of group) {
        for (const m of a.moves) {
          steps.push({ sql: 'INSERT OR IGNORE INTO movements (movement_id, gtin, kind, qty, uom, reason, event_time, record_time, actor, source_ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', rows: [[m.movementId, m.gtin, m.kind, m.qty, m.uom, m.reason, m.eventTime, m.recordTime, m.actor, m.sourceRef]] });
          gtins.add(m.gtin);
          if (m.kind === 'count') counted.add(m.gtin);
        }
      }
      if (counted.size) {
        const now = Math.max(...group.map((a) => a.now));
        steps.push({ sql: LEVEL_SQL, rows: [...counted].map((g) => [now, g, g]) });
      }
      for (const a of group) if (a.cursor) steps.push({ sql: 'INSERT INTO cursors (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)', rows: [[a.cursor.name, a.cursor.value]] });
      const marks = group.flatMap((a) => a.forwarded.map((d) => [d.seq, d.movementId]));
      if (marks.length) steps.push({ sql: 'UPDATE movements SET seq = ? WHERE movement_id = ?', rows: marks });
      const readBack = gtins.size > 0 && group.some((a) => a.readBack);
      if (readBack) steps.push({ sql: 'SELECT l.gtin, l.on_hand, t.low_below FROM levels l LEFT JOIN thresholds t ON t.gtin = l.gtin WHERE l.gtin = ?', rows: [...gtins].map((g) => [g]), mode: 'all' });
      try {
        const results = await this.db.steps(steps, true);
        const levels = new Map<string, LevelAfter>();
        if (readBack) for (const r of results[results.length - 1]!.rows as { gtin: string; on_hand: number; low_below: number | null }[]) levels.set(r.gtin, { onHand: r.on_hand, lowBelow: r.low_below });
        let i = 0;
        for (const a of group) a.resolve({ fresh: a.moves.length === 0 && !a.cursor ? null : a.moves.filter(() => results[i++]!.changes === 1).map((m) => m.movementId), levels });
      } catch (err) {
        for (const a of group) a.reject(err as Error);
      }
    }
    // Cleared in the same synchronous run as the emptiness check: a request queued after it starts a new loop.
    this.appending = false;
  }

  async cursor(name: string): Promise<number | null> {
    return (await this.read.get<{ value: number }>('SELECT value FROM cursors WHERE name = ?', [name]))?.value ?? null;
  }

  async level(gtin: string): Promise<LevelRow | null> {
    const r = await this.read.get<{ gtin: string; on_hand: number; counted_at: number | null; updated_at: number }>('SELECT gtin, on_hand, counted_at, updated_at FROM levels WHERE gtin = ?', [gtin]);
    return r ? { gtin: r.gtin, onHand: r.on_hand, countedAt: r.counted_at, updatedAt: r.updated_at } : null;
  }

  /** Every level changed at or after `sinceMs` (the stock report). A scan: on the writer thread, off the event loop. */
  async levels(sinceMs = 0): Promise<LevelRow[]> {
    const rows = await this.db.all<{ gtin: string; on_hand: number; counted_at: number | null; updated_at: number }>('SELECT gtin, on_hand, counted_at, updated_at FROM levels WHERE updated_at >= ? ORDER BY gtin', [sinceMs]);
    return rows.map((r) => ({ gtin: r.gtin, onHand: r.on_hand, countedAt: r.counted_at, updatedAt: r.updated_at }));
  }

  /** Levels under their threshold (per-item override, else `lowBelow`), lowest first. A scan: on the writer thread. */
  async lowLevels(lowBelow: number, limit: number): Promise<(LevelRow & { lowBelow: number })[]> {
    const rows = await this.db.all<{ gtin: string; on_hand: number; counted_at: number | null; updated_at: number; low_below: number }>(
      'SELECT l.gtin, l.on_hand, l.counted_at, l.updated_at, COALESCE(t.low_below, ?) AS low_below FROM levels l LEFT JOIN thresholds t ON t.gtin = l.gtin WHERE l.on_hand < COALESCE(t.low_below, ?) ORDER BY l.on_hand, l.gtin LIMIT ?',
      [lowBelow, lowBelow, limit],
    );
    return rows.map((r) => ({ gtin: r.gtin, onHand: r.on_hand, countedAt: r.counted_at, updatedAt: r.updated_at, lowBelow: r.low_below }));
  }

  async threshold(gtin: string): Promise<number | null> {
    return (await this.read.get<{ low_below: number }>('SELECT low_below FROM thresholds WHERE gtin = ?', [gtin]))?.low_below ?? null;
  }

  /** A per-item threshold; null removes it (the config default applies again). */
  async setThreshold(gtin: string, lowBelow: number | null): Promise<void> {
    if (lowBelow === null) await this.db.run('DELETE FROM thresholds WHERE gtin = ?', [gtin]);
    else await this.db.run('INSERT INTO thresholds (gtin, low_below) VALUES (?, ?) ON CONFLICT (gtin) DO UPDATE SET low_below = excluded.low_below', [gtin, lowBelow]);
  }

  /** The latest movements of a GTIN, newest event first (then the last one learned of). */
  async movements(gtin: string, limit: number): Promise<MovementRow[]> {
    return (await this.read.all<Raw>(`SELECT ${COLS} FROM movements WHERE gtin = ? ORDER BY event_time DESC, rowid DESC LIMIT ?`, [gtin, limit])).map(this.rowOf);
  }

  async movement(id: string): Promise<MovementRow | null> {
    const r = await this.read.get<Raw>(`SELECT ${COLS} FROM movements WHERE movement_id = ?`, [id]);
    return r ? this.rowOf(r) : null;
  }

  private readonly rowOf = (r: Raw): MovementRow => {
    const row = rowOf(r);
    if (row.seq === null) row.seq = this.marking.get(row.movementId) ?? null;
    return row;
  };

  /** Movements whose stockMove record is not written yet, oldest first. */
  async unforwarded(limit: number): Promise<MovementRow[]> {
    const rows = await this.read.all<Raw>(`SELECT ${COLS} FROM movements WHERE seq IS NULL ORDER BY record_time, movement_id LIMIT ?`, [limit + this.marking.size]);
    return rows.filter((r) => !this.marking.has(r.movement_id)).slice(0, limit).map(rowOf);
  }

  /**
   * Notes the seq of each movement's record, one transaction, through the group commit (under load
   * it shares the fsync of the appends waiting beside it). Until it commits, reads show the seq and
   * `unforwarded` leaves these movements out. Losing it to a crash costs nothing but a lookup: the
   * outbox keeps which movement each record was for, and the next forward finds the record there.
   */
  markForwarded(done: readonly { movementId: string; seq: number }[]): Promise<void> {
    if (done.length === 0) return Promise.resolve();
    for (const d of done) this.marking.set(d.movementId, d.seq);
    const forget = (): void => {
      for (const d of done) if (this.marking.get(d.movementId) === d.seq) this.marking.delete(d.movementId);
    };
    return this.enqueue({ moves: [], now: 0, forwarded: done }).then(forget, (err: Error) => {
      forget();
      throw err;
    });
  }

  // ---- expected deliveries (HQ's signed `deliveries` feed) ----------------------------------

  async deliveriesVersion(): Promise<number | undefined> {
    return (await this.read.get<{ version: number }>("SELECT version FROM delivery_feed WHERE scope = 'store'"))?.version;
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
    return (await this.read.all<{ body: string }>("SELECT body FROM deliveries WHERE status = 'open' ORDER BY delivery_id")).map((r) => JSON.parse(r.body) as DeliveryT);
  }

  async delivery(id: string): Promise<DeliveryT | null> {
    const r = await this.read.get<{ body: string }>("SELECT body FROM deliveries WHERE delivery_id = ? AND status = 'open'", [id]);
    return r ? (JSON.parse(r.body) as DeliveryT) : null;
  }

  /** Receipt movements booked against a delivery. */
  async movementsOf(sourceRef: string): Promise<MovementRow[]> {
    return (await this.read.all<Raw>(`SELECT ${COLS} FROM movements WHERE source_ref = ? ORDER BY rowid`, [sourceRef])).map(this.rowOf);
  }

  // ---- shelf zones (items/shelves.ts) ---------------------------------------------------------

  /** Every item a zone watches, with the start of its open SHELF_EMPTY episode (null: none). */
  async shelfWatch(): Promise<{ zone: string; gtin: string; openSince: number | null }[]> {
    return (await this.read.all<{ zone: string; gtin: string; open_since: number | null }>('SELECT zone, gtin, open_since FROM shelf_watch ORDER BY zone, gtin')).map((r) => ({ zone: r.zone, gtin: r.gtin, openSince: r.open_since }));
  }

  async watchShelfItems(items: readonly { zone: string; gtin: string }[]): Promise<void> {
    if (items.length) await this.db.steps([{ sql: 'INSERT OR IGNORE INTO shelf_watch (zone, gtin) VALUES (?, ?)', rows: items.map((i) => [i.zone, i.gtin]) }], true);
  }

  async setShelfEpisode(zone: string, gtin: string, openSince: number | null): Promise<void> {
    await this.db.run('INSERT INTO shelf_watch (zone, gtin, open_since) VALUES (?, ?, ?) ON CONFLICT (zone, gtin) DO UPDATE SET open_since = excluded.open_since', [zone, gtin, openSince]);
  }
}
