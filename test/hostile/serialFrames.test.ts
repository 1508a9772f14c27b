/**
 * Arbitrary bytes into the bridge's serial drivers through real socat ptys, one per serial protocol
 * (MT-SICS, Toledo continuous, Chafon), with the bridge as its own process (dist/storegw-bridge.js)
 * and a real gateway behind it. Garbage is interleaved with valid frames, each carrying a value no
 * other frame has: every valid frame must still become its event at the gateway, the bridge lives,
 * and the garbage is counted (the bridge's per-device counters on stop).
 *
 * What "interleaved" means per protocol: MT-SICS is a line protocol, so garbage ends at CR LF (a
 * line cannot be resynchronised in its middle); Toledo frames start with STX and the Chafon reader
 * has no start byte at all, so their garbage ends anywhere. A trailing garbage byte that announces
 * a long Chafon frame makes the decoder wait for more bytes, as it should: the reader goes on
 * sending, which the test does with a sentinel frame until the case's frames have arrived.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, TEST_SECRET, type RunningGateway } from '../helpers/gatewayHarness.js';
import { tempDir } from '../helpers/tmp.js';
import { startSocat, type Socat } from '../../firmware-bridge/simulators.js';
import { SerialTransport } from '../../firmware-bridge/transports/serial.js';
import { encodeResponse as mtsicsResponse } from '../../firmware-bridge/devices/mtsics/codec.js';
import { encodeFrame as toledoFrame } from '../../firmware-bridge/devices/toledoContinuous/codec.js';
import { encodeInventoryResponse } from '../../firmware-bridge/devices/chafon/codec.js';
import type { NewEvent } from '../../gateway/outbox/store.js';
import { SEED, Tally, ensureBuilt, withTimeout } from './harness.js';

const BRIDGE_BIN = path.resolve('dist/storegw-bridge.js');
const tmp = tempDir('sgw-hostile-serial-');
const tally = new Tally('serial-frames');
let gw: RunningGateway;
let bridge: ChildProcess;
const bridgeOut: string[] = [];
const socats: Socat[] = [];
const ports = new Map<string, SerialTransport>();
const committed: NewEvent[] = [];

const DEVICES = [
  { kind: 'scale', id: 'mt-1', protocol: 'mtsics', options: { mode: 'stream' } },
  { kind: 'scale', id: 'tol-1', protocol: 'toledoContinuous', options: {} },
  { kind: 'rfid', id: 'rf-1', protocol: 'chafon', options: { variant: '288', roundIntervalMs: 60_000 } },
] as const;
type DeviceId = (typeof DEVICES)[number]['id'];

beforeAll(async () => {
  ensureBuilt();
  gw = await startGateway({ devices: DEVICES.map((d) => ({ kind: d.kind, id: d.id, bridge: 'kb' })), bridges: ['kb'] });
  gw.gw.onEvent((e) => committed.push(e));
  for (const d of DEVICES) {
    const host = path.join(tmp.dir, 'pty', d.id);
    socats.push(await startSocat(host, `${host}.sim`));
    const port = new SerialTransport({ path: `${host}.sim`, baudRate: 9600, presenceCheckMs: 0 });
    await port.open();
    port.on('data', () => undefined); // the bridge's commands (SIR, inventory): read and dropped
    ports.set(d.id, port);
  }
  writeFileSync(path.join(tmp.dir, 'bridge.secret'), `${TEST_SECRET}\n`, { mode: 0o600 });
  const cfg = {
    log: { level: 'info' },
    mqtt: { url: gw.mqttUrl, username: 'bridge/kb', passwordFile: 'bridge.secret', reconnect: { initialMs: 50, maxMs: 300 } },
    devices: DEVICES.map((d) => ({ kind: d.kind, id: d.id, protocol: d.protocol, serial: { path: path.join(tmp.dir, 'pty', d.id), presenceCheckMs: 0 }, options: d.options })),
  };
  const file = path.join(tmp.dir, 'bridge.yaml');
  writeFileSync(file, stringify(cfg), { mode: 0o600 });
  bridge = spawn(process.execPath, [BRIDGE_BIN, '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let buf = '';
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      buf += d.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        bridgeOut.push(line);
        if (line.includes('"storegw-bridge ready"')) resolve();
      }
    };
    bridge.stdout!.on('data', onData);
    bridge.stderr!.on('data', (d: Buffer) => bridgeOut.push(d.toString('utf8')));
    bridge.once('exit', (code) => reject(new Error(`bridge exited ${code}:\n${bridgeOut.join('\n')}`)));
  });
  await withTimeout(ready, 30_000, 'storegw-bridge ready');
}, 60_000);

afterAll(async () => {
  tally.print();
  if (bridge && bridge.exitCode === null && bridge.signalCode === null) bridge.kill('SIGKILL');
  for (const p of ports.values()) await p.close().catch(() => undefined);
  for (const s of socats) await s.stop().catch(() => undefined);
  await gw?.stop();
  tmp.remove();
});

let unique = 0;
/** One valid frame with a value no other frame carries, and how to recognise its event. */
function validFrame(id: DeviceId): { bytes: Buffer; match: (e: NewEvent) => boolean } {
  const n = ++unique;
  if (id === 'mt-1') {
    const grams = 1000 + n;
    return { bytes: mtsicsResponse({ kind: 'weight', id: 'S', status: 'S', value: String(grams), unit: 'g', grams }), match: (e) => e.deviceId === id && JSON.parse(e.data).grams === grams };
  }
  if (id === 'tol-1') {
    const grams = 2000 + n;
    return { bytes: toledoFrame({ weightCount: grams, decimals: 0, unit: 'g' }), match: (e) => e.deviceId === id && JSON.parse(e.data).grams === grams };
  }
  const epc = `E2801160${String(n).padStart(16, '0')}`;
  return { bytes: encodeInventoryResponse('288', { adr: 0, status: 0x01, antenna: 1, tags: [{ epc, rssi: 0x50 }] }), match: (e) => e.deviceId === id && JSON.parse(e.data).epc === epc };
}

function waitCommitted(match: (e: NewEvent) => boolean, onTick: () => Promise<void>): Promise<void> {
  return withTimeout(
    (async () => {
      for (let tick = 0; !committed.some(match); tick++) {
        // The device keeps talking (a sentinel frame) every ~100 ms, as real ones do.
        if (tick % 50 === 49) await onTick();
        await new Promise((r) => setTimeout(r, 2));
      }
    })(),
    20_000,
    'a valid frame to become an event',
  );
}

const garbage = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 4000, size: 'large' }).map((b) => Buffer.from(b)),
  fc.constantFrom(Buffer.from([0x02]), Buffer.from([0x82]), Buffer.from([0x02, 0x20, 0x20]), Buffer.from('\r\n'), Buffer.from('S S'), Buffer.from([0xff, 0xff]), Buffer.from([0x05, 0x00, 0x01])),
  fc.string({ unit: 'binary-ascii', maxLength: 300 }).map((s) => Buffer.from(s, 'latin1')),
);

describe('serial frames through the bridge process', () => {
  for (const d of DEVICES) {
    it(`${d.protocol}: valid frames among garbage all become events, the bridge lives`, async () => {
      const port = ports.get(d.id)!;
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(garbage, fc.boolean(), fc.integer({ min: 1, max: 64 })), { minLength: 1, maxLength: 6 }), async (parts) => {
          tally.add(`${d.protocol}: cases`);
          const expected: ((e: NewEvent) => boolean)[] = [];
          let stream = Buffer.alloc(0);
          for (const [junk, withFrame] of parts) {
            // A line protocol resynchronises at the line end only.
            stream = Buffer.concat([stream, d.protocol === 'mtsics' ? Buffer.concat([junk, Buffer.from('\r\n')]) : junk]);
            tally.add(`${d.protocol}: garbage bytes`, junk.length);
            if (withFrame) {
              const f = validFrame(d.id);
              stream = Buffer.concat([stream, f.bytes]);
              expected.push(f.match);
              tally.add(`${d.protocol}: valid frames`);
            }
          }
          // Written in the chunk sizes drawn, so frames also arrive split across reads.
          let at = 0;
          for (let i = 0; at < stream.length; i++) {
            const size = parts[i % parts.length][2];
            await port.write(stream.subarray(at, at + size));
            at += size;
          }
          const sentinel = async () => {
            await port.write(validFrame(d.id).bytes);
          };
          for (const m of expected) await waitCommitted(m, sentinel);
          expect(bridge.exitCode).toBeNull();
          expect(bridge.signalCode).toBeNull();
        }),
        { seed: SEED, numRuns: 100 },
      );
    }, 120_000);
  }

  it('the bridge stops cleanly and counted the garbage per device', async () => {
    bridge.kill('SIGTERM');
    const [code] = (await once(bridge, 'exit')) as [number | null];
    expect(code).toBe(0);
    const stopped = bridgeOut.find((l) => l.includes('"stopped"'));
    expect(stopped).toBeDefined();
    const stats = (JSON.parse(stopped!) as { stats: { id: string; badFrames: number; garbageBytes: number }[] }).stats;
    for (const d of DEVICES) {
      const s = stats.find((x) => x.id === d.id)!;
      tally.add(`${d.protocol}: counted bad frames`, s.badFrames);
      tally.add(`${d.protocol}: counted garbage bytes`, s.garbageBytes);
      expect(s.badFrames + s.garbageBytes, d.id).toBeGreaterThan(0);
    }
    expect(bridgeOut.filter((l) => /uncaught|Maximum call stack|^\s+at /.test(l))).toEqual([]);
  }, 60_000);
});
