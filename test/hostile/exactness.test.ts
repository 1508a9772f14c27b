/**
 * Every acknowledged byte is stored exactly, through a real gateway process: arbitrary Unicode
 * (`$` replacement patterns, quotes, backslashes, NUL, lone and paired surrogates as JSON escapes,
 * astral characters, the schemas' maximum lengths) in event fields is PUBACKed and comes back
 * identical from `storegw outbox export`; a bad payload holding the same text is kept verbatim as
 * a dead letter (`storegw outbox dead-letters`); an alert's message is kept verbatim in the ops
 * alert book; a birth's text is kept verbatim in the device state. Seeded, bounded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { MqttClient } from 'mqtt';
import { GATEWAY_BIN, connectDevice, spawnGateway, writeConfigFile, TEST_SECRET, type GatewayProcess } from '../helpers/gatewayHarness.js';
import { tempDir } from '../helpers/tmp.js';
import { OutboxStore } from '../../gateway/outbox/store.js';
import { api, login } from '../integration/gateway/opsClient.js';
import { utf8Prefix } from '../../gateway/ingest/ingest.js';

/** A dead letter keeps the first 4 KiB of its payload, whole characters only. */
const keptOf = (p: string): string => utf8Prefix(Buffer.from(p, 'utf8'), 4096);

const SEED = 1305;
const RUNS = 300;
const CMD_RUNS = 60;

beforeAll(() => {
  if (!existsSync(GATEWAY_BIN)) {
    const b = spawnSync(process.execPath, ['build.mjs'], { stdio: 'inherit' });
    if (b.status !== 0) throw new Error('node build.mjs failed');
  }
});

const tmp = tempDir('sgw-exact-');
const dataDir = path.join(tmp.dir, 'data');
let configFile: string;
let gw: GatewayProcess;
let scanner: MqttClient;
afterAll(async () => {
  await scanner?.endAsync(true).catch(() => undefined);
  await gw?.kill();
  tmp.remove();
});

/** The pieces attackers and broken firmware like: replacement patterns, quotes, NUL, surrogates. */
const SPECIAL = ['$&', '$$', '$`', "$'", '$1', '$<a>', "'", "''", '"', '\\', '\\u0000', '\u0000', '\ud800', '\udfff', '\udbff\udfff', '😀', '\u2028', '\ufeff', '%s', '?1', ';--', '\n', '\r\n', '\t', '\u007f', '\u0085'];
const piece = fc.oneof(fc.constantFrom(...SPECIAL), fc.string({ unit: 'binary', maxLength: 8 }), fc.string({ unit: 'grapheme', maxLength: 4 }));

/** Text of `min..max` code points (the schemas count code points); sometimes exactly `max`. */
function text(min: number, max: number): fc.Arbitrary<string> {
  return fc.tuple(fc.array(piece, { maxLength: 24 }), fc.boolean()).map(([parts, full]) => {
    let cps = [...parts.join('')];
    if (full && cps.length > 0) while (cps.length < max) cps = cps.concat(cps);
    cps = cps.slice(0, max);
    while (cps.length < min) cps.push('$&');
    return cps.join('');
  });
}

const UNPAIRED = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
function wellFormed(s: string): boolean {
  return !UNPAIRED.test(s);
}

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [GATEWAY_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Decoded once at the end: a chunk may end inside a multi-byte character.
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    p.stdout.on('data', (d: Buffer) => stdout.push(d));
    p.stderr.on('data', (d: Buffer) => stderr.push(d));
    p.once('error', reject);
    p.once('close', (code) => resolve({ code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') }));
  });
}

function acked(p: Promise<unknown>, what: string, ms = 20_000): Promise<unknown> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise((_, reject) => (t = setTimeout(() => reject(new Error(`no PUBACK in ${ms} ms for ${what}`)), ms)))]).finally(() => clearTimeout(t));
}

// The two halves each have a gateway and folder of their own and spend their time on round trips
// to it: they run side by side.
describe.concurrent('hostile text is stored exactly (real gateway process)', () => {
  beforeAll(async () => {
    mkdirSync(dataDir, { recursive: true });
    configFile = await writeConfigFile(tmp.dir, { dataDir, devices: [{ kind: 'scanner', id: 'scan-1' }] });
    gw = await spawnGateway(configFile);
    scanner = await connectDevice(`mqtt://127.0.0.1:${gw.mqttPort}`, 'scanner/scan-1', TEST_SECRET);
  });

  it(`events, dead letters and births: ${RUNS} seeded cases`, async () => {
    const sentCodes: string[] = [];
    const sentMessages: string[] = [];
    const sentDead: string[] = [];
    let lastBirth: { model: string; firmware: string; capabilities: string[] } | null = null;
    let tried = 0;
    await fc.assert(
      fc.asyncProperty(text(1, 512), text(0, 1024), text(1, 128), text(1, 64), text(0, 64), async (code, message, model, firmware, cap) => {
        tried++;
        const ts = new Date().toISOString();
        // Text with an unpaired surrogate is legal JSON but not Unicode: refused with the field
        // named (a store keeping the parsed value would turn it into U+FFFD), kept as a dead letter.
        const scan = JSON.stringify({ ts, code });
        await acked(scanner.publishAsync('store/v1/dev/scanner/scan-1/evt/scan', scan, { qos: 1 }), 'scan');
        if (wellFormed(code)) sentCodes.push(code);
        else sentDead.push(keptOf(scan));
        const alert = JSON.stringify({ ts, code: 'JAM', severity: 'warning', message });
        await acked(scanner.publishAsync('store/v1/dev/scanner/scan-1/evt/alert', alert, { qos: 1 }), 'alert');
        if (wellFormed(message)) sentMessages.push(message);
        else sentDead.push(keptOf(alert));
        // Breaks the schema (ts is a number): a dead letter that must keep the text as sent.
        const bad = JSON.stringify({ ts: 1, code });
        await acked(scanner.publishAsync('store/v1/dev/scanner/scan-1/evt/scan', bad, { qos: 1 }), 'bad payload');
        sentDead.push(keptOf(bad));
        const birth = { ts, model, firmware, capabilities: [cap] };
        await acked(scanner.publishAsync('store/v1/dev/scanner/scan-1/birth', JSON.stringify(birth), { qos: 1, retain: true }), 'birth');
        lastBirth = { model, firmware, capabilities: [cap] };
      }),
      { seed: SEED, numRuns: RUNS },
    );
    expect(tried).toBe(RUNS);
    expect(sentCodes.length).toBeGreaterThan(RUNS / 2); // most cases are well-formed text, stored
    expect(sentDead.length).toBeGreaterThan(RUNS); // and some are refused for a lone surrogate
    expect(gw.proc.exitCode).toBeNull(); // the process lives

    // Every acknowledged event, exactly, from the operator's export (while the gateway runs).
    const out = await cli(['outbox', 'export', '--config', configFile]);
    expect(out.code).toBe(0);
    const recs = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; data: Record<string, unknown> });
    expect(recs.filter((r) => r.type === 'scan').map((r) => r.data.code)).toEqual(sentCodes);
    expect(recs.filter((r) => r.type === 'alert').map((r) => r.data.message)).toEqual(sentMessages);

    // Every dead letter, verbatim: from the store and from the operator's dead-letter export.
    const ro = new OutboxStore(path.join(dataDir, 'outbox.db'), { readonly: true });
    await ro.start();
    const dead = await ro.recentDeadLetters('scan-1', RUNS * 4);
    await ro.stop();
    expect(dead.map((d) => d.payload).reverse()).toEqual(sentDead);
    const dl = await cli(['outbox', 'dead-letters', '--config', configFile]);
    expect(dl.code).toBe(0);
    const exported = dl.stdout.trim().split('\n').map((l) => JSON.parse(l) as { deviceId: string; payload: string });
    expect(exported.filter((d) => d.deviceId === 'scan-1').map((d) => d.payload)).toEqual(sentDead);

    // The ops alert book (kpi.db) keeps each device alert's message as sent (written after commit).
    const http = `http://127.0.0.1:${gw.httpPort}`;
    const cookie = await login(http, 'viewer');
    let book: string[] = [];
    for (const end = Date.now() + 30_000; Date.now() < end; ) {
      const r = await api(http, cookie, 'GET', '/api/alerts?limit=1000');
      book = (r.json.alerts as { source: string; message: string }[]).filter((a) => a.source === 'scanner/scan-1').map((a) => a.message);
      if (book.length >= sentMessages.length) break;
      await new Promise((res) => setTimeout(res, 100)); // the book is written just after the commit
    }
    expect(book.reverse()).toEqual(sentMessages);

    // The birth as the device state keeps it (flushed on a clean stop).
    await gw.kill('SIGTERM');
    const stateDb = new Database(path.join(dataDir, 'state.db'), { readonly: true });
    const row = stateDb.prepare("SELECT birth FROM device_state WHERE kind = 'scanner' AND id = 'scan-1'").get() as { birth: string | null } | undefined;
    stateDb.close();
    const birth = row?.birth ?? null;
    expect(birth).not.toBeNull();
    const b = JSON.parse(birth!) as { model: string; firmware: string; capabilities: string[] };
    expect({ model: b.model, firmware: b.firmware, capabilities: b.capabilities }).toEqual(lastBirth);
  }, 240_000);
});

describe.concurrent('a device\'s command error text is stored exactly (real gateway process)', () => {
  const tmp2 = tempDir('sgw-exact-cmd-');
  let gw2: GatewayProcess;
  let dev: MqttClient;
  afterAll(async () => {
    await dev?.endAsync(true).catch(() => undefined);
    await gw2?.kill();
    tmp2.remove();
  });

  it(`ack errors: ${CMD_RUNS} seeded cases`, async () => {
    const dir = path.join(tmp2.dir, 'data');
    mkdirSync(dir, { recursive: true });
    const file = await writeConfigFile(tmp2.dir, { dataDir: dir, devices: [{ kind: 'scanner', id: 'scan-2' }] });
    gw2 = await spawnGateway(file);
    const http = `http://127.0.0.1:${gw2.httpPort}`;
    dev = await connectDevice(`mqtt://127.0.0.1:${gw2.mqttPort}`, 'scanner/scan-2', TEST_SECRET);
    await dev.subscribeAsync('store/v1/dev/scanner/scan-2/cmd/#', { qos: 1 });
    const cookie = await login(http, 'attendant');
    let tried = 0;
    await fc.assert(
      fc.asyncProperty(text(0, 512).filter(wellFormed), async (error) => {
        tried++;
        const cmd = new Promise<{ cmdId: string }>((resolve) => dev.once('message', (_t, p) => resolve(JSON.parse(p.toString('utf8')) as { cmdId: string })));
        const sent = await api(http, cookie, 'POST', '/api/devices/scanner/scan-2/commands', { type: 'beep', data: { pattern: 'error' } });
        expect(sent.status).toBe(202);
        const { cmdId } = await cmd;
        expect(cmdId).toBe(sent.json.cmdId);
        await acked(dev.publishAsync('store/v1/dev/scanner/scan-2/evt/ack', JSON.stringify({ ts: new Date().toISOString(), cmdId, ok: false, error }), { qos: 1 }), 'ack');
        let got: { cmdId: string; error: string | null } | undefined;
        for (const end = Date.now() + 20_000; Date.now() < end; ) {
          const d = await api(http, cookie, 'GET', '/api/devices/scanner/scan-2');
          got = (d.json.commands.recent as { cmdId: string; error: string | null }[]).find((c) => c.cmdId === cmdId);
          if (got) break;
          await new Promise((res) => setTimeout(res, 20)); // the ack is applied just after its commit
        }
        expect(got?.error).toBe(error);
      }),
      { seed: SEED, numRuns: CMD_RUNS },
    );
    expect(tried).toBe(CMD_RUNS);
    expect(gw2.proc.exitCode).toBeNull();
  }, 240_000);
});
