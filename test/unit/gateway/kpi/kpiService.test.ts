/**
 * KPI service over a real SQLite file: counts survive a restart, an event at or below the saved
 * seq is not counted twice, members seen before a restart still make a repeat, old days are read
 * from disk. The clock is injected.
 */
import { afterEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import { createLogger } from '../../../../gateway/log.js';
import { KpiStore } from '../../../../gateway/kpi/kpiStore.js';
import { KpiService } from '../../../../gateway/kpi/kpiService.js';
import { AlertBook } from '../../../../gateway/kpi/alertBook.js';
import { tempDir } from '../../../helpers/tmp.js';

const log = createLogger({ level: 'silent' });
const NOW = Date.parse('2026-11-25T15:00:00.000Z');
let tmp: ReturnType<typeof tempDir> | null = null;
afterEach(() => tmp?.remove());

async function open(dir: string, now = () => NOW) {
  const store = new KpiStore(path.join(dir, 'kpi.db'));
  await store.start();
  const kpis = new KpiService({ store, storeId: 's1', timezone: 'Europe/Berlin', flushMs: 60_000, log, now });
  await kpis.start();
  return { store, kpis, async close() {
    await kpis.stop();
    await store.stop();
  } };
}

let seq = 0;
function sale(total: number, member: string | null, ts = '2026-11-25T14:10:00.000Z') {
  return { seq: ++seq, kind: 'kiosk', type: 'transaction', ts, recvTs: NOW, data: JSON.stringify({ ts, total, currency: 'EUR', ...(member ? { memberCode: member } : {}) }) };
}
function visitors(n: number, ts = '2026-11-25T14:05:00.000Z') {
  return { seq: ++seq, kind: 'footfall', type: 'count', ts, recvTs: NOW, data: JSON.stringify({ ts, in: n, out: 0 }) };
}

describe('KpiService', () => {
  it('keeps the counts and the members across a restart and never counts an event twice', async () => {
    tmp = tempDir('sgw-kpi-');
    const a = await open(tmp.dir);
    a.kpis.onEvent(visitors(20));
    const first = sale(1000, 'M-1');
    a.kpis.onEvent(first);
    await a.close();

    const b = await open(tmp.dir);
    expect(b.kpis.today().totals).toMatchObject({ visitors: 20, transactions: 1, sales: 1000, memberTransactions: 1, repeatTransactions: 0 });
    b.kpis.onEvent(first); // replayed: at or below the saved seq
    b.kpis.onEvent(sale(3000, 'M-1')); // a member seen before the restart
    const t = b.kpis.today();
    expect(t.day).toBe('2026-11-25');
    expect(t.hours[15]).toMatchObject({ visitors: 20, transactions: 2, sales: 4000 }); // 14:xxZ is 15:xx in Berlin
    expect(t.totals).toMatchObject({ transactions: 2, repeatTransactions: 1, repeatRate: 0.5, conversion: 0.1, averageBasket: 2000 });
    expect(b.kpis.kpiSnapshot()).toMatchObject({ storeId: 's1', lastSeq: seq, generatedAt: new Date(NOW).toISOString(), totals: t.totals });
    await b.close();
  });

  it('reads a day outside the memory window from kpi.db', async () => {
    tmp = tempDir('sgw-kpi-');
    const a = await open(tmp.dir);
    a.kpis.onEvent(visitors(5, '2026-11-24T08:00:00.000Z'));
    await a.close();
    const later = await open(tmp.dir, () => NOW + 10 * 86_400_000);
    expect((await later.kpis.day('2026-11-24')).totals.visitors).toBe(5);
    expect(later.kpis.today().totals.visitors).toBe(0);
    await later.close();
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
