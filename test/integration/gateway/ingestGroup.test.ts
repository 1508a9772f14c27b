/**
 * Ingest.handleGroup: a sale and the records derived from it are committed in one
 * transaction with consecutive seqs; a derived record that fails its schema is dead-lettered and
 * never keeps the sale from being stored; a first record that fails stores nothing. Real gateway,
 * real SQLite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../../helpers/gatewayHarness.js';
import type { DeviceEntry } from '../../../gateway/devices/registry.js';
import { topics } from '../../../gateway/protocol/topics.js';
import { saleRecord } from './opsClient.js';

let g: RunningGateway;
beforeAll(async () => {
  g = await startGateway({ extra: { prices: { enabled: false } } });
});
afterAll(async () => {
  await g?.stop();
});

const kiosk: DeviceEntry = { kind: 'kiosk', id: 'k1', source: 'config', secretHash: null, bridge: null, location: null, disabled: false, online: true, via: null, connectedAt: null, lastSeen: null, birth: null, lastEvents: {}, events: 0, rejects: {}, lastReject: null };
const ts = () => new Date().toISOString();
const mismatch = (transactionId: string, extra: Record<string, unknown> = {}) => ({ ts: ts(), mismatchId: `${transactionId}:0:L1`, kioskId: 'k1', transactionId, line: 0, gtin: '4006381333931', name: 'Test item', currency: 'EUR', tillPrice: 149, charged: 149, labelId: 'L1', labelState: 'pending', labelHash: 'abcd', labelPrice: 129, labelCurrency: 'EUR', paid: 'till', ...extra });

function group(records: { type: string; data: object }[]): Promise<{ err: Error | null; rejected: boolean; seq: number }> {
  return new Promise((resolve) =>
    g.gw.ingest.handleGroup(kiosk, records.map((r) => ({ type: r.type, topic: topics.evt('kiosk', 'k1', r.type), payload: Buffer.from(JSON.stringify(r.data)) })), (err, rejected, seq) => resolve({ err, rejected, seq })),
  );
}

describe('Ingest.handleGroup', () => {
  it('stores the sale and its mismatch records with consecutive seqs', async () => {
    const r = await group([{ type: 'transaction', data: saleRecord({ ts: ts(), transactionId: 'g-1', total: 149, kioskId: 'k1' }) }, { type: 'priceMismatch', data: mismatch('g-1') }, { type: 'priceMismatch', data: mismatch('g-1', { mismatchId: 'g-1:0:L2', labelId: 'L2' }) }]);
    expect(r).toEqual({ err: null, rejected: false, seq: expect.any(Number) });
    // The stock ledger files a sale's movements after it (light/storegw stockMove): only the kiosk's records here.
    const recs = (await g.gw.outbox.read(r.seq, 10)).filter((x) => x.kind === 'kiosk');
    expect(recs.map((x) => [x.seq - r.seq, x.type, x.data.transactionId])).toEqual([[0, 'transaction', 'g-1'], [1, 'priceMismatch', 'g-1'], [2, 'priceMismatch', 'g-1']]);
  });

  it('a derived record that fails its schema is dead-lettered; the sale is still stored', async () => {
    const deadBefore = g.gw.outbox.dead.rows;
    const r = await group([{ type: 'transaction', data: saleRecord({ ts: ts(), transactionId: 'g-2', total: 149, kioskId: 'k1' }) }, { type: 'priceMismatch', data: mismatch('g-2', { labelState: 'none' }) }]);
    expect(r).toMatchObject({ err: null, rejected: false });
    const recs = (await g.gw.outbox.read(r.seq, 10)).filter((x) => x.kind === 'kiosk');
    expect(recs.map((x) => [x.type, x.data.transactionId])).toEqual([['transaction', 'g-2']]);
    await g.gw.ingest.drain();
    expect(g.gw.outbox.dead.rows).toBe(deadBefore + 1);
  });

  it('a first record that fails its schema stores nothing', async () => {
    const last = g.gw.ingest.lastSeq;
    const r = await group([{ type: 'transaction', data: { ts: ts(), transactionId: 'g-3' } }, { type: 'priceMismatch', data: mismatch('g-3') }]);
    expect(r).toMatchObject({ err: null, rejected: true });
    // The earlier sales' stock movements may still be filed after `last` (light/storegw stockMove):
    // nothing of this group is.
    const after = await g.gw.outbox.read(last + 1, 50);
    expect(after.filter((x) => x.kind === 'kiosk' || x.data.transactionId === 'g-3')).toEqual([]);
  });
});
