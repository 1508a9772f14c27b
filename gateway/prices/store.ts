/**
 * The prices repository (`prices.db` in data.dir, WAL, numbered migrations): catalog rows per feed
 * and scope, the applied version per (feed, scope), and the compact tracking row of every label.
 *
 * A feed is applied in ONE transaction together with its version row, so after a crash the file
 * holds the old catalog or the new one, never a mix. Writes run on a writer thread that owns the
 * file's write connection (db/owner.ts): a 60,000-row feed commits there while the event loop goes
 * on serving devices. Every write and every paged read goes through one queue, so a catalog read
 * in pages sees one version of it.
 */
import { openDb, migrate, type Db } from '../db/sqlite.js';
import type { Step } from '../db/owner.js';
import { LazyWriter } from '../db/lazyWriter.js';
import type { CatalogItemT, PriceRowT, PromotionT } from '../protocol/schemas/feeds/priceFeeds.js';
import type { FeedScope, ScopedRows } from './catalog.js';
import { prepareFeedRows, TABLES, type CatalogTable, type PreparedFeed, type PreparedTable, type TableSpec } from './feedRows.js';

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE feed_version (
     feed TEXT NOT NULL, scope TEXT NOT NULL, version INTEGER NOT NULL, issued_at TEXT NOT NULL,
     applied_at INTEGER NOT NULL, kid TEXT NOT NULL, PRIMARY KEY (feed, scope)
   ) WITHOUT ROWID;
   CREATE TABLE item (scope TEXT NOT NULL, gtin TEXT NOT NULL, ver INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (scope, gtin)) WITHOUT ROWID;
   CREATE TABLE price (scope TEXT NOT NULL, gtin TEXT NOT NULL, ver INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (scope, gtin)) WITHOUT ROWID;
   CREATE TABLE promotion (scope TEXT NOT NULL, id TEXT NOT NULL, ver INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (scope, id)) WITHOUT ROWID;
   CREATE TABLE member (scope TEXT NOT NULL, code TEXT NOT NULL, ver INTEGER NOT NULL, tier TEXT NOT NULL, PRIMARY KEY (scope, code)) WITHOUT ROWID;
   CREATE TABLE binding (scope TEXT NOT NULL, label_id TEXT NOT NULL, ver INTEGER NOT NULL, gtin TEXT NOT NULL, ap TEXT, PRIMARY KEY (scope, label_id)) WITHOUT ROWID;
   -- One compact row per label: last AP heard, target and acked content hash, state, retries.
   -- state: 0 pending, 1 sent, 2 acked, 3 failed.
   CREATE TABLE label_track (
     label_id TEXT PRIMARY KEY, ap TEXT, target TEXT, acked TEXT, state INTEGER NOT NULL,
     attempts INTEGER NOT NULL, next_at INTEGER NOT NULL, err TEXT
   ) WITHOUT ROWID`,
  // Shelf = till: the prices of content a label acknowledged that is no longer its target
  // (a pending label still shows it; a sale compares against it). One row per label, by content hash.
  `CREATE TABLE label_shown (
     label_id TEXT PRIMARY KEY, hash TEXT NOT NULL, price INTEGER NOT NULL, promo_price INTEGER, currency TEXT NOT NULL
   ) WITHOUT ROWID`,
  // 3: a member's status and revoked member QR credentials (JSON {status, revoked}; NULL = neither).
  `ALTER TABLE member ADD COLUMN state TEXT`,
];

export type RowPart = keyof ScopedRows;
export const ROW_PARTS: readonly RowPart[] = ['items', 'prices', 'promotions', 'members', 'bindings'];
/** Which parts of the catalog each feed writes. */
export const FEED_PARTS: Record<FeedApply['feed'], readonly RowPart[]> = { catalog: ['items'], prices: ['prices', 'promotions'], members: ['members'], labels: ['bindings'] };

export interface FeedVersionRow {
  feed: string;
  scope: FeedScope;
  version: number;
  issuedAt: string;
  appliedAt: number;
  kid: string;
}

/** A label_shown row: what content `hash` of a label shows (minor units). */
export interface ShownRow {
  labelId: string;
  hash: string;
  price: number;
  promoPrice: number | null;
  currency: string;
}

export interface TrackRow {
  labelId: string;
  ap: string | null;
  target: string | null;
  acked: string | null;
  state: number;
  attempts: number;
  nextAt: number;
  err: string | null;
}

/** One verified feed, ready to apply. */
export interface FeedApply {
  feed: 'catalog' | 'prices' | 'members' | 'labels';
  scope: FeedScope;
  version: number;
  issuedAt: string;
  kid: string;
  appliedAt: number;
  body: Record<string, unknown>;
}

/** The feed's identity and version row, without its body (applied through `PreparedFeed`). */
export type FeedApplyMeta = Omit<FeedApply, 'body'>;

/** Rows per page when reading the catalog back (see loadRows). */
const PAGE_ROWS = 1000;

export class PriceStore {
  /** The main thread's connection: reads, and the migrations at start. */
  private db!: Db;
  private writer: LazyWriter | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly file: string) {}

  async start(): Promise<void> {
    this.db = await openDb(this.file, { synchronous: 'FULL' });
    await migrate(this.db, MIGRATIONS);
    // Feeds arrive a few times a day: the writer thread runs around them, not all day.
    this.writer = new LazyWriter(this.file, { synchronous: 'FULL' });
  }

  async stop(): Promise<void> {
    await this.queue.catch(() => undefined);
    await this.writer?.stop();
    if (this.db) await this.db.close();
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  async versions(): Promise<FeedVersionRow[]> {
    const rows = await this.db.all<{ feed: string; scope: FeedScope; version: number; issued_at: string; applied_at: number; kid: string }>('SELECT * FROM feed_version');
    return rows.map((r) => ({ feed: r.feed, scope: r.scope, version: r.version, issuedAt: r.issued_at, appliedAt: r.applied_at, kid: r.kid }));
  }

  /** Applies a verified feed and records its version, all in one transaction. */
  applyFeed(f: FeedApply): Promise<void> {
    const { body, ...meta } = f;
    return this.applyPrepared(meta, prepareFeedRows(f.feed, body));
  }

  /** Applies a feed already turned into table writes (by the feed worker), with its version row. */
  applyPrepared(f: FeedApplyMeta, prepared: PreparedFeed): Promise<void> {
    const steps: Step[] = [];
    for (const t of prepared.tables) steps.push(...replaceSteps(TABLES[t.table], f, prepared.snapshot, t));
    steps.push({
      sql: `INSERT INTO feed_version (feed, scope, version, issued_at, applied_at, kid) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (feed, scope) DO UPDATE SET version = excluded.version, issued_at = excluded.issued_at, applied_at = excluded.applied_at, kid = excluded.kid`,
      rows: [[f.feed, f.scope, f.version, f.issuedAt, f.appliedAt, f.kid]],
    });
    return this.serial(async () => {
      await this.writer!.steps(steps, true);
    });
  }

  /**
   * Catalog rows of both scopes, of the given parts only (after a feed, only what it touched is
   * read again: a prices feed does not re-read 60k catalog items).
   *
   * Read in pages of PAGE_ROWS in key order, yielding to the event loop between pages: 60k rows
   * plus their JSON.parse in one go are a ~300 ms block of the main thread. The pages run in the
   * write queue, so no feed's transaction
   * can commit between two of them: the rows are one version of the catalog.
   */
  loadRows(parts: readonly RowPart[] = ROW_PARTS): Promise<Partial<ScopedRows>> {
    return this.serial(async () => {
      const out: Partial<ScopedRows> = {};
      for (const part of parts) {
        switch (part) {
          case 'items':
            out.items = await this.pages<{ scope: FeedScope; k: string; data: string }, ScopedRows['items'][number]>('item', 'gtin', 'data', (r) => ({ scope: r.scope, item: JSON.parse(r.data) as CatalogItemT }));
            break;
          case 'prices':
            out.prices = await this.pages<{ scope: FeedScope; k: string; data: string }, ScopedRows['prices'][number]>('price', 'gtin', 'data', (r) => ({ scope: r.scope, row: JSON.parse(r.data) as PriceRowT & { currency: string } }));
            break;
          case 'promotions':
            out.promotions = await this.pages<{ scope: FeedScope; k: string; data: string }, ScopedRows['promotions'][number]>('promotion', 'id', 'data', (r) => ({ scope: r.scope, promo: JSON.parse(r.data) as PromotionT }));
            break;
          case 'members':
            out.members = await this.pages<{ scope: FeedScope; k: string; tier: string; state: string | null }, ScopedRows['members'][number]>('member', 'code', 'tier, state', (r) => ({ scope: r.scope, code: r.k, tier: r.tier, ...memberState(r.state) }));
            break;
          case 'bindings':
            out.bindings = await this.pages<{ scope: FeedScope; k: string; gtin: string; ap: string | null }, ScopedRows['bindings'][number]>('binding', 'label_id', 'gtin, ap', (r) => ({
              scope: r.scope,
              labelId: r.k,
              gtin: r.gtin,
              ap: r.ap,
            }));
            break;
        }
      }
      return out;
    });
  }

  /** Every row of a catalog table in (scope, key) order, a page per query, a loop turn between pages. */
  private async pages<R extends { scope: FeedScope; k: string }, T>(table: CatalogTable, key: string, cols: string, map: (r: R) => T): Promise<T[]> {
    const out: T[] = [];
    let last: R | null = null;
    for (;;) {
      const rows: R[] =
        last === null
          ? await this.db.all<R>(`SELECT scope, ${key} AS k, ${cols} FROM ${table} ORDER BY scope, ${key} LIMIT ?`, [PAGE_ROWS])
          : await this.db.all<R>(`SELECT scope, ${key} AS k, ${cols} FROM ${table} WHERE (scope, ${key}) > (?, ?) ORDER BY scope, ${key} LIMIT ?`, [last.scope, last.k, PAGE_ROWS]);
      for (const r of rows) out.push(map(r));
      if (rows.length < PAGE_ROWS) return out;
      last = rows[rows.length - 1];
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  /** Per catalog table: how many rows carry which feed version (a mixed apply would show two). */
  async versionCensus(): Promise<Record<string, { scope: string; ver: number; rows: number }[]>> {
    const out: Record<string, { scope: string; ver: number; rows: number }[]> = {};
    for (const t of ['item', 'price', 'promotion', 'member', 'binding']) {
      out[t] = await this.db.all<{ scope: string; ver: number; rows: number }>(`SELECT scope, ver, count(*) AS rows FROM ${t} GROUP BY scope, ver ORDER BY scope, ver`);
    }
    return out;
  }

  async loadTracking(): Promise<TrackRow[]> {
    const rows = await this.db.all<{ label_id: string; ap: string | null; target: string | null; acked: string | null; state: number; attempts: number; next_at: number; err: string | null }>(
      'SELECT * FROM label_track',
    );
    return rows.map((r) => ({ labelId: r.label_id, ap: r.ap, target: r.target, acked: r.acked, state: r.state, attempts: r.attempts, nextAt: r.next_at, err: r.err }));
  }

  async loadShown(): Promise<ShownRow[]> {
    const rows = await this.db.all<{ label_id: string; hash: string; price: number; promo_price: number | null; currency: string }>('SELECT * FROM label_shown');
    return rows.map((r) => ({ labelId: r.label_id, hash: r.hash, price: r.price, promoPrice: r.promo_price, currency: r.currency }));
  }

  /**
   * Upserts tracking rows (and `shown` rows) in one transaction, a statement each;
   * `remove` deletes labels that are no longer bound.
   */
  saveTracking(rows: TrackRow[], remove: string[] = [], shown: ShownRow[] = []): Promise<void> {
    if (rows.length === 0 && remove.length === 0 && shown.length === 0) return Promise.resolve();
    const steps: Step[] = [];
    if (rows.length > 0) {
      steps.push({
        sql: `INSERT INTO label_track (label_id, ap, target, acked, state, attempts, next_at, err) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (label_id) DO UPDATE SET ap = excluded.ap, target = excluded.target, acked = excluded.acked, state = excluded.state,
               attempts = excluded.attempts, next_at = excluded.next_at, err = excluded.err`,
        rows: rows.map((r) => [r.labelId, r.ap, r.target, r.acked, r.state, r.attempts, r.nextAt, r.err]),
      });
    }
    if (shown.length > 0) {
      steps.push({
        sql: `INSERT INTO label_shown (label_id, hash, price, promo_price, currency) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (label_id) DO UPDATE SET hash = excluded.hash, price = excluded.price, promo_price = excluded.promo_price, currency = excluded.currency`,
        rows: shown.map((r) => [r.labelId, r.hash, r.price, r.promoPrice, r.currency]),
      });
    }
    if (remove.length > 0) {
      steps.push({ sql: 'DELETE FROM label_track WHERE label_id = ?', rows: remove.map((id) => [id]) });
      steps.push({ sql: 'DELETE FROM label_shown WHERE label_id = ?', rows: remove.map((id) => [id]) });
    }
    return this.serial(async () => {
      await this.writer!.steps(steps, true);
    });
  }

  /** Bytes the label_track b-tree occupies on disk (SQLite dbstat), and its row count. */
  async trackingFootprint(): Promise<{ bytes: number; rows: number }> {
    const s = await this.db.get<{ bytes: number | null }>("SELECT SUM(pgsize) AS bytes FROM dbstat WHERE name = 'label_track'");
    const c = await this.db.get<{ n: number }>('SELECT count(*) AS n FROM label_track');
    return { bytes: s?.bytes ?? 0, rows: c?.n ?? 0 };
  }
}

/**
 * A feed's writes to one catalog table: clear the scope (a snapshot) or remove the listed keys,
 * then upsert its rows. The rows arrive as one JSON array text from the feed worker and SQLite
 * unpacks them (json_each): one statement per table, ~250k rows/s, every value bound. Table and
 * column names come from the table specs (code), never from the feed.
 */
function replaceSteps(t: TableSpec, f: FeedApplyMeta, snapshot: boolean, p: PreparedTable): Step[] {
  const out: Step[] = [];
  if (snapshot) out.push({ sql: `DELETE FROM ${t.table} WHERE scope = ?`, rows: [[f.scope]] });
  else if (p.remove !== null) out.push({ sql: `DELETE FROM ${t.table} WHERE scope = ?1 AND ${t.key} IN (SELECT value FROM json_each(?2))`, rows: [[f.scope, p.remove]] });
  if (p.rows === null) return out;
  const cols = t.cols.map((c) => c.name);
  out.push({
    sql: `INSERT INTO ${t.table} (scope, ${t.key}, ver, ${cols.join(', ')})
       SELECT ?1, value->>'${t.keyField}', ?2, ${t.cols.map((c) => c.expr).join(', ')} FROM json_each(?3) WHERE true
       ON CONFLICT (scope, ${t.key}) DO UPDATE SET ver = excluded.ver, ${cols.map((c) => `${c} = excluded.${c}`).join(', ')}`,
    rows: [[f.scope, f.version, p.rows]],
  });
  return out;
}

/** The member row's `state` column → its optional fields (written by feedRows.ts from a checked feed). */
function memberState(state: string | null): { status?: string; revoked?: string[] } {
  if (state === null) return {};
  const v = JSON.parse(state) as { status: string | null; revoked: string[] | null };
  return { ...(v.status !== null ? { status: v.status } : {}), ...(v.revoked !== null ? { revoked: v.revoked } : {}) };
}
