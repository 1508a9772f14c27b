/**
 * `hq.delivery: ingest-ack` across a SIGKILL and across a WAN that does not come back, with a real
 * gateway child process, a real HQ Mosquitto behind a WAN gate (uplinkWan.ts) and the HQ simulator
 * acting as the acknowledging ingest (test/sim/hqSim.ts):
 * 1. `outbox export --batches` while the WAN is down, HQ imports the file and acks it while the
 *    store is offline (the broker queues the acks for the gateway's session): after reconnecting,
 *    the rows are gone and not one exported batch is sent;
 * 2. SIGKILL between HQ's PUBACK and its ack: after the restart the batches are sent again and HQ
 *    holds every record exactly once;
 * 3. an export whose acks never come: the batches are sent after `hq.ackTimeoutMs`, HQ dedupes.
 * One data folder, two gateway starts: the first with a long ack timeout (step 1 must see the
 * queued acks before any re-send), the restart after the kill with a short one (0.5 s) that step 3 waits out.
 */
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connectDevice, GATEWAY_BIN, spawnGateway, TEST_PASSWORDS, TEST_SECRET, writeConfigFile, type GatewayProcess } from '../../helpers/gatewayHarness.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { tempDir } from '../../helpers/tmp.js';
import { HqSim } from '../../sim/hqSim.js';
import { createHqSigner } from '../../sim/hqSigner.js';
import { wanGate, type WanGate } from './uplinkWan.js';

const STORE = 'test-store';
const tmp = tempDir('sgw-upack-');
const signer = createHqSigner({ kid: 'hq-test' });
let hqBroker: Mosquitto;
let hq: HqSim;
let wan: WanGate;
let gw: GatewayProcess | null = null;

beforeAll(async () => {
  hqBroker = await startMosquitto();
  wan = await wanGate(hqBroker.port);
  hq = new HqSim({ url: hqBroker.url, acker: signer });
  await hq.start();
});
afterAll(async () => {
  await gw?.kill('SIGKILL');
  await wan.close();
  await hq.stop();
  await hqBroker.stop();
  tmp.remove();
});

async function start(ackTimeoutMs: number): Promise<GatewayProcess> {
  const file = await writeConfigFile(tmp.dir, {
    dataDir: path.join(tmp.dir, 'data'),
    devices: [{ kind: 'payment', id: 'pay-1' }, { kind: 'footfall', id: 'door-1' }],
    extra: {
      hq: { url: wan.url, publicKeys: [{ kid: signer.kid, pem: signer.publicKeyPem }], delivery: 'ingest-ack', ackTimeoutMs, maxUnackedBatches: 64 },
      prices: { enabled: false },
      uplink: { batchMaxAgeMs: 0, backoffInitialMs: 50, backoffMaxMs: 300, checkIntervalMs: 60_000 },
      compaction: { windowMs: 60_000, intervalMs: 60_000 },
    },
  });
  gw = await spawnGateway(file);
  return gw;
}

const configFile = (): string => path.join(tmp.dir, 'storegw.yaml');

async function publish(g: GatewayProcess, tag: string, n: number): Promise<void> {
  const url = `mqtt://127.0.0.1:${g.mqttPort}`;
  const pay: MqttClient = await connectDevice(url, 'payment/pay-1', TEST_SECRET);
  const door: MqttClient = await connectDevice(url, 'footfall/door-1', TEST_SECRET);
  for (let i = 0; i < n; i++) {
    await pay.publishAsync('store/v1/dev/payment/pay-1/evt/result', JSON.stringify({ ts: new Date().toISOString(), requestId: `${tag}-${i}`, status: 'approved', amount: 100 + i, currency: 'EUR' }), { qos: 1 });
    await door.publishAsync('store/v1/dev/footfall/door-1/evt/count', JSON.stringify({ ts: new Date().toISOString(), in: 1, out: 0 }), { qos: 1 });
  }
  await pay.endAsync();
  await door.endAsync();
}

/** One login per gateway process (a password check is deliberately slow). */
const cookies = new WeakMap<GatewayProcess, string>();

async function delivery(g: GatewayProcess): Promise<{ unackedBatches: number; acksAccepted: number; exactRows: number; total: number }> {
  const http = `http://127.0.0.1:${g.httpPort}`;
  let cookie = cookies.get(g);
  if (!cookie) {
    const r = await fetch(`${http}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'viewer', password: TEST_PASSWORDS.viewer }) });
    cookie = (r.headers.get('set-cookie') ?? '').split(';')[0];
    cookies.set(g, cookie);
  }
  const s = (await (await fetch(`${http}/api/uplink`, { headers: { cookie } })).json()) as { delivery: { unackedBatches: number; acksAccepted: number }; outbox: { rows: Record<string, number>; total: number } };
  return { ...s.delivery, exactRows: s.outbox.rows.exact ?? 0, total: s.outbox.total };
}

function exportBatches(): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const p = spawn(process.execPath, [GATEWAY_BIN, 'outbox', 'export', '--config', configFile(), '--batches'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => err.push(d));
    p.once('error', reject);
    p.once('close', (code) => (code === 0 ? resolve(Buffer.concat(out).toString('utf8')) : reject(new Error(`outbox export: exit ${code}: ${Buffer.concat(err).toString('utf8')}`))));
  });
}

const payments = (tag: string): string[] => hq.records(STORE, 'exact').filter((r) => String(r.data.requestId ?? '').startsWith(`${tag}-`)).map((r) => String(r.data.requestId));

describe('ingest-ack delivery across a WAN that stays down and a kill', () => {
  it('export while the WAN is down, HQ imports and acks offline: after reconnecting nothing is sent again', async () => {
    const g = await start(60_000);
    await hq.waitFor((h) => (h.status(STORE) as { state?: string } | undefined)?.state === 'online', 10_000, 'online');
    wan.cut();
    await publish(g, 'e', 8);
    const text = await exportBatches();
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    // Batches: header lines, then records; compacted footfall counts carry seqFrom.
    expect(lines[0]).toMatchObject({ storeId: STORE, batchId: expect.any(String) });
    expect(lines.some((l) => l.class === 'aggregate' && typeof l.seqFrom === 'number')).toBe(true);
    expect(lines.some((l) => l.class === 'aggregate' && l.seqFrom === undefined)).toBe(false);
    const ids = hq.importExport(STORE, text);
    expect(payments('e')).toEqual(Array.from({ length: 8 }, (_, i) => `e-${i}`));
    expect((await delivery(g)).unackedBatches).toBe(ids.length);
    wan.open();
    await expect.poll(async () => (await delivery(g)).unackedBatches, { timeout: 15_000 }).toBe(0);
    expect((await delivery(g)).exactRows).toBe(0);
    expect(hq.batchLog.filter((b) => ids.includes(b.batchId))).toEqual([]); // none sent over the WAN
  });

  it('SIGKILL between PUBACK and ack: re-sent after the restart, every record once at HQ', async () => {
    hq.acking = false;
    await publish(gw!, 'k', 10);
    await hq.waitFor(() => payments('k').length === 10, 10_000, 'the batches at HQ, unacknowledged');
    expect((await delivery(gw!)).exactRows).toBe(10);
    await gw!.kill('SIGKILL');
    hq.acking = true;
    const before = hq.totals(STORE).duplicates;
    const g = await start(500);
    await expect.poll(async () => (await delivery(g)).exactRows, { timeout: 15_000 }).toBe(0);
    expect((await delivery(g)).unackedBatches).toBe(0);
    expect(payments('k')).toEqual(Array.from({ length: 10 }, (_, i) => `k-${i}`));
    expect(hq.totals(STORE).duplicates).toBeGreaterThan(before); // they were sent again; HQ deduped
    expect(hq.totals(STORE).conflicts).toBe(0);
  });

  it('export whose acks never come: sent after the timeout, HQ dedupes', async () => {
    wan.cut();
    await publish(gw!, 'n', 5);
    const text = await exportBatches();
    const ids = hq.importExport(STORE, text, false); // imported, but the acks are lost
    expect(ids.length).toBeGreaterThan(0);
    const dupBefore = hq.totals(STORE).duplicates;
    const g = gw!;
    wan.open();
    await expect.poll(async () => (await delivery(g)).unackedBatches, { timeout: 15_000 }).toBe(0);
    expect((await delivery(g)).exactRows).toBe(0);
    expect(new Set(hq.batchLog.filter((b) => ids.includes(b.batchId)).map((b) => b.batchId))).toEqual(new Set(ids));
    expect(hq.totals(STORE).duplicates).toBeGreaterThan(dupBefore);
    expect(payments('n')).toEqual(Array.from({ length: 5 }, (_, i) => `n-${i}`));
    expect(hq.totals(STORE).conflicts).toBe(0);
  });
});
