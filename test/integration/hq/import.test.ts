/**
 * The week the WAN never came back, with every part real: a gateway child process
 * (`hq.delivery: ingest-ack`) behind a WAN gate to HQ's Mosquitto, the real ingest on a real
 * PostgreSQL, `storegw outbox export --batches` while the WAN is down, `storegw-hq import` of that
 * file (twice), then the WAN back: the gateway's persistent ack session gets the import's queued
 * acks, deletes the rows and sends none of those batches; HQ holds each (store, seq) once. On the
 * way, the gateway's retained `report/sync` reaches HQ's store_reports.
 */
import path from 'node:path';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchText, makeHeader, type BatchRecord } from '../../../gateway/protocol/envelopes.js';
import type { MqttClient } from 'mqtt';
import { compile } from '../../../gateway/protocol/validate.js';
import { SyncReport } from '../../../gateway/protocol/schemas/syncReport.js';
import { connectDevice, GATEWAY_BIN, spawnGateway, TEST_PASSWORDS, TEST_SECRET, writeConfigFile, type GatewayProcess } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';
import { wanGate, type WanGate } from '../gateway/uplinkWan.js';
import { HQ_BIN, startIngestStack, type IngestStack } from './ingestStack.js';

const STORE = 'test-store';
const tmp = tempDir('hq-import-');
let stack: IngestStack;
let wan: WanGate;
let gw: GatewayProcess;
let cookie = '';

beforeAll(async () => {
  stack = await startIngestStack({ workers: 1 });
  wan = await wanGate(stack.mosq.port);
  const file = await writeConfigFile(tmp.dir, {
    dataDir: path.join(tmp.dir, 'data'),
    devices: [{ kind: 'payment', id: 'pay-1' }, { kind: 'footfall', id: 'door-1' }],
    extra: {
      hq: { url: wan.url, publicKeys: [{ kid: stack.signer.kid, pem: stack.signer.publicKeyPem }], delivery: 'ingest-ack', ackTimeoutMs: 60_000, maxUnackedBatches: 64 },
      prices: { enabled: false },
      uplink: { batchMaxAgeMs: 0, backoffInitialMs: 50, backoffMaxMs: 300, checkIntervalMs: 60_000 },
      compaction: { windowMs: 60_000, intervalMs: 60_000 },
    },
  });
  gw = await spawnGateway(file);
  const r = await fetch(`http://127.0.0.1:${gw.httpPort}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'viewer', password: TEST_PASSWORDS.viewer }) });
  cookie = (r.headers.get('set-cookie') ?? '').split(';')[0];
});
afterAll(async () => {
  await gw?.kill('SIGKILL');
  await wan?.close();
  await stack?.stop();
  tmp.remove();
});

async function delivery(): Promise<{ unackedBatches: number; ackConnected: boolean; exactRows: number }> {
  const s = (await (await fetch(`http://127.0.0.1:${gw.httpPort}/api/uplink`, { headers: { cookie } })).json()) as { delivery: { unackedBatches: number; ackConnected: boolean }; outbox: { rows: Record<string, number> } };
  return { ...s.delivery, exactRows: s.outbox.rows.exact ?? 0 };
}

async function publish(tag: string, n: number): Promise<void> {
  const url = `mqtt://127.0.0.1:${gw.mqttPort}`;
  const pay: MqttClient = await connectDevice(url, 'payment/pay-1', TEST_SECRET);
  const door: MqttClient = await connectDevice(url, 'footfall/door-1', TEST_SECRET);
  for (let i = 0; i < n; i++) {
    await pay.publishAsync('store/v1/dev/payment/pay-1/evt/result', JSON.stringify({ ts: new Date().toISOString(), requestId: `${tag}-${i}`, status: 'approved', amount: 100 + i, currency: 'EUR' }), { qos: 1 });
    await door.publishAsync('store/v1/dev/footfall/door-1/evt/count', JSON.stringify({ ts: new Date().toISOString(), in: 1, out: 0 }), { qos: 1 });
  }
  await pay.endAsync();
  await door.endAsync();
}

function runCli(bin: string, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => err.push(d));
    p.once('error', reject);
    p.once('close', (code) => resolve({ code, out: Buffer.concat(out).toString('utf8'), err: Buffer.concat(err).toString('utf8') }));
  });
}

const count = async (sql: string, params: unknown[] = []): Promise<number> => Number((await stack.db.query<{ n: string }>(sql, params)).rows[0].n);
const payments = async (tag: string): Promise<string[]> =>
  (await stack.db.query<{ r: string }>("SELECT record->'data'->>'requestId' AS r FROM records WHERE store_id = $1 AND record->'data'->>'requestId' LIKE $2 ORDER BY seq", [STORE, `${tag}-%`])).rows.map((x) => x.r);

describe('storegw-hq import', () => {
  let exportFile = '';
  let exportedIds: string[] = [];

  it('online first: batches reach the ingest and its acks empty the outbox; the sync report reaches HQ', async () => {
    await publish('o', 3);
    await expect.poll(async () => (await delivery()).exactRows, { timeout: 15_000 }).toBe(0);
    expect((await delivery()).ackConnected).toBe(true);
    expect(await payments('o')).toEqual(['o-0', 'o-1', 'o-2']);
    const sync = (await stack.db.query<{ body: unknown }>("SELECT body FROM store_reports WHERE store_id = $1 AND topic = 'report/sync'", [STORE])).rows[0]?.body;
    const valid = compile(SyncReport);
    expect(valid(sync), JSON.stringify(valid.errors)).toBe(true);
    const status = (await stack.db.query<{ body: { installId?: string } }>("SELECT body FROM store_reports WHERE store_id = $1 AND topic = 'status'", [STORE])).rows[0].body;
    expect(sync).toMatchObject({ storeId: STORE, installId: status.installId, outbox: { delivery: 'ingest-ack' } });
  });

  it('imports an export made while the WAN is down: every record stored once, each batch acked', async () => {
    wan.cut();
    await publish('e', 8);
    const exp = await runCli(GATEWAY_BIN, ['outbox', 'export', '--config', path.join(tmp.dir, 'storegw.yaml'), '--batches']);
    expect(exp.code, exp.err).toBe(0);
    exportFile = path.join(tmp.dir, 'export.jsonl');
    writeFileSync(exportFile, exp.out);
    exportedIds = exp.out.trim().split('\n').map((l) => JSON.parse(l) as { batchId?: string; records?: number }).filter((l) => typeof l.batchId === 'string').map((l) => l.batchId!);
    expect(exportedIds.length).toBeGreaterThan(0);
    expect((await delivery()).unackedBatches).toBe(exportedIds.length);

    const r = await runCli(HQ_BIN, ['import', '--config', stack.configFile, '--json', exportFile]);
    expect(r.code, r.err).toBe(0);
    const sum = JSON.parse(r.out) as { storeId: string; totals: { batches: number; stored: number; duplicates: number; rejected: number; acked: number }; batches: { batchId: string; acked: boolean }[] };
    expect(sum.storeId).toBe(STORE);
    expect(sum.totals).toMatchObject({ batches: exportedIds.length, duplicates: 0, rejected: 0, acked: exportedIds.length });
    expect(sum.totals.stored).toBeGreaterThanOrEqual(8);
    expect(sum.batches.map((b) => b.batchId)).toEqual(exportedIds);
    expect(await payments('e')).toEqual(Array.from({ length: 8 }, (_, i) => `e-${i}`));
    // Compacted footfall counts arrive as compact records (seq_from set), never raw.
    expect(await count("SELECT count(*) AS n FROM records WHERE store_id = $1 AND class = 'aggregate' AND seq_from IS NULL", [STORE])).toBe(0);
  });

  it('imports the same file again: nothing new stored, and it says so', async () => {
    const before = await count('SELECT count(*) AS n FROM records');
    const r = await runCli(HQ_BIN, ['import', '--config', stack.configFile, exportFile]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('nothing new: every record was already stored');
    expect(r.out).toMatch(/stored 0, duplicates \d+, conflicts 0; rejected batches 0/);
    expect(await count('SELECT count(*) AS n FROM records')).toBe(before);
  });

  it('the WAN back: the queued acks delete the rows, no exported batch is sent, each (store, seq) held once', async () => {
    wan.open();
    await expect.poll(async () => { const d = await delivery(); return d.unackedBatches + d.exactRows; }, { timeout: 15_000 }).toBe(0);
    // Only the import (worker -1) took the exported batches; the ingest's workers never saw them.
    expect(await count('SELECT count(*) AS n FROM batches WHERE batch_id = ANY($1) AND worker >= 0', [exportedIds])).toBe(0);
    expect(await count('SELECT count(*) AS n FROM batches WHERE batch_id = ANY($1) AND worker = -1', [exportedIds])).toBe(2 * exportedIds.length);
    expect(await count('SELECT coalesce(sum(duplicates), 0) AS n FROM batches WHERE worker >= 0')).toBe(0);
    expect(await payments('e')).toEqual(Array.from({ length: 8 }, (_, i) => `e-${i}`));
  });

  it('refuses a damaged file batch by batch, naming the line, and still takes the good batches', async () => {
    const good = `${JSON.stringify({ batchId: 'hand-1', storeId: STORE, seqFrom: 900001, seqTo: 900001, records: 1, createdAt: new Date().toISOString() })}\n${JSON.stringify({ seq: 900001, class: 'exact', kind: 'scanner', deviceId: 'scan-9', type: 'scan', ts: new Date().toISOString(), data: { code: '1' } })}\n`;
    const bad = `${JSON.stringify({ batchId: 'hand-2', storeId: STORE, seqFrom: 900002, seqTo: 900002, records: 1, createdAt: 'x' })}\n{"seq": 900002, "class": "exact"\n`;
    const file = path.join(tmp.dir, 'damaged.jsonl');
    writeFileSync(file, good + bad + 'not json at all\n');
    const r = await runCli(HQ_BIN, ['import', '--config', stack.configFile, '--no-ack', file]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('SGW_ERR_BATCH_JSON: records[0]: is not valid JSON');
    expect(r.err).toContain('(line 4)');
    expect(r.err).toContain('SGW_ERR_BATCH_JSON: header: is not valid JSON');
    expect(r.err).toContain('(line 5)');
    expect(r.out).toMatch(/line 1 {2}hand-1 {2}records 1: stored 1, duplicates 0, conflicts 0\n/);
    expect(await count("SELECT count(*) AS n FROM rejected_batches WHERE store_id = $1 AND worker = -1", [STORE])).toBe(2);
  });

  it('property: good batches among any damaged lines are all stored, the rest refused, the process never crashes', async () => {
    const junk = fc.oneof(fc.string({ maxLength: 40 }).map((x) => x.replace(/\n/g, ' ')), fc.constantFrom('{}', 'null', '{"batchId":"j","records":1,"storeId":"prop"}', '{"seq":1}', '\u0000', '{"batchId":"j","records":"x"}'));
    let seq = 1_000_000;
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 1, max: 4 }), fc.array(junk, { maxLength: 2 })), { minLength: 1, maxLength: 5 }), async (plan) => {
        const store = `prop-${run++}`;
        let text = '';
        const good: string[] = [];
        let damaged = false;
        for (const [n, lines] of plan) {
          const records = Array.from({ length: n }, () => ({ seq: seq++, class: 'exact', kind: 'scanner', deviceId: 'scan-p', type: 'scan', ts: new Date().toISOString(), data: { n: seq } }) as BatchRecord);
          const header = makeHeader(`${store}:${records[0].seq}`, store, records, new Date().toISOString());
          good.push(header.batchId);
          text += batchText(header, records);
          for (const l of lines) text += l + '\n';
          damaged ||= lines.length > 0;
        }
        const file = path.join(tmp.dir, `${store}.jsonl`);
        writeFileSync(file, text);
        const r = await runCli(HQ_BIN, ['import', '--config', stack.configFile, '--store', store, '--no-ack', '--json', file]);
        expect(r.code, r.err).toBe(damaged ? 1 : 0);
        const sum = JSON.parse(r.out) as { batches: { batchId?: string; rejected?: string; stored: number }[] };
        expect(sum.batches.filter((b) => !b.rejected).map((b) => b.batchId)).toEqual(good);
        for (const b of sum.batches.filter((x) => x.rejected)) expect(b.rejected).toMatch(/^SGW_ERR_BATCH_\w+: .*\(line \d+/);
        expect(await count('SELECT count(*) AS n FROM records WHERE store_id = $1', [store])).toBe(plan.reduce((a, [n]) => a + n, 0));
      }),
      { seed: 20_2620, numRuns: 3 },
    );
  });
});
