/**
 * Hostile HQ feeds: a seeded fast-check run of arbitrary payloads on the price-feed topics of a
 * real Mosquitto (HQ), handled by the real in-process gateway, one at a time:
 * garbage bytes, JSON of any shape, envelopes with wrong field types, and validly signed
 * (test key) feeds with hostile bodies — huge and negative and fractional prices, numbers past
 * 2^53, duplicate keys in the signed text, deep nesting, wrong feed/scope/mode, stale versions,
 * version gaps, payloads over the size cap — mixed with valid snapshots and deltas.
 *
 * For every payload: the gateway lives (its feed connection stays up, HTTP answers); the feed is
 * either applied exactly (the catalog equals a model fed the signed body as JSON.parse reads it)
 * or refused with a stable SGW_ERR_FEED_* code, a reason that names the field, a counted metric
 * and a committed FEED_REJECTED record; a refused feed changes no price and no version.
 *
 * The records go through the outbox like every exact record: this suite also holds the outbox to
 * storing text exactly (a rejection reason quoting the payload may hold `$'`, see the last test).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { metric, startGateway, type RunningGateway } from '../helpers/gatewayHarness.js';
import { createHqSigner } from '../sim/hqSigner.js';
import { connectHqFeeds, gtinOf, until, type HqFeeds } from '../sim/hqFeeds.js';
import type { PriceService } from '../../gateway/prices/prices.js';
import type { NewEvent } from '../../gateway/outbox/store.js';

const SEED = 1305;
const RUNS = 400;
const MAX_FEED = 32 * 1024;
const signer = createHqSigner({ kid: 'hq-hostile' });
const rogue = createHqSigner({ kid: 'hq-hostile' }); // same kid, another key
const stranger = createHqSigner({ kid: 'hq-unknown' });
const GTINS = [1, 2, 3, 4, 5].map(gtinOf);
const SCOPE = 'store:test-store';
const CODES = new Set([
  'SGW_ERR_FEED_NOT_JSON',
  'SGW_ERR_FEED_ENVELOPE',
  'SGW_ERR_FEED_UNKNOWN_KID',
  'SGW_ERR_FEED_BAD_SIGNATURE',
  'SGW_ERR_FEED_SIGNED_SHAPE',
  'SGW_ERR_FEED_WRONG_SCOPE',
  'SGW_ERR_FEED_WRONG_FEED',
  'SGW_ERR_FEED_STALE_VERSION',
  'SGW_ERR_FEED_BAD_BODY',
  'SGW_ERR_FEED_TOO_LARGE',
  'SGW_ERR_FEED_VERSION_GAP',
]);

let hq: Mosquitto;
let gw: RunningGateway;
let feeds: HqFeeds;
let prices: PriceService;
const records: NewEvent[] = [];
const tally = { cases: 0, applied: 0, refused: {} as Record<string, number> };

/** What the gateway must hold: store-scope prices per GTIN and the applied version. */
interface Model {
  prices: Map<string, number>;
  version: number;
}
const model: Model = { prices: new Map(), version: 0 };

function observed(): { prices: Record<string, number | null>; version: number | undefined } {
  return { prices: Object.fromEntries(GTINS.map((g) => [g, prices.priceAt(g)?.price ?? null])), version: prices.sync().versions['prices/store'] };
}
function expected(m: Model): { prices: Record<string, number | null>; version: number | undefined } {
  return { prices: Object.fromEntries(GTINS.map((g) => [g, m.prices.get(g) ?? null])), version: m.version === 0 ? undefined : m.version };
}
/** The model after a body the gateway applied, read the way JSON.parse reads the signed text. */
function applyToModel(m: Model, version: number, body: { mode: string; prices: { gtin: string; price: number }[]; remove?: string[] }): Model {
  const next = body.mode === 'snapshot' ? new Map<string, number>() : new Map(m.prices);
  for (const g of body.remove ?? []) next.delete(g);
  for (const r of body.prices) next.set(r.gtin, r.price);
  return { prices: next, version };
}

// ----- payload generators --------------------------------------------------------------------

interface Case {
  kind: string;
  /** Text of `signed` when the payload is a signed envelope (the oracle parses it). */
  signed?: string;
  payload: () => string | Buffer;
  /** A valid feed on the current version: it must be applied. */
  mustApply?: boolean;
}

const hostilePrice = fc.oneof(
  fc.constantFrom(-1, -0.5, 1.5, 1e308, 2 ** 53, 2 ** 53 + 2, 1_000_000_001, Number.MAX_VALUE),
  fc.integer({ min: 0, max: 1_000_000_000 }),
  fc.constantFrom('100', null, true, {}, [], '1e3'),
);
const rows = fc.uniqueArray(fc.record({ gtin: fc.constantFrom(...GTINS), price: fc.integer({ min: 0, max: 1_000_000_000 }) }), { selector: (r) => r.gtin, maxLength: 5 });

function signedText(version: number, body: unknown, over: Record<string, unknown> = {}): string {
  return JSON.stringify({ feed: 'prices', scope: SCOPE, version, issuedAt: new Date().toISOString(), body, ...over });
}
function nested(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

/** Generators read the model when the case runs (fc.constant + thunks), so versions follow it. */
const cases: fc.Arbitrary<Case> = fc.oneof(
  // Valid snapshots and deltas on the applied version: must apply, exactly.
  { weight: 3, arbitrary: fc.record({ mode: fc.constantFrom('snapshot', 'delta'), rows, remove: fc.subarray(GTINS), step: fc.integer({ min: 1, max: 3 }) }).map(({ mode, rows: r, remove, step }) => {
    const c: Case = { kind: `valid ${mode}`, mustApply: true, payload: () => '' };
    c.payload = () => {
      const body = mode === 'snapshot' ? { mode, currency: 'EUR', prices: r, promotions: [] } : { mode, baseVersion: model.version, currency: 'EUR', prices: r, promotions: [], remove: remove.filter((g) => !r.some((x) => x.gtin === g)) };
      c.signed = signedText(model.version + step, body);
      // A delta before anything was applied has no base: not "valid" then.
      if (mode === 'delta' && model.version === 0) c.mustApply = false;
      return signer.signText(c.signed);
    };
    return c;
  }) },
  // Garbage bytes.
  fc.uint8Array({ maxLength: 512 }).map((b) => ({ kind: 'garbage bytes', payload: () => Buffer.from(b) })),
  // Any JSON value as the payload.
  fc.jsonValue({ maxDepth: 6 }).map((v) => ({ kind: 'any JSON', payload: () => JSON.stringify(v) })),
  // Envelopes of the wrong shape.
  fc.record({ kid: fc.oneof(fc.string(), fc.integer(), fc.constant(signer.kid)), sig: fc.oneof(fc.string(), fc.base64String({ minLength: 88, maxLength: 88 })), signed: fc.oneof(fc.string(), fc.jsonValue()) }, { requiredKeys: [] }).map((env) => ({ kind: 'wrong envelope', payload: () => JSON.stringify(env) })),
  // Validly signed, hostile inside.
  { weight: 5, arbitrary: fc
    .record({
      mutation: fc.constantFrom('price', 'gtin', 'extra field', 'mode', 'gap', 'no base', 'stale', 'scope', 'feed', 'deep nesting', 'duplicate key', 'huge version', 'not an object', 'too large', 'signed not JSON', 'forged', 'unknown kid', 'tampered'),
      price: hostilePrice,
      depth: fc.integer({ min: 50, max: 5000 }),
      dupFirst: fc.integer({ min: 0, max: 5000 }),
      dupLast: fc.oneof(fc.integer({ min: -5, max: 5000 }), fc.constant(1.25)),
    })
    .map(({ mutation, price, depth, dupFirst, dupLast }) => {
      const c: Case = { kind: `signed: ${mutation}`, payload: () => '' };
      c.payload = () => {
        const v = model.version + 1;
        const base = { mode: 'snapshot', currency: 'EUR', prices: [{ gtin: GTINS[0], price: 77 }], promotions: [] as unknown[] };
        let text: string;
        switch (mutation) {
          case 'price':
            text = signedText(v, { ...base, prices: [{ gtin: GTINS[0], price }] });
            break;
          case 'gtin':
            text = signedText(v, { ...base, prices: [{ gtin: '12ab', price: 1 }] });
            break;
          case 'extra field':
            text = signedText(v, { ...base, admin: true });
            break;
          case 'mode':
            text = signedText(v, { ...base, mode: 'replace-all' });
            break;
          case 'gap':
            text = signedText(v, { ...base, mode: 'delta', baseVersion: model.version + 7 });
            break;
          case 'no base':
            text = signedText(v, { ...base, mode: 'delta' });
            break;
          case 'stale':
            text = signedText(Math.max(model.version, 0), base);
            break;
          case 'scope':
            text = signedText(v, base, { scope: 'store:other-store' });
            break;
          case 'feed':
            text = signedText(v, base, { feed: 'catalog' });
            break;
          case 'deep nesting':
            text = `{"feed":"prices","scope":"${SCOPE}","version":${v},"issuedAt":"${new Date().toISOString()}","body":{"mode":"snapshot","currency":"EUR","prices":[],"promotions":[],"x":${nested(depth)}}}`;
            break;
          case 'duplicate key':
            // JSON.parse keeps the last one; HQ's signer and the gateway must agree on that reading.
            text = `{"feed":"prices","scope":"${SCOPE}","version":${v},"issuedAt":"${new Date().toISOString()}","body":{"mode":"snapshot","currency":"EUR","prices":[{"gtin":"${GTINS[1]}","price":${dupFirst},"price":${dupLast}}],"promotions":[]}}`;
            break;
          case 'huge version':
            text = signedText(2 ** 53 + 2, base);
            break;
          case 'not an object':
            text = JSON.stringify([v, base]);
            break;
          case 'too large':
            text = signedText(v, { ...base, pad: 'x'.repeat(MAX_FEED) });
            break;
          case 'signed not JSON':
            text = `{"feed":"prices",${'"x":1,'.repeat(depth % 50)}`;
            break;
          default:
            text = '';
        }
        if (mutation === 'forged') return rogue.signText(signedText(v, base));
        if (mutation === 'unknown kid') return stranger.signText(signedText(v, base));
        if (mutation === 'tampered') {
          const env = JSON.parse(signer.signText(signedText(v, base))) as { signed: string };
          env.signed = env.signed.replace('"price":77', '"price":1');
          return JSON.stringify(env);
        }
        c.signed = text;
        return signer.signText(text);
      };
      return c;
    }) },
);

// ----- the run ---------------------------------------------------------------------------------

function handledCount(): number {
  const f = prices.sync().feeds;
  return f.applied + f.rejected;
}
function settled(): boolean {
  const s = prices.sync();
  const a = Object.keys(s.appliedVersions);
  return a.length === Object.keys(s.versions).length && a.every((k) => s.versions[k] === s.appliedVersions[k]);
}
function rejectRecord(code: string, after: number): Promise<NewEvent> {
  const find = () => records.slice(after).find((e) => (JSON.parse(e.data) as { feedRejected?: { code?: string } }).feedRejected?.code === code);
  // Alert records re-emit prices.changes (beforeAll), so this wakes on each commit.
  return until(prices.changes, 'change', () => find() !== undefined, 10_000, `FEED_REJECTED ${code}`, () => ({ records: records.length, after, rejected: prices.sync().feeds.rejected })).then(() => find()!);
}

beforeAll(async () => {
  hq = await startMosquitto();
  gw = await startGateway({ extra: { hq: { url: hq.url, publicKeys: [{ kid: signer.kid, pem: signer.publicKeyPem }], rejectRecordsPerMinute: 100_000 }, prices: { maxFeedBytes: MAX_FEED } } });
  prices = gw.gw.prices!;
  gw.gw.onEvent((e) => {
    if (e.type === 'alert') {
      records.push(e);
      prices.changes.emit('change');
    }
  });
  feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  await until(prices.changes, 'change', () => prices.sync().hqConnected, 20_000, 'HQ feed connection');
  await feeds.publish('catalog', 'store', 1, { mode: 'snapshot', items: GTINS.map((gtin, i) => ({ gtin, name: `Item ${i + 1}`, unit: 'each' })) });
  await until(prices.changes, 'change', () => prices.sync().feeds.applied === 1 && settled(), 20_000, 'catalog applied');
}, 60_000);

afterAll(async () => {
  await feeds?.close();
  await gw?.stop();
  await hq?.stop();
  console.info(`hostile hqFeeds: ${tally.cases} cases, ${tally.applied} applied exactly, refused by code ${JSON.stringify(tally.refused)}`);
});

describe('hostile HQ feeds', () => {
  it(`each of ${RUNS} payloads is applied exactly or refused by name; a refused one changes nothing; the gateway lives`, async () => {
    await fc.assert(
      fc.asyncProperty(cases, fc.boolean(), async (c, allTopic) => {
        tally.cases++;
        const payload = c.payload();
        const before = observed();
        const n = handledCount();
        const rejected = prices.sync().feeds.rejected;
        const nRecords = records.length;
        // Unsigned junk may also arrive on the all-stores topic; signed cases carry a store scope.
        const scope = !c.signed && allTopic ? 'all' : 'store';
        await feeds.publishRaw('prices', scope, payload as string);
        await until(prices.changes, 'change', () => handledCount() > n && settled(), 20_000, `${c.kind} handled`);
        const s = prices.sync();
        if (s.feeds.rejected > rejected) {
          const alert = s.alerts.at(-1)!;
          tally.refused[alert.code] = (tally.refused[alert.code] ?? 0) + 1;
          expect(c.mustApply ?? false, `${c.kind} must apply, got ${alert.code}: ${alert.reason}`).toBe(false);
          expect(CODES.has(alert.code), alert.code).toBe(true);
          expect(alert.reason).toMatch(/^(payload|envelope|signed)(\.|:|\[| )/);
          expect(observed()).toEqual(before);
          const rec = await rejectRecord(alert.code, nRecords);
          expect(rec.cls).toBe('exact');
        } else {
          tally.applied++;
          expect(c.signed, `${c.kind} was applied`).toBeDefined();
          const signed = JSON.parse(c.signed!) as { version: number; body: Parameters<typeof applyToModel>[2] };
          const next = applyToModel(model, signed.version, signed.body);
          expect(observed()).toEqual(expected(next));
          Object.assign(model, next);
        }
        expect(prices.sync().hqConnected).toBe(true);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    expect(await metric(gw.httpUrl, 'storegw_feed_applied_total{feed="prices",scope="store"}')).toBe(tally.applied);
    const counted = Object.entries(tally.refused).reduce((sum, [, k]) => sum + k, 0);
    expect(counted + tally.applied).toBe(tally.cases);
  }, 120_000);

  // Shrunk from the run above: the JSON.parse error of the payload `$` quotes it as `'$'`, and the
  // FEED_REJECTED record holding `$'` was never committed while the outbox spliced values into SQL
  // with String.replace (outbox/store.ts, appendGroup), whose replacement string gives `$'` a meaning.
  it("records a rejection whose reason holds `$'` exactly", async () => {
    const n = records.length;
    await feeds.publishRaw('prices', 'store', "$'$&$$$`");
    const rec = await rejectRecord('SGW_ERR_FEED_NOT_JSON', n);
    const alert = prices.sync().alerts.at(-1)!;
    expect((JSON.parse(rec.data) as { message: string }).message).toBe(`prices feed rejected: ${alert.reason}`);
    expect(alert.reason).toContain("'$'");
  });
});
