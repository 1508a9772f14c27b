/**
 * The TLS listeners under attack, through a real gateway process (seeded, bounded): on MQTT over
 * TLS arbitrary bytes before the handshake (plain TCP, broken ClientHellos), arbitrary bytes after
 * it, and client certificates whose CN is no identity of the store; on HTTPS arbitrary bytes
 * before the handshake. Between attacks a certified device keeps publishing QoS 1 events (and
 * HTTPS /healthz keeps answering); at the end the process still runs and `outbox export` gives
 * back every acknowledged event unaltered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import path from 'node:path';
import fc from 'fast-check';
import mqtt, { type MqttClient } from 'mqtt';
import { GATEWAY_BIN, connectDevice, spawnGateway, ts, writeConfigFile, type GatewayProcess } from '../helpers/gatewayHarness.js';
import { tempDir } from '../helpers/tmp.js';
import { makeStoreCa, type StoreCa } from '../helpers/storeCa.js';

const SEED = 1305;
const tmp = tempDir('sgw-hostile-tls-');
let ca: StoreCa;
let gw: GatewayProcess;
let tlsPort = 0;
let device: MqttClient;
const acked: number[] = [];
const tried = { beforeHandshake: 0, afterHandshake: 0, certificates: 0, httpsBeforeHandshake: 0 };

beforeAll(async () => {
  if (!existsSync(GATEWAY_BIN)) {
    const b = spawnSync(process.execPath, ['build.mjs'], { stdio: 'inherit' });
    if (b.status !== 0) throw new Error('node build.mjs failed');
  }
  ca = makeStoreCa(tmp.dir);
  const server = ca.server();
  const file = await writeConfigFile(tmp.dir, {
    dataDir: path.join(tmp.dir, 'data'),
    extra: {
      mqtt: { host: '127.0.0.1', port: 0, connectRate: { perSecond: 10_000, burst: 10_000 }, tls: { port: 0, certFile: server.certFile, keyFile: server.keyFile, caFile: ca.caFile } },
      http: { host: '127.0.0.1', port: 0, tls: { certFile: server.certFile, keyFile: server.keyFile } },
    },
  });
  gw = await spawnGateway(file);
  const ready = gw.output.map((l) => (l.includes('"storegw ready"') ? (JSON.parse(l) as { mqttTlsPort?: number }) : null)).find(Boolean);
  tlsPort = ready!.mqttTlsPort!;
  const cert = ca.client('footfall/door-1');
  device = await connectDevice(`mqtts://127.0.0.1:${tlsPort}`, undefined, undefined, { ca: ca.ca, cert: cert.cert, key: cert.key });
}, 60_000);

afterAll(async () => {
  device?.end(true);
  await gw?.kill();
  tmp.remove();
  console.log(`hostile TLS listeners: cases tried ${JSON.stringify(tried)}, acknowledged ${acked.length}`);
});

/** The gateway process still runs, and the certified device's next QoS 1 event is acknowledged. */
async function stillServing(): Promise<void> {
  expect(gw.proc.exitCode).toBeNull();
  const n = acked.length;
  await device.publishAsync('store/v1/dev/footfall/door-1/evt/count', JSON.stringify({ ts: ts(), in: n, out: 0 }), { qos: 1 });
  acked.push(n);
}

/** Writes `bytes`, ends our side, and resolves when the gateway has closed the connection. */
function sendAndClose(socket: net.Socket, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    socket.on('error', () => undefined);
    socket.once('close', () => resolve());
    socket.resume(); // read, so the gateway's FIN is seen
    socket.end(Buffer.from(bytes));
  });
}

const garbage = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 2048 }),
  // A TLS record header (handshake, TLS 1.0-1.3) with an arbitrary claimed length and body.
  fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ maxLength: 512 })).map(([minor, len, body]) => new Uint8Array([0x16, 3, minor, len >> 8, len & 0xff, ...body])),
  // An MQTT CONNECT in clear on the TLS port.
  fc.constant(new Uint8Array([0x10, 13, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 2, 0, 60, 0, 1, 0x78])),
);

describe('MQTT over TLS, hostile', () => {
  it('survives arbitrary bytes before the handshake', async () => {
    await fc.assert(
      fc.asyncProperty(garbage, async (bytes) => {
        tried.beforeHandshake++;
        const s = net.connect(tlsPort, '127.0.0.1');
        await new Promise<void>((resolve) => s.once('connect', () => resolve()));
        await sendAndClose(s, bytes);
        await stillServing();
      }),
      { seed: SEED, numRuns: 400 },
    );
  }, 60_000);

  it('survives arbitrary bytes after the handshake (the frame guard and aedes decide)', async () => {
    const mqttish = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 2048 }),
      // A fixed header of any type with a Remaining Length up to 4 bytes, then noise.
      fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ minLength: 1, maxLength: 4 }), fc.uint8Array({ maxLength: 256 })).map(([t, len, body]) => new Uint8Array([t, ...len, ...body])),
    );
    await fc.assert(
      fc.asyncProperty(mqttish, async (bytes) => {
        tried.afterHandshake++;
        const s = tls.connect({ host: '127.0.0.1', port: tlsPort, ca: ca.ca });
        await new Promise<void>((resolve) => s.once('secureConnect', () => resolve()));
        await sendAndClose(s, bytes);
        await stillServing();
      }),
      { seed: SEED, numRuns: 400 },
    );
  }, 60_000);

  it('refuses client certificates that name no identity of this store, whatever the CN', async () => {
    const cns = ['footfall/door-99', 'footfall/door-1/evt', 'footfall/+', '#', '$SYS/broker', 'bridge/', 'bridge/nope', 'FOOTFALL/door-1', ' footfall/door-1', 'footfall/door-1 ', 'analytics', 'esl/ap-1*', 'a'.repeat(64)];
    for (const [i, cn] of cns.entries()) {
      tried.certificates++;
      const cert = ca.client(cn, `hostile-${i}`);
      const result = await new Promise<string>((resolve) => {
        const c = mqtt.connect(`mqtts://127.0.0.1:${tlsPort}`, { ca: ca.ca, cert: cert.cert, key: cert.key, reconnectPeriod: 0, connectTimeout: 10_000 });
        c.once('connect', () => {
          c.end(true);
          resolve('connected');
        });
        c.once('error', (err) => {
          c.end(true);
          resolve(`refused ${(err as { code?: number }).code}`);
        });
        c.once('close', () => resolve('closed'));
      });
      expect([cn, result]).toEqual([cn, expect.stringMatching(/^refused [45]$/)]);
      await stillServing();
    }
  }, 60_000);

  it('survives arbitrary bytes before the HTTPS handshake, and /healthz still answers over HTTPS', async () => {
    const healthz = () =>
      new Promise<number>((resolve, reject) => {
        https.get(`https://127.0.0.1:${gw.httpPort}/healthz`, { ca: ca.ca }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        }).on('error', reject);
      });
    await fc.assert(
      fc.asyncProperty(garbage, async (bytes) => {
        tried.httpsBeforeHandshake++;
        const s = net.connect(gw.httpPort, '127.0.0.1');
        await new Promise<void>((resolve) => s.once('connect', () => resolve()));
        await sendAndClose(s, bytes);
        expect(await healthz()).toBe(200);
        await stillServing();
      }),
      { seed: SEED, numRuns: 200 },
    );
  }, 60_000);

  it('lost and altered nothing it acknowledged', async () => {
    await device.endAsync();
    expect(await gw.kill('SIGTERM')).toBe(0);
    const out = spawnSync(process.execPath, [GATEWAY_BIN, 'outbox', 'export', '--config', path.join(tmp.dir, 'storegw.yaml')], { encoding: 'utf8' });
    expect(out.status, out.stderr).toBe(0);
    const got = out.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { deviceId: string; type: string; data: { in: number; out: number } })
      .filter((r) => r.deviceId === 'door-1' && r.type === 'count')
      .map((r) => r.data.in);
    expect(got.sort((a, b) => a - b)).toEqual(acked);
  }, 60_000);
});
