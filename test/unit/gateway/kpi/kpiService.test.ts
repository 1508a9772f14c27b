/**
 * KPI service over real SQLite files: the counters commit in the outbox's group
 * transaction, so they are on disk as soon as the group is (no flush, nothing to lose to a
 * SIGKILL), a group that fails to commit counts nothing, members seen before a restart still make
 * a repeat, old days are read from disk, and kpi.db's counters from before move over once.
 * The clock is injected.
 */
import { afterEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import { createLogger } from '../../../../gateway/log.js';
import { KpiStore } from '../../../../gateway/kpi/kpiStore.js';
import { KpiService } from '../../../../gateway/kpi/kpiService.js';
import { KpiCounters } from '../../../../gateway/kpi/kpiCounters.js';
import { AlertBook } from '../../../../gateway/kpi/alertBook.js';
import { OutboxStore, type NewEvent } from '../../../../gateway/outbox/store.js';
import { openDb } from '../../../../gateway/db/sqlite.js';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { memberHash } from '../../../../gateway/kpi/kpis.js';
import { tempDir } from '../../../helpers/tmp.js';

const log = createLogger({ level: 'silent' });
const NOW = Date.parse('2026-11-25T15:00:00.000Z');
let tmp: ReturnType<typeof tempDir> | null = null;
afterEach(() => tmp?.remove());

async function open(dir: string, now = () => NOW) {
  const outbox = new OutboxStore(path.join(dir, 'outbox.db'));
  await outbox.start();
  const store = new KpiStore(path.join(dir, 'kpi.db'));
  await store.start();
  const kpis = new KpiService({ counters: new KpiCounters(outbox.database), legacy: store, lastSeq: () => outbox.lastSeq(), storeId: 's1', timezone: 'Europe/Berlin', memberKeyFile: path.join(dir, 'member-hash.key'), log, now });
  await kpis.start();
  outbox.companion = kpis;
  return {
    outbox,
    store,
    kpis,
    /** One committed group, as ingest appends it. */
    async append(...events: NewEvent[]) {
      const r = await outbox.appendGroup(events, [], 'boot-1');
      if (r.events) throw r.events;
    },
    async close() {
      await kpis.stop();
      await store.stop();
      await outbox.stop();
    },
  };
}

let seq = 0;
const row = (kind: NewEvent['kind'], type: string, ts: string, data: object): NewEvent => ({ seq: ++seq, cls: kind === 'kiosk' ? 'exact' : 'aggregate', kind, deviceId: 'd1', type, ts, recvTs: NOW, monoMs: 0, data: JSON.stringify({ ts, ...data }) });
const sale = (total: number, member: string | null, ts = '2026-11-25T14:10:00.000Z') => row('kiosk', 'transaction', ts, { total, currency: 'EUR', ...(member ? { memberCode: member } : {}) });
const visitors = (n: number, ts = '2026-11-25T14:05:00.000Z') => row('footfall', 'count', ts, { in: n, out: 0 });

describe('KpiService', () => {
  it('has a group\'s counts on disk once the group committed: a reopened file shows them without any stop or flush', async () => {
    tmp = tempDir('sgw-kpi-');
    const a = await open(tmp.dir);
    const changes: number[] = [];
    a.kpis.onChange((t) => changes.push(t.totals.visitors));
    await a.append(visitors(20), row('scale', 'weight', '2026-11-25T14:05:00.000Z', { grams: 5, stable: true }));
    const first = sale(1000, 'M-1');
    await a.append(first);
    expect(changes).toEqual([20, 20]);
    // A second process on the same files, while the first never stopped (as after a SIGKILL).
    const b = await open(tmp.dir);
    expect(b.kpis.today().totals).toMatchObject({ visitors: 20, transactions: 1, sales: 1000, memberTransactions: 1, repeatTransactions: 0 });
    expect(b.kpis.kpiSnapshot().lastSeq).toBe(first.seq);
    await b.close();
    await a.close();
  });

  it('counts nothing of a group that did not commit (its rows are not stored either)', async () => {
    tmp = tempDir('sgw-kpi-');
    const a = await open(tmp.dir);
    const stored = visitors(3);
    await a.append(stored);
    // The same seq again: the INSERT fails, the whole transaction with its counts rolls back.
    const dup = { ...visitors(50), seq: stored.seq };
    expect((await a.outbox.appendGroup([dup, sale(700, 'M-9')], [], 'boot-1')).events).toBeInstanceOf(Error);
    expect(a.kpis.today().totals).toMatchObject({ visitors: 3, transactions: 0 });
    await a.close();
    const b = await open(tmp.dir);
    expect(b.kpis.today().totals).toMatchObject({ visitors: 3, transactions: 0, memberTransactions: 0 });
    await b.append(sale(700, 'M-9')); // M-9's failed sale did not make it a known member
    expect(b.kpis.today().totals).toMatchObject({ transactions: 1, memberTransactions: 1, repeatTransactions: 0 });
    await b.close();
  });

  it('keeps the members across a restart: a member seen before is a repeat', async () => {
    tmp = tempDir('sgw-kpi-');
    const a = await open(tmp.dir);
    await a.append(visitors(20), sale(1000, 'M-1'));
    await a.close();
    const b = await open(tmp.dir);
    await b.append(sale(3000, 'M-1'));
    const t = b.kpis.today();
    expect(t.day).toBe('2026-11-25');
    expect(t.hours[15]).toMatchObject({ visitors: 20, transactions: 2, sales: 4000 }); // 14:xxZ is 15:xx in Berlin
    expect(t.totals).toMatchObject({ transactions: 2, repeatTransactions: 1, repeatRate: 0.5, conversion: 0.1, averageBasket: 2000 });
    expect(b.kpis.kpiSnapshot()).toMatchObject({ storeId: 's1', lastSeq: seq, generatedAt: new Date(NOW).toISOString(), totals: t.totals });
    await b.close();
  });

  it('reads a day outside the memory window from outbox.db', async () => {
    tmp = tempDir('sgw-kpi-');
    const a = await open(tmp.dir);
    await a.append(visitors(5, '2026-11-24T08:00:00.000Z'));
    await a.close();
    const later = await open(tmp.dir, () => NOW + 10 * 86_400_000);
    expect((await later.kpis.day('2026-11-24')).totals.visitors).toBe(5);
    expect(later.kpis.today().totals.visitors).toBe(0);
    await later.close();
  });

  it('moves the counters an older kpi.db held into outbox.db once', async () => {
    tmp = tempDir('sgw-kpi-');
    const old = new KpiStore(path.join(tmp.dir, 'kpi.db'));
    await old.start();
    await old.stop();
    const db = await openDb(path.join(tmp.dir, 'kpi.db'));
    await db.run('INSERT INTO kpi_hour VALUES (?, ?, ?, ?, ?, ?, ?)', ['2026-11-25', 9, 40, 3, 4500, 1, 0]);
    // What older gateways stored: SHA-256 of the code, no key.
    await db.run('INSERT INTO kpi_member VALUES (?, ?)', [createHash('sha256').update('storegw-member:M-1').digest('hex'), 7]);
    await db.run("INSERT INTO kpi_meta VALUES ('currency', 'EUR'), ('lastSeq', '9')");
    await db.close();
    const a = await open(tmp.dir);
    expect(a.kpis.today().totals).toMatchObject({ visitors: 40, transactions: 3, sales: 4500 });
    expect(a.kpis.today().currency).toBe('EUR');
    await a.append(sale(500, 'M-1')); // known from kpi.db: a repeat
    expect(a.kpis.today().totals).toMatchObject({ transactions: 4, repeatTransactions: 1 });
    expect((await a.store.legacyCounters()).hours).toEqual([]);
    await a.close();
    const b = await open(tmp.dir); // not added a second time
    expect(b.kpis.today().totals).toMatchObject({ visitors: 40, transactions: 4, sales: 5000 });
    await b.close();
  });

  it('keeps members as HMACs under a per-store key (0600), migrating unkeyed hashes once', async () => {
    tmp = tempDir('sgw-kpi-');
    const a = await open(tmp.dir);
    const keyFile = path.join(tmp.dir, 'member-hash.key');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const key = readFileSync(keyFile);
    expect(key.length).toBe(32);
    await a.append(sale(500, 'M-7'));
    const stored = (await a.outbox.database.all<{ hash: string }>('SELECT hash FROM kpi_member')).map((r) => r.hash);
    const unkeyed = createHash('sha256').update('storegw-member:M-7').digest('hex');
    expect(stored).toEqual([memberHash('M-7', key)]);
    expect(stored[0]).not.toBe(unkeyed);
    await a.close();
    // Another store (another key) keeps another hash for the same code.
    expect(memberHash('M-7', Buffer.alloc(32, 1))).not.toBe(memberHash('M-7', key));
    // A restart reads the same key: the member is a repeat, not new.
    const b = await open(tmp.dir);
    expect(readFileSync(keyFile).equals(key)).toBe(true);
    await b.append(sale(300, 'M-7'));
    expect(b.kpis.today().totals).toMatchObject({ memberTransactions: 2, repeatTransactions: 1 });
    await b.close();
  });
});

describe('AlertBook', () => {
  it('keeps device alerts, security overrides and online→offline transitions; an alert is acknowledged once', async () => {
    tmp = tempDir('sgw-alerts-');
    const store = new KpiStore(path.join(tmp.dir, 'kpi.db'));
    await store.start();
    const book = new AlertBook({ store, log, now: () => NOW });
    const heard: string[] = [];
    book.onAlert((a) => heard.push(a.code));
    book.onEvent({ seq: 1, kind: 'footfall', deviceId: 'door-1', type: 'alert', recvTs: NOW, data: JSON.stringify({ code: 'DOOR_AJAR', severity: 'critical', message: 'open' }) });
    book.onEvent({ seq: 2, kind: 'footfall', deviceId: 'door-1', type: 'count', recvTs: NOW, data: '{}' });
    const decision = (kind: string) => JSON.stringify({ ts: '2026-11-25T15:00:00Z', requestId: 'r-1', kioskId: 'k1', kind, decision: 'approved', by: 'att', at: '2026-11-25T15:00:00Z' });
    book.onEvent({ seq: 3, kind: 'kiosk', deviceId: 'k1', type: 'attendant', recvTs: NOW, data: decision('age') });
    book.onEvent({ seq: 4, kind: 'kiosk', deviceId: 'k1', type: 'attendant', recvTs: NOW, data: decision('security') });
    const view = (online: boolean, disabled = false) => ({ username: 'scale/s1', online, disabled, location: 'deli' }) as never;
    book.onDevice(view(false)); // first sighting: no alert
    book.onDevice(view(true));
    book.onDevice(view(false));
    book.onDevice(view(true));
    book.onDevice(view(false, true)); // disabled by an admin: not an alert
    await book.settled();
    expect(heard).toEqual(['DOOR_AJAR', 'SECURITY_OVERRIDE', 'DEVICE_OFFLINE']);
    const [offline, security, ajar] = await book.list(10, true);
    expect(security).toMatchObject({ source: 'kiosk/k1', severity: 'info', message: 'att approved a security-scale stop at k1 (request r-1)' });
    expect(ajar).toMatchObject({ source: 'footfall/door-1', severity: 'critical', seq: 1 });
    expect(offline.message).toBe('scale/s1 (deli) went offline');
    expect(await book.ack(ajar.id, 'att')).toBe(true);
    expect(await book.ack(ajar.id, 'att')).toBe(false);
    expect((await book.list(10, true)).map((a) => a.code)).toEqual(['DEVICE_OFFLINE', 'SECURITY_OVERRIDE']);
    await store.stop();
  });
});
