/**
 * a sale whose write fails (a full disk) is retried with back-off, counted, logged and
 * alerted once per streak, and the kiosk gets its receipt once the write goes through — never an
 * approved session left without a retry. The failure is real: kiosk.db on real SQLite with its
 * page count capped (SQLITE_FULL, as on a full disk), then uncapped.
 */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { KioskStore } from '../../../../gateway/kiosk/store.js';
import { SaleLedger, type SaleLedgerHost } from '../../../../gateway/kiosk/saleLedger.js';
import type { Action } from '../../../../gateway/kiosk/sessionMachine.js';
import type { OutboxStore } from '../../../../gateway/outbox/store.js';
import type { KioskTransactionRec } from '../../../../gateway/protocol/schemas/kiosk.js';
import { tempDir } from '../../../helpers/tmp.js';

const T0 = Date.parse('2026-12-05T10:00:00Z');

function sale(requestId: string): KioskTransactionRec {
  return {
    ts: new Date(T0).toISOString(),
    transactionId: `t-${requestId}`,
    kioskId: 'k1',
    lines: [{ gtin: '4006381333931', name: 'Milk', qty: 1, unitPrice: 129, price: 129 }],
    subtotal: 129,
    discounts: 0,
    total: 129,
    currency: 'EUR',
    vat: [],
    payment: { requestId, authCode: 'A1', amount: 129 },
    attendant: [],
  } as unknown as KioskTransactionRec;
}

describe('a sale write that fails is retried and alerted', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: KioskStore;
  beforeEach(async () => {
    tmp = tempDir('storegw-ledger-');
    store = new KioskStore(path.join(tmp.dir, 'kiosk.db'));
    await store.start();
  });
  afterEach(async () => {
    await store.stop();
    tmp.remove();
  });

  it('SQLITE_FULL on kiosk.db: retried with back-off, one alert, counted per failure, the receipt after the disk has room', async () => {
    const db = (store as unknown as { db: { run(sql: string): Promise<unknown>; get<T>(sql: string): Promise<T> } }).db;
    await store.insertPayment({ requestId: 'r1', kioskId: 'k1', sessionId: 't-r1', amount: 129, status: 'approved', fromSeq: 0, authCode: null, transactionSeq: null }, T0);
    // The record below needs pages kiosk.db does not have: every write of the sale fails as on a full disk.
    const { page_count } = await db.get<{ page_count: number }>('PRAGMA page_count');
    await db.run(`PRAGMA max_page_count = ${page_count}`);
    const big = { ...sale('r1'), lines: Array.from({ length: 200 }, (_, i) => ({ gtin: '4006381333931', name: `Milk ${i} ${'x'.repeat(100)}`, qty: 1, unitPrice: 129, price: 129 })) } as unknown as KioskTransactionRec;

    const alerts: string[] = [];
    const counts: string[] = [];
    const applied: Action[] = [];
    const forwarded: string[] = [];
    let failures = 0;
    let resolveTwoFailures!: () => void;
    const twoFailures = new Promise<void>((r) => (resolveTwoFailures = r));
    const host: SaleLedgerHost = {
      store,
      outbox: { saleFor: async () => null, paymentResultFor: async () => null, pruneSettlement: async () => undefined } as unknown as OutboxStore,
      log: pino({ level: 'silent' }),
      now: () => T0,
      lastSeq: () => 0,
      session: () => undefined,
      enqueue: async (_id, fn) => fn(),
      applyNow: async (_id, a) => void applied.push(a),
      recordTransaction: async (_id, data) => (forwarded.push(data.transactionId), 7),
      command: async () => undefined,
      checkpoint: () => undefined,
      alert: (code) => void alerts.push(code),
      count: (what) => {
        counts.push(what);
        if (what === 'writeFailed' && ++failures === 2) resolveTwoFailures();
      },
    };
    const ledger = new SaleLedger(host);
    const done = ledger.recordSale('k1', big);
    await twoFailures; // two real SQLITE_FULL failures, 200 ms apart (the first back-off)
    expect(applied).toEqual([]); // no receipt while the sale is not written
    expect(await store.sale('r1')).toBeNull();
    expect((await store.payment('r1'))?.status).toBe('approved');

    await db.run('PRAGMA max_page_count = 1073741823'); // room again
    await done;
    expect(alerts).toEqual(['SALE_WRITE_FAILED']); // one alert for the streak
    expect(counts.filter((c) => c === 'writeFailed').length).toBeGreaterThanOrEqual(2);
    expect((await store.sale('r1'))?.seq).toBe(7);
    expect((await store.payment('r1'))?.status).toBe('recorded');
    expect(forwarded).toEqual(['t-r1']);
    expect(applied).toEqual([{ type: 'recorded', transactionId: 't-r1' }]);
  });
});
