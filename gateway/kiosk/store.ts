/**
 * Kiosk repository (kiosk.db, WAL, synchronous FULL): each kiosk's current session, so a restarted
 * gateway resumes the cart, and every payment request, written before the charge is sent, so an
 * approved payment always ends in a sale or an attendant alert. The sales ledger
 * is the kiosk's own answer to "is this payment's sale recorded": one row per payment request,
 * written with the payment's `recorded` status in one transaction, kept whatever the uplink does.
 */
import { openOwned, type OwnedFile, type OwnerConnection, type Step } from '../db/owner.js';
import type { Session } from './sessionMachine.js';
import type { OnlineOrderT, OrderRow, OrderStatus, OrdersBodyT } from './orders.js';
import type { HandoverRow, HandoverState } from './handovers.js';
import { POINTS_MIGRATION, pointsLedgerSteps } from './pointsStore.js';
import { SERIALS_MIGRATION, SerialStore, soldSerialSteps } from './serialStore.js';
import { VOIDS_MIGRATION, VoidStore } from './voidStore.js';

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE sessions (
     kiosk_id TEXT PRIMARY KEY, session_id TEXT NOT NULL, version INTEGER NOT NULL, state TEXT NOT NULL, updated_at INTEGER NOT NULL
   );
   CREATE TABLE payments (
     request_id TEXT PRIMARY KEY, kiosk_id TEXT NOT NULL, session_id TEXT NOT NULL, amount INTEGER NOT NULL,
     status TEXT NOT NULL, from_seq INTEGER NOT NULL, auth_code TEXT, transaction_seq INTEGER,
     created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
   );
   CREATE INDEX payments_open ON payments (status) WHERE status IN ('sent', 'approved')`,
  // 2: click & collect orders from HQ's signed `orders` feed; kept once collected (a code used twice is refused).
  `CREATE TABLE orders (
     order_id TEXT PRIMARY KEY, pickup_code TEXT NOT NULL UNIQUE, body TEXT NOT NULL, status TEXT NOT NULL,
     kiosk_id TEXT, from_seq INTEGER, record_seq INTEGER, collected_at INTEGER, updated_at INTEGER NOT NULL
   );
   CREATE TABLE order_feed (scope TEXT PRIMARY KEY, version INTEGER NOT NULL, applied_at INTEGER NOT NULL)`,
  // 3: a collected order is a task for the store until a person hands it over. `handover`
  // is NULL (no task: orders collected before this migration too), 'open', 'handing' (who and when
  // are kept, the record is being written) or 'done'; `handover_from_seq` is the outbox seq before it.
  `ALTER TABLE orders ADD COLUMN handover TEXT;
   ALTER TABLE orders ADD COLUMN handover_by TEXT;
   ALTER TABLE orders ADD COLUMN handover_at INTEGER;
   ALTER TABLE orders ADD COLUMN handover_from_seq INTEGER;
   ALTER TABLE orders ADD COLUMN handover_seq INTEGER;
   CREATE INDEX orders_handover_open ON orders (handover) WHERE handover IN ('open', 'handing')`,
  // 4: the sales ledger; seq is the outbox record's once the sale is forwarded there.
  `CREATE TABLE sales (
     request_id TEXT PRIMARY KEY, transaction_id TEXT NOT NULL UNIQUE, kiosk_id TEXT NOT NULL, record TEXT NOT NULL,
     seq INTEGER, recorded_at INTEGER NOT NULL, forwarded_at INTEGER
   );
   CREATE INDEX sales_unforwarded ON sales (recorded_at) WHERE seq IS NULL`,
  // 5: the card terminal's customer receipt of the sale's payment (a JSON array of lines), for the shopper's receipt.
  `ALTER TABLE sales ADD COLUMN terminal_receipt TEXT`,
  // 6: member QR presentations used (credId:nonce), kept until their time window has passed, so a
  // replay is refused at any kiosk of the store and after a restart.
  `CREATE TABLE member_uses (use_key TEXT PRIMARY KEY, kiosk_id TEXT NOT NULL, used_at INTEGER NOT NULL, keep_until INTEGER NOT NULL) WITHOUT ROWID;
   CREATE INDEX member_uses_keep ON member_uses (keep_until)`,
  // 7: loyalty points: the store's own changes (one row per sale and kind, written with the sale;
  // seq once its pointsChange record is in the outbox), and the applied `loyalty` feed: its rules
  // per scope and HQ's last balance per member.
  POINTS_MIGRATION,
  // 8: serialised items: the serials sold (with their sale), flagged by HQ, exempted from the exit gate (serialStore.ts).
  SERIALS_MIGRATION,
  // 9: coupons (coupons/couponStore.ts): HQ's `coupons` feed (definitions, revocations, per scope)
  // and every single-use coupon serial this store took: `reserved` by a cart (before any payment),
  // `used` in the transaction that commits the sale; a reservation released is deleted. Each
  // member's coupon uses (for a coupon's `maxPerMember`), written in the sale's commit too.
  `CREATE TABLE coupon_defs (scope TEXT NOT NULL, coupon_id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (scope, coupon_id)) WITHOUT ROWID;
   CREATE TABLE coupon_revoked (scope TEXT NOT NULL, coupon_id TEXT NOT NULL, serial TEXT NOT NULL, reason TEXT NOT NULL, PRIMARY KEY (scope, coupon_id, serial)) WITHOUT ROWID;
   CREATE TABLE coupon_feed (scope TEXT PRIMARY KEY, version INTEGER NOT NULL, applied_at INTEGER NOT NULL);
   CREATE TABLE coupon_uses (
     use_key TEXT PRIMARY KEY, coupon_id TEXT NOT NULL, serial TEXT NOT NULL, status TEXT NOT NULL, kiosk_id TEXT NOT NULL,
     session_id TEXT NOT NULL, transaction_id TEXT, amount INTEGER, reserved_at INTEGER NOT NULL, used_at INTEGER
   ) WITHOUT ROWID;
   CREATE INDEX coupon_uses_reserved ON coupon_uses (session_id) WHERE status = 'reserved';
   CREATE TABLE coupon_member_uses (coupon_id TEXT NOT NULL, member TEXT NOT NULL, transaction_id TEXT NOT NULL, used_at INTEGER NOT NULL, PRIMARY KEY (coupon_id, member, transaction_id)) WITHOUT ROWID`,
  // 10: a coupon's `maxPerMember` held per cart (coupons/couponStore.ts holdForMember): counted
  // with the member's uses and taken in one statement, so two kiosks cannot both take the last use.
  // A hold goes in the sale's commit (the use replaces it) or when the cart drops the coupon.
  `CREATE TABLE coupon_member_holds (coupon_id TEXT NOT NULL, member TEXT NOT NULL, session_id TEXT NOT NULL, kiosk_id TEXT NOT NULL, held_at INTEGER NOT NULL, PRIMARY KEY (coupon_id, member, session_id)) WITHOUT ROWID;
   CREATE INDEX coupon_member_holds_session ON coupon_member_holds (session_id)`,
  // 11: sales voided after they completed (voidStore.ts): one row per transaction and its last step done.
  VOIDS_MIGRATION,
];

/** `reversed`: approved for another amount or currency, or after its sale was voided, and given back. */
export type PaymentRowStatus = 'sent' | 'approved' | 'recorded' | 'declined' | 'timeout' | 'cancelled' | 'reversed';

/** One sale in the ledger: the exact record as committed, and where it went in the outbox. */
export interface SaleRow {
  requestId: string;
  transactionId: string;
  kioskId: string;
  record: Record<string, unknown>;
  seq: number | null;
  /** The terminal's customer receipt lines, when it sent them. */
  terminalReceipt: string[] | null;
}

export interface PaymentRow {
  requestId: string;
  kioskId: string;
  sessionId: string;
  amount: number;
  status: PaymentRowStatus;
  /** The outbox seq when the charge was sent: its result, if committed, is after it. */
  fromSeq: number;
  authCode: string | null;
  transactionSeq: number | null;
}

export class KioskStore {
  /**
   * The file's one connection, held by its writer thread (db/owner.ts), for reads and writes
   * alike: it answers one request at a time in the order sent, so a session save never joins or
   * waits inside the orders feed's transaction, and its fsync (synchronous FULL) never blocks the
   * event loop. The kiosk reads little (at start, per payment), so reads pay the round trip too.
   */
  private db!: OwnerConnection;
  private owned: OwnedFile | null = null;
  /** Serials sold, flagged and exempted, on the same connection (their writes join the sale's). */
  readonly serials = new SerialStore(() => this.db);
  /** Voided sales, on the same connection (a void's commit releases the sale's serials). */
  readonly voids = new VoidStore(() => this.db);
  constructor(private readonly file: string) {}

  async start(): Promise<void> {
    const f = await openOwned(this.file, MIGRATIONS, { synchronous: 'FULL' });
    this.owned = f;
    this.db = f.conn;
  }

  /** The file's connection, for the repositories of tables it holds (pointsStore.ts, coupons/couponStore.ts). */
  get connection(): OwnerConnection {
    return this.db;
  }

  async stop(): Promise<void> {
    await this.owned?.close();
    this.owned = null;
  }

  async loadSessions(): Promise<Session[]> {
    const rows = await this.db.all<{ state: string }>('SELECT state FROM sessions');
    return rows.map((r) => JSON.parse(r.state) as Session);
  }

  async saveSession(s: Session, now: number): Promise<void> {
    await this.write(
      `INSERT INTO sessions (kiosk_id, session_id, version, state, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (kiosk_id) DO UPDATE SET session_id = excluded.session_id, version = excluded.version, state = excluded.state, updated_at = excluded.updated_at`,
      [s.kioskId, s.sessionId, s.version, JSON.stringify(s), now],
    );
  }

  async insertPayment(p: PaymentRow, now: number): Promise<void> {
    await this.write(
      'INSERT INTO payments (request_id, kiosk_id, session_id, amount, status, from_seq, auth_code, transaction_seq, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [p.requestId, p.kioskId, p.sessionId, p.amount, p.status, p.fromSeq, p.authCode, p.transactionSeq, now, now],
    );
  }

  async updatePayment(requestId: string, status: PaymentRowStatus, now: number, fields: { authCode?: string; transactionSeq?: number } = {}): Promise<void> {
    await this.write('UPDATE payments SET status = ?, auth_code = COALESCE(?, auth_code), transaction_seq = COALESCE(?, transaction_seq), updated_at = ? WHERE request_id = ?', [
      status,
      fields.authCode ?? null,
      fields.transactionSeq ?? null,
      now,
      requestId,
    ]);
  }

  /** Payments sent whose result is unknown, or approved whose sale is not yet recorded. */
  async openPayments(): Promise<PaymentRow[]> {
    return this.payments("status IN ('sent', 'approved')");
  }

  async payment(requestId: string): Promise<PaymentRow | null> {
    return (await this.payments('request_id = ?', [requestId]))[0] ?? null;
  }

  private async payments(where: string, params: unknown[] = []): Promise<PaymentRow[]> {
    const rows = await this.db.all<{ request_id: string; kiosk_id: string; session_id: string; amount: number; status: PaymentRowStatus; from_seq: number; auth_code: string | null; transaction_seq: number | null }>(
      `SELECT request_id, kiosk_id, session_id, amount, status, from_seq, auth_code, transaction_seq FROM payments WHERE ${where} ORDER BY created_at`,
      params,
    );
    return rows.map((r) => ({ requestId: r.request_id, kioskId: r.kiosk_id, sessionId: r.session_id, amount: r.amount, status: r.status, fromSeq: r.from_seq, authCode: r.auth_code, transactionSeq: r.transaction_seq }));
  }

  // ---- sales ledger ------------------------------------------------------------------

  /**
   * The commit point of a sale: the ledger row and the payment's `recorded` status in one
   * transaction, with the serials of its lines (and `alsoSteps`). Idempotent on the request id (a
   * second call changes nothing and returns false).
   */
  async commitSale(sale: { requestId: string; transactionId: string; kioskId: string; record: { transactionId: string; kioskId: string; lines: readonly { gtin: string; serials?: readonly string[] }[] }; authCode: string; terminalReceipt?: string[] }, now: number, alsoSteps: readonly Step[] = []): Promise<boolean> {
    const receipt = sale.terminalReceipt ? JSON.stringify(sale.terminalReceipt) : null;
    const [ins] = await this.db.steps(
      [
        { sql: 'INSERT OR IGNORE INTO sales (request_id, transaction_id, kiosk_id, record, recorded_at, terminal_receipt) VALUES (?, ?, ?, ?, ?, ?)', rows: [[sale.requestId, sale.transactionId, sale.kioskId, JSON.stringify(sale.record), now, receipt]] },
        { sql: "UPDATE payments SET status = 'recorded', auth_code = COALESCE(?, auth_code), updated_at = ? WHERE request_id = ?", rows: [[sale.authCode, now, sale.requestId]] },
        // The sale's points changes commit with it: a crash leaves both or neither.
        ...pointsLedgerSteps(sale.transactionId, sale.kioskId, sale.record, now),
        ...soldSerialSteps(sale.record, now),
        // What else the sale makes final, in the same commit (the coupons it used: coupons/couponStore.ts).
        ...alsoSteps,
      ],
      true,
    );
    return ins!.changes === 1;
  }

  async markForwarded(requestId: string, seq: number, now: number): Promise<void> {
    await this.write('UPDATE sales SET seq = ?, forwarded_at = ? WHERE request_id = ?', [seq, now, requestId]);
    await this.write("UPDATE payments SET transaction_seq = ? WHERE request_id = ?", [seq, requestId]);
  }

  async sale(requestId: string): Promise<SaleRow | null> {
    return (await this.sales('request_id = ?', [requestId]))[0] ?? null;
  }

  /** Per GTIN, how many sale lines the ledger holds from `sinceMs` on (the produce lookup's most-sold order). */
  async soldLines(sinceMs: number): Promise<Map<string, number>> {
    const rows = await this.db.all<{ gtin: string; n: number }>(
      "SELECT json_extract(l.value, '$.gtin') AS gtin, COUNT(*) AS n FROM sales, json_each(sales.record, '$.lines') AS l WHERE sales.recorded_at >= ? GROUP BY gtin",
      [sinceMs],
    );
    return new Map(rows.filter((r) => typeof r.gtin === 'string').map((r) => [r.gtin, r.n]));
  }

  /** Sales recorded at or after `sinceMs`, oldest first, at most `limit` (the stock ledger's catch-up). */
  async salesRecordedSince(sinceMs: number, limit: number): Promise<{ record: Record<string, unknown>; recordedAt: number }[]> {
    const rows = await this.db.all<{ record: string; recorded_at: number }>('SELECT record, recorded_at FROM sales WHERE recorded_at >= ? ORDER BY recorded_at LIMIT ?', [sinceMs, limit]);
    return rows.map((r) => ({ record: JSON.parse(r.record) as Record<string, unknown>, recordedAt: r.recorded_at }));
  }

  /** Click & collect orders still to be collected (they reserve stock). */
  openOrders(): Promise<OrderRow[]> {
    return this.orders("status IN ('ready', 'collecting')", []);
  }

  /** Sales in the ledger whose record is not yet known to be in the outbox. */
  unforwardedSales(): Promise<SaleRow[]> {
    return this.sales('seq IS NULL');
  }

  private async sales(where: string, params: unknown[] = []): Promise<SaleRow[]> {
    const rows = await this.db.all<{ request_id: string; transaction_id: string; kiosk_id: string; record: string; seq: number | null; terminal_receipt: string | null }>(`SELECT request_id, transaction_id, kiosk_id, record, seq, terminal_receipt FROM sales WHERE ${where} ORDER BY recorded_at`, params);
    return rows.map((r) => ({ requestId: r.request_id, transactionId: r.transaction_id, kioskId: r.kiosk_id, record: JSON.parse(r.record) as Record<string, unknown>, seq: r.seq, terminalReceipt: r.terminal_receipt === null ? null : (JSON.parse(r.terminal_receipt) as string[]) }));
  }

  /** One statement in its own transaction on the writer thread; resolves with the rows it changed. */
  private write(sql: string, params: unknown[]): Promise<{ changes: number }> {
    return this.db.run(sql, params);
  }

  // ---- member QR presentations -----------------------------------------------------------------

  /**
   * Marks a presentation used, durably (synchronous FULL) before the member is applied; false when
   * it was used before (a replay). Also forgets the uses whose window has passed.
   */
  async useMemberPresentation(useKey: string, kioskId: string, now: number, keepUntil: number): Promise<boolean> {
    const [, ins] = await this.db.steps(
      [
        { sql: 'DELETE FROM member_uses WHERE keep_until < ?', rows: [[now]] },
        { sql: 'INSERT OR IGNORE INTO member_uses (use_key, kiosk_id, used_at, keep_until) VALUES (?, ?, ?, ?)', rows: [[useKey, kioskId, now, keepUntil]] },
      ],
      true,
    );
    return ins!.changes === 1;
  }

  // ---- click & collect orders ------------------------------------------------------------------

  async ordersVersion(): Promise<number | undefined> {
    return (await this.db.all<{ version: number }>("SELECT version FROM order_feed WHERE scope = 'store'"))[0]?.version;
  }

  /** Applies one verified `orders` feed in one transaction; collected or collecting orders are never touched. */
  async applyOrders(version: number, body: OrdersBodyT, now: number): Promise<void> {
    const steps: Step[] = [];
    if (body.mode === 'snapshot') steps.push({ sql: "UPDATE orders SET status = 'removed', updated_at = ? WHERE status = 'ready'", rows: [[now]] });
    if (body.remove?.length) steps.push({ sql: "UPDATE orders SET status = 'removed', updated_at = ? WHERE order_id = ? AND status = 'ready'", rows: body.remove.map((id) => [now, id]) });
    if (body.orders.length > 0) {
      steps.push({
        sql: `INSERT INTO orders (order_id, pickup_code, body, status, updated_at) VALUES (?, ?, ?, 'ready', ?)
           ON CONFLICT (order_id) DO UPDATE SET pickup_code = excluded.pickup_code, body = excluded.body, status = 'ready', updated_at = excluded.updated_at
           WHERE orders.status IN ('ready', 'removed')`,
        rows: body.orders.map((o) => [o.orderId, o.pickupCode, JSON.stringify(o), now]),
      });
    }
    steps.push({ sql: "INSERT INTO order_feed (scope, version, applied_at) VALUES ('store', ?, ?) ON CONFLICT (scope) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at", rows: [[version, now]] });
    await this.db.steps(steps, true);
  }

  async orderByCode(code: string): Promise<OrderRow | null> {
    return (await this.orders('pickup_code = ?', [code]))[0] ?? null;
  }

  async order(orderId: string): Promise<OrderRow | null> {
    return (await this.orders('order_id = ?', [orderId]))[0] ?? null;
  }

  /** ready → collecting for one kiosk; false when another kiosk (or an earlier scan) got there first. */
  async claimOrder(orderId: string, kioskId: string, fromSeq: number, now: number): Promise<boolean> {
    const r = await this.write("UPDATE orders SET status = 'collecting', kiosk_id = ?, from_seq = ?, updated_at = ? WHERE order_id = ? AND status = 'ready'", [kioskId, fromSeq, now, orderId]);
    return r.changes === 1;
  }

  async finishOrder(orderId: string, status: 'collected' | 'ready', now: number, recordSeq: number | null = null): Promise<void> {
    // Collected: the order becomes an open hand-over task in the same statement.
    await this.write(`UPDATE orders SET status = ?, record_seq = ?, collected_at = ?, kiosk_id = ${status === 'ready' ? 'NULL' : 'kiosk_id'}, handover = ${status === 'collected' ? "COALESCE(handover, 'open')" : 'handover'}, updated_at = ? WHERE order_id = ?`, [status, recordSeq, status === 'collected' ? now : null, now, orderId]);
  }

  /** Orders a crash left between claim and record: the caller looks for their record in the outbox. */
  async collectingOrders(): Promise<(OrderRow & { fromSeq: number })[]> {
    const rows = await this.db.all<{ order_id: string; from_seq: number }>("SELECT order_id, from_seq FROM orders WHERE status = 'collecting'");
    const out = [];
    for (const r of rows) out.push({ ...(await this.order(r.order_id))!, fromSeq: r.from_seq });
    return out;
  }

  private async orders(where: string, params: unknown[]): Promise<OrderRow[]> {
    const rows = await this.db.all<{ body: string; status: OrderStatus; kiosk_id: string | null; collected_at: number | null }>(`SELECT body, status, kiosk_id, collected_at FROM orders WHERE ${where}`, params);
    return rows.map((r) => ({ order: JSON.parse(r.body) as OnlineOrderT, status: r.status, kioskId: r.kiosk_id, collectedAt: r.collected_at }));
  }

  // ---- click & collect hand-over ----------------------------------------------------

  /** Collected orders in these hand-over states, longest waiting first. */
  async handovers(states: readonly HandoverState[]): Promise<HandoverRow[]> {
    return this.handoverRows(`handover IN (${states.map(() => '?').join(', ')}) ORDER BY collected_at, order_id`, [...states]);
  }

  async handover(orderId: string): Promise<HandoverRow | null> {
    return (await this.handoverRows('order_id = ? AND handover IS NOT NULL', [orderId]))[0] ?? null;
  }

  /** open → handing with who and when, durable before the record is written; false when not open (one of two tabs). */
  async claimHandover(orderId: string, by: string, at: number, fromSeq: number): Promise<boolean> {
    const r = await this.write("UPDATE orders SET handover = 'handing', handover_by = ?, handover_at = ?, handover_from_seq = ?, updated_at = ? WHERE order_id = ? AND handover = 'open'", [by, at, fromSeq, at, orderId]);
    return r.changes === 1;
  }

  /** handing → done (`seq` of the record, null when it cannot be told) or back to open (the record failed). */
  async finishHandover(orderId: string, outcome: { seq: number | null } | 'reopen', now: number): Promise<void> {
    if (outcome === 'reopen') await this.write("UPDATE orders SET handover = 'open', handover_by = NULL, handover_at = NULL, handover_from_seq = NULL, updated_at = ? WHERE order_id = ? AND handover = 'handing'", [now, orderId]);
    else await this.write("UPDATE orders SET handover = 'done', handover_seq = ?, updated_at = ? WHERE order_id = ? AND handover = 'handing'", [outcome.seq, now, orderId]);
  }

  private async handoverRows(where: string, params: unknown[]): Promise<HandoverRow[]> {
    const rows = await this.db.all<{ body: string; kiosk_id: string | null; collected_at: number | null; handover: HandoverState; handover_by: string | null; handover_at: number | null; handover_from_seq: number | null; handover_seq: number | null }>(
      `SELECT body, kiosk_id, collected_at, handover, handover_by, handover_at, handover_from_seq, handover_seq FROM orders WHERE ${where}`,
      params,
    );
    return rows.map((r) => {
      const o = JSON.parse(r.body) as OnlineOrderT;
      return { order: o, kioskId: r.kiosk_id ?? '', collectedAt: r.collected_at ?? 0, state: r.handover, by: r.handover_by, at: r.handover_at, fromSeq: r.handover_from_seq, seq: r.handover_seq };
    });
  }
}
