/**
 * Hostile bytes over MQTT-over-WebSocket (`/mqtt`), through a real gateway process: arbitrary
 * WebSocket messages sent before any CONNECT and after a valid one. Properties, per case:
 * - the gateway process lives;
 * - a stream whose first byte is not CONNECT [MQTT-3.1.0-1], or (after CONNECT) whose next packet
 *   has a reserved type (0 or 15, [MQTT-2.2.1]) or is a second CONNECT [MQTT-3.1.0-2], is closed by
 *   the gateway at once;
 * - only that connection: a bystander device on TCP still gets its QoS 1 event PUBACKed, and at the
 *   end `outbox export` gives back every bystander event exactly as sent.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { MqttClient } from 'mqtt';
import { connectDevice, GATEWAY_BIN, spawnGateway, writeConfigFile, TEST_SECRET, type GatewayProcess } from '../helpers/gatewayHarness.js';
import { tempDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const RUNS = 120;

function str(s: string): Buffer {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
}

/** A valid MQTT 3.1.1 CONNECT for footfall/door-2 (clean session, keepalive 30 s). */
function validConnect(clientId: string): Buffer {
  const body = Buffer.concat([str('MQTT'), Buffer.from([4, 0xc2, 0, 30]), str(clientId), str('footfall/door-2'), str(TEST_SECRET)]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'mqtt');
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

describe('arbitrary bytes over /mqtt (child process, seeded)', () => {
  const tmp = tempDir('sgw-hostile-ws-');
  let gw: GatewayProcess;
  let file: string;
  let bystander: MqttClient;
  let exit: string | null = null;
  const sent: { in: number; ts: string; out: number }[] = [];
  const tally = { cases: 0, before: 0, after: 0, closedByGateway: 0, mustClose: 0 };

  beforeAll(async () => {
    file = await writeConfigFile(tmp.dir, {
      dataDir: path.join(tmp.dir, 'data'),
      devices: [{ kind: 'footfall', id: 'door-1' }, { kind: 'footfall', id: 'door-2' }],
      extra: { mqtt: { host: '127.0.0.1', port: 0, maxPacketBytes: 4096, connectRate: { perSecond: 1000, burst: 5000 }, websocket: { enabled: true } } },
    });
    gw = await spawnGateway(file);
    gw.proc.once('exit', (code, sig) => (exit = `exited ${code ?? sig}`));
    bystander = await connectDevice(`mqtt://127.0.0.1:${gw.mqttPort}`, 'footfall/door-1', TEST_SECRET);
  }, 30_000);
  afterAll(async () => {
    await bystander?.endAsync().catch(() => undefined);
    await gw?.kill();
    tmp.remove();
  });

  it('lives, closes the bad connection only, and keeps every bystander event exact', async () => {
    const url = `ws://127.0.0.1:${gw.httpPort}/mqtt`;
    const messages = fc.array(fc.uint8Array({ minLength: 1, maxLength: 200 }), { minLength: 1, maxLength: 4 });
    await fc.assert(
      fc.asyncProperty(fc.boolean(), messages, async (afterConnect, msgs) => {
        tally.cases++;
        const ws = await open(url);
        const closed = new Promise<void>((r) => ws.once('close', () => r()));
        ws.on('error', () => undefined);
        let isClosed = false;
        void closed.then(() => (isClosed = true));
        if (afterConnect) {
          tally.after++;
          // aedes may write the CONNACK in pieces, each its own WebSocket message.
          const connack = new Promise<Buffer>((r) => {
            let got = Buffer.alloc(0);
            const onMessage = (d: Buffer): void => {
              got = Buffer.concat([got, d]);
              if (got.length < 4) return;
              ws.off('message', onMessage);
              r(got);
            };
            ws.on('message', onMessage);
          });
          ws.send(validConnect(`hostile-${tally.cases}`));
          expect([...(await connack)]).toEqual([0x20, 0x02, 0x00, 0x00]);
        } else tally.before++;
        for (const m of msgs) if (!isClosed) ws.send(Buffer.from(m));
        const first = msgs[0][0];
        const mustClose = afterConnect ? [0, 1, 15].includes(first >> 4) : first !== 0x10;
        if (mustClose) {
          tally.mustClose++;
          await Promise.race([closed, new Promise((r) => setTimeout(r, 5000))]);
          expect(isClosed).toBe(true);
        }
        if (isClosed) tally.closedByGateway++;
        ws.terminate();
        // The bystander's QoS 1 event is PUBACKed (publishAsync resolves on the PUBACK).
        const ev = { ts: new Date().toISOString(), in: tally.cases, out: 0 };
        await bystander.publishAsync('store/v1/dev/footfall/door-1/evt/count', JSON.stringify(ev), { qos: 1 });
        sent.push(ev);
        expect(exit).toBeNull();
      }),
      { seed: 1305, numRuns: RUNS },
    );
    expect(tally.cases).toBe(RUNS);
    expect(exit).toBeNull();

    // Every acknowledged bystander event is stored, and stored exactly.
    const { stdout } = await run(process.execPath, [GATEWAY_BIN, 'outbox', 'export', '--config', file], { maxBuffer: 64 * 1024 * 1024 });
    const stored = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { deviceId: string; type: string; data: { in: number; ts: string; out: number } })
      .filter((r) => r.deviceId === 'door-1' && r.type === 'count');
    expect(stored.map((r) => r.data)).toEqual(sent.map((e) => ({ ts: e.ts, in: e.in, out: e.out })));
    // Figures for BENCHMARKS.md's reliability section.
    console.log(`hostile /mqtt: ${JSON.stringify(tally)}, bystander events acknowledged ${sent.length}, stored exactly ${stored.length}`);
  }, 120_000);
});
