/**
 * HQ's feed publisher for tests, the demo and the bench: signs feeds with `hqSigner` and publishes
 * them (QoS 1) on the HQ Mosquitto to `hq/v1/store/{storeId}/{feed}` or `hq/v1/all/{feed}`.
 * Also builds store-sized feed bodies (N labels over M access points) from a seed.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { topics } from '../../gateway/protocol/topics.js';
import type { HqSigner } from './hqSigner.js';

export interface HqFeeds {
  client: MqttClient;
  /**
   * Signs and publishes a feed; `scope` "store" goes to the store topic with `store:{storeId}`.
   * A delta body without `baseVersion` gets the version this publisher last sent on that feed and
   * scope, as a real HQ names the version a delta applies to (the gateway refuses a gap).
   */
  publish(feed: string, scope: 'store' | 'all', version: number, body: unknown, issuedAt?: string): Promise<string>;
  /** Publishes any payload on a feed topic (for malformed/forged feeds). */
  publishRaw(feed: string, scope: 'store' | 'all', payload: string): Promise<void>;
  close(): Promise<void>;
}

export async function connectHqFeeds(url: string, storeId: string, signer: HqSigner): Promise<HqFeeds> {
  const client = await mqtt.connectAsync(url, { clientId: `hq-feeds-${Math.random().toString(36).slice(2, 8)}`, reconnectPeriod: 0 });
  const topicOf = (feed: string, scope: 'store' | 'all') => (scope === 'all' ? topics.hqAllFeed(feed) : topics.hqStoreFeed(storeId, feed));
  const sent = new Map<string, number>();
  return {
    client,
    async publish(feed, scope, version, body, issuedAt = new Date().toISOString()) {
      const key = `${feed}/${scope}`;
      const b = body as Record<string, unknown>;
      const base = sent.get(key);
      const withBase = b && typeof b === 'object' && b.mode === 'delta' && !('baseVersion' in b) && base !== undefined ? { ...b, baseVersion: base } : body;
      const payload = signer.sign({ feed, scope: scope === 'all' ? 'all' : `store:${storeId}`, version, issuedAt, body: withBase });
      await client.publishAsync(topicOf(feed, scope), payload, { qos: 1 });
      sent.set(key, version);
      return payload;
    },
    async publishRaw(feed, scope, payload) {
      await client.publishAsync(topicOf(feed, scope), payload, { qos: 1 });
    },
    async close() {
      await client.endAsync();
    },
  };
}

export interface StoreFeeds {
  catalog: { mode: 'snapshot'; items: { gtin: string; name: string; unit: 'each' | 'kg'; expectedWeightG?: number; weightToleranceG?: number; ageRestriction?: number; vatRateBp?: number; fields?: Record<string, string> }[] };
  prices: { mode: 'snapshot'; currency: string; prices: { gtin: string; price: number; memberPrices?: Record<string, number> }[]; promotions: unknown[] };
  labels: { mode: 'snapshot'; bindings: { labelId: string; gtin: string; ap: string }[] };
  /** AP id → its label ids. */
  labelsByAp: Map<string, string[]>;
}

/** A GTIN-13 with a valid check digit from a number (GS1 mod-10). */
export function gtinOf(n: number): string {
  const body = `20${String(n).padStart(10, '0')}`;
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(body[i]) * (i % 2 === 0 ? 1 : 3);
  return body + String((10 - (sum % 10)) % 10);
}

/** `labels` items, one label each, spread round-robin over `aps` access points `ap-1…`. */
export function storeFeeds(labels: number, aps: number, priceOf: (i: number) => number = (i) => 100 + (i % 900)): StoreFeeds {
  const items: StoreFeeds['catalog']['items'] = [];
  const prices: StoreFeeds['prices']['prices'] = [];
  const bindings: StoreFeeds['labels']['bindings'] = [];
  const labelsByAp = new Map<string, string[]>();
  for (let i = 0; i < labels; i++) {
    const gtin = gtinOf(i + 1);
    items.push({ gtin, name: `Item ${i + 1}`, unit: i % 10 === 0 ? 'kg' : 'each', expectedWeightG: 100 + (i % 500), weightToleranceG: 10 });
    prices.push({ gtin, price: priceOf(i) });
    const ap = `ap-${(i % aps) + 1}`;
    const labelId = `L${String(i + 1).padStart(6, '0')}`;
    bindings.push({ labelId, gtin, ap });
    const list = labelsByAp.get(ap) ?? [];
    list.push(labelId);
    labelsByAp.set(ap, list);
  }
  return { catalog: { mode: 'snapshot', items }, prices: { mode: 'snapshot', currency: 'EUR', prices, promotions: [] }, labels: { mode: 'snapshot', bindings }, labelsByAp };
}

/**
 * Resolves when `pred()` is true, checked at once and on every `event` of `emitter` (never by
 * polling); rejects after `timeoutMs` with `what` and the last value of `describe()`.
 */
export function until(emitter: NodeJS.EventEmitter, event: string, pred: () => boolean, timeoutMs: number, what: string, describe: () => unknown = () => ''): Promise<void> {
  return new Promise((resolve, reject) => {
    if (pred()) return resolve();
    const onEvent = () => {
      if (!pred()) return;
      clearTimeout(timer);
      emitter.off(event, onEvent);
      resolve();
    };
    const timer = setTimeout(() => {
      emitter.off(event, onEvent);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${JSON.stringify(describe())}`));
    }, timeoutMs);
    emitter.on(event, onEvent);
  });
}

/** Logs in an ops user and returns the session cookie header. */
export async function login(httpUrl: string, username: string, password: string): Promise<string> {
  const res = await fetch(`${httpUrl}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  if (res.status !== 200) throw new Error(`login ${username}: HTTP ${res.status}`);
  const cookie = res.headers.get('set-cookie');
  if (!cookie) throw new Error('login: no cookie');
  return cookie.split(';')[0];
}
