/**
 * HQ's tools end to end, as an HQ engineer runs them: `storegw-hq keys new`, the stores' key
 * config from `keys gateway-config`, `sign` from the example CSVs and `publish` into a real
 * Mosquitto (HQ's broker); a real gateway takes the feeds and prices an item from them. Also:
 * `publish` refuses a feed whose signed scope is not the target it was given, before sending.
 * The catalog's publish to all stores runs the real `dist/storegw-hq.js`; the other steps call the
 * commands in this process (hqInProcess.ts), where what they decide is the point, not the process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { startGateway, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';
import { until } from '../../sim/hqFeeds.js';
import { hqInProcess } from './hqInProcess.js';

const HQ_BIN = path.resolve('dist/storegw-hq.js');
const run = promisify(execFile);
const tmp = tempDir('hq-tools-');
const keys = path.join(tmp.dir, 'keys');
let hq: Mosquitto;
let gw: RunningGateway;

/** One real `storegw-hq` process. */
async function hqProcess(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await run(process.execPath, [HQ_BIN, ...args]);
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

const hqTool = (name: string, ...args: string[]) => hqInProcess(name, args);

const catalog = path.join(tmp.dir, 'catalog.signed.json');
const prices = path.join(tmp.dir, 'prices.signed.json');

/** Signs the examples one after the other: two `sign` runs on one keys folder at once could race on its versions file. */
async function signExamples(): Promise<void> {
  expect((await hqTool('sign', '--feed', 'catalog', '--scope', 'all', '--in', 'hq/examples/catalog.csv', '--keys', keys, '--out', catalog)).code).toBe(0);
  expect((await hqTool('sign', '--feed', 'prices', '--scope', 'store:test-store', '--in', 'hq/examples/prices.csv', '--keys', keys, '--currency', 'EUR', '--out', prices)).code).toBe(0);
}

beforeAll(async () => {
  const [broker, created] = await Promise.all([startMosquitto(), hqTool('keys', 'new', '--dir', keys, '--kid', 'hq-2026')]);
  hq = broker;
  expect(created.code, created.err).toBe(0);
  const snippet = await hqTool('keys', 'gateway-config', '--dir', keys);
  const { publicKeys } = parse(snippet.out) as { publicKeys: { kid: string; pem: string }[] };
  const [started] = await Promise.all([startGateway({ extra: { hq: { url: hq.url, publicKeys } } }), signExamples()]);
  gw = started;
});

afterAll(async () => {
  await gw?.stop();
  await hq?.stop();
  tmp.remove();
});

describe('storegw-hq sign + publish', () => {
  it('a catalog for all stores and prices for this store, signed from CSV and published retained, are applied by the gateway', async () => {
    const password = path.join(tmp.dir, 'hq.password');
    writeFileSync(password, 'not-checked-by-this-broker\n', { mode: 0o600 }); // publish refuses a password file others can read

    const [toAll, toStore] = await Promise.all([
      hqProcess('publish', '--mqtt', hq.url, '--user', 'hq-tools', '--password-file', password, '--all', catalog),
      hqTool('publish', '--mqtt', hq.url, '--store', 'test-store', prices),
    ]);
    expect(toAll.code, toAll.err).toBe(0);
    expect(toAll.out).toMatch(/^hq\/v1\/all\/catalog ← catalog all version \d+ \(kid hq-2026\)/);
    expect(toStore.code, toStore.err).toBe(0);
    expect(toStore.out).toMatch(/^hq\/v1\/store\/test-store\/prices ← prices store:test-store version \d+/);

    const service = gw.gw.prices!;
    // hq/examples/prices.csv: 4001686301265 at 1.99 (price:decimal), 1.79 for gold members.
    await until(service.changes, 'change', () => service.priceAt('4001686301265')?.price === 199, 10_000, 'the signed prices applied', () => service.sync().feeds);
    expect(service.priceAt('4001686301265')).toMatchObject({ name: 'Bananas, loose', unit: 'kg', currency: 'EUR', base: 199 });
    expect(service.sync().feeds.rejected).toBe(0);
  });

  it('publish refuses a feed signed for another scope than its target, and sends nothing', async () => {
    const [wrong, other] = await Promise.all([hqTool('publish', '--mqtt', 'mqtt://127.0.0.1:1', '--all', prices), hqTool('publish', '--mqtt', 'mqtt://127.0.0.1:1', '--store', 'other-store', prices)]);
    expect(wrong.code).toBe(2);
    expect(wrong.err).toMatch(/signed for store test-store \(scope "store:test-store"\); publish it with --store test-store/);
    expect(other.code).toBe(2);
    // Port 1 is never reached: the check comes before the connection.
    expect(other.err).not.toMatch(/ECONNREFUSED/);
  });

  it('sign exits 2 naming the row and column of a bad cell', async () => {
    const bad = path.join(tmp.dir, 'prices.csv');
    writeFileSync(bad, 'gtin,price\n4006381333931,129\n4001686301265,"1,99"\n');
    const r = await hqTool('sign', '--feed', 'prices', '--scope', 'all', '--in', bad, '--keys', keys, '--currency', 'EUR');
    expect(r.code).toBe(2);
    expect(r.err).toBe('prices.csv:3: column price: must be an integer ≥ 0 (got "1,99")\n');
  });
});
