/**
 * HQ feed checking off the main thread: parse, Ed25519 signature, schema (feedVerify.ts) and the
 * table writes (feedRows.ts) of a feed run in a worker thread (feedWorker.ts); the main thread
 * gets back a verdict and a few flat JSON strings.
 *
 * Why a worker and not chunking: the two JSON.parse calls of a 2.5 MB feed (the envelope, then
 * `signed`) are one native call each (~30 ms), the signature is one call over all the bytes, and
 * an ajv validator walks the whole body in one go; none of them can be cut into ≤ 10 ms slices
 * without writing our own streaming parser and validator. In a worker they cost the main thread
 * nothing, and their garbage lands in the worker's heap. The reply is strings only: a structured
 * clone of the 60k-row body would cost the main thread ~35–60 ms to deserialize (measured, see
 * feedCheck.test.ts), the strings a copy.
 *
 * The worker file sits next to this module once built (dist/feedWorker.js beside dist/storegw.js).
 * When it is not there — the TypeScript sources run under vitest, and a Worker cannot load .ts —
 * the same `checkFeed` runs on the main thread.
 *
 * The worker runs under `resourceLimits` (heap, stack): a hostile feed that needs more memory than
 * a real one kills the worker, not the gateway. The feed that was being checked when the worker
 * died or threw is refused for good (SGW_ERR_FEED_POISON) and never re-checked on the main
 * thread, where the same bytes would exhaust the gateway's own heap; a new worker checks the next.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../log.js';
import { createFeedVerifier, type FeedError, type FeedVerifier, type FeedVerifyContext } from '../protocol/feedVerify.js';
import { FEED_BODY_SCHEMAS, type PriceFeed } from '../protocol/schemas/feeds/priceFeeds.js';
import { prepareFeedRows, type PreparedFeed } from './feedRows.js';
import { deltaBaseError } from '../hq/feedPolicy.js';

/** A verified feed, its body already turned into table writes. */
export interface CheckedFeedOk {
  ok: true;
  kid: string;
  feed: PriceFeed;
  scope: string;
  version: number;
  issuedAt: string;
  prepared: PreparedFeed;
}
export type CheckedFeed = CheckedFeedOk | FeedError;

export interface FeedCheckData {
  storeId: string;
  /** kid → Ed25519 public key PEM. */
  keys: Record<string, string>;
}

/** Worker protocol: one request per feed, answered by id. */
export interface CheckRequest {
  id: number;
  payload: Uint8Array;
  ctx: FeedVerifyContext;
}
export type CheckReply = { ready: true } | { id: number; result: CheckedFeed } | { id: number; error: string };

export function createPriceFeedVerifier(d: FeedCheckData): FeedVerifier {
  return createFeedVerifier({ storeId: d.storeId, keys: d.keys, bodySchemas: FEED_BODY_SCHEMAS });
}

/** Verifies one feed and prepares its table writes; pure, never throws on wire input. */
export function checkFeed(verify: FeedVerifier, payload: Buffer | string, ctx: FeedVerifyContext): CheckedFeed {
  const res = verify(payload, ctx);
  if (!res.ok) return res;
  const gap = deltaBaseError(res.body, res.version, ctx.lastVersion, res.kid);
  if (gap) return gap;
  const feed = res.feed as PriceFeed;
  return { ok: true, kid: res.kid, feed, scope: res.scope, version: res.version, issuedAt: res.issuedAt, prepared: prepareFeedRows(feed, res.body) };
}

/** Where the built worker sits: next to this module (dist/feedWorker.js in the bundle). */
export const DEFAULT_FEED_WORKER = new URL('./feedWorker.js', import.meta.url);

export interface FeedCheckerOptions extends FeedCheckData {
  log: Logger;
  /** The built worker file; null checks on the main thread. Default DEFAULT_FEED_WORKER when it exists. */
  workerUrl?: URL | null;
  /** Heap and stack limits of the worker (config `prices.feedWorker`). */
  resourceLimits?: { maxOldGenerationSizeMb?: number; maxYoungGenerationSizeMb?: number; stackSizeMb?: number };
}

/** The verdict on a feed that killed or crashed the worker: refused, never re-run on the main thread. */
export function poisonVerdict(why: string): FeedError {
  return { ok: false, code: 'SGW_ERR_FEED_POISON', reason: `payload: checking it ${why}; refused, not re-run on the main thread` };
}

interface Pending {
  payload: Buffer;
  ctx: FeedVerifyContext;
  resolve: (r: CheckedFeed) => void;
}

export class FeedChecker {
  private inline!: FeedVerifier;
  private worker: Worker | null = null;
  private ready: Promise<void> | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stopped = false;
  private readonly url: URL | null;
  /** Feeds checked by a worker and on the main thread since start, and workers lost to a feed. */
  readonly checked = { worker: 0, inline: 0, poison: 0 };

  constructor(private readonly o: FeedCheckerOptions) {
    const url = o.workerUrl === undefined ? DEFAULT_FEED_WORKER : o.workerUrl;
    this.url = url && existsSync(fileURLToPath(url)) ? url : null;
  }

  /** 'worker' when feeds are checked in a worker thread, 'inline' on the main thread. */
  get mode(): 'worker' | 'inline' {
    return this.url ? 'worker' : 'inline';
  }

  async start(): Promise<void> {
    this.stopped = false;
    // Built here too, so bad keys throw at start whatever the mode, and the fallback is ready.
    this.inline = createPriceFeedVerifier(this.o);
    if (this.url) await this.spawn();
    this.o.log.info({ mode: this.mode, worker: this.url ? fileURLToPath(this.url) : undefined }, 'feed checking ready');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const w = this.worker;
    this.worker = this.ready = null;
    if (w) await w.terminate();
    // Nothing should be waiting (FeedIntake drains its queue first); if it is, it is not acked.
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.resolve({ ok: false, code: 'SGW_ERR_FEED_POISON', reason: 'payload: the gateway stopped while checking it' });
    }
  }

  private checkInline(payload: Buffer, ctx: FeedVerifyContext): CheckedFeed {
    this.checked.inline++;
    return checkFeed(this.inline, payload, ctx);
  }

  /** Checks one feed: in the worker when there is one, else (or if it dies) on this thread. */
  async check(payload: Buffer, ctx: FeedVerifyContext): Promise<CheckedFeed> {
    if (!this.url || this.stopped) return this.checkInline(payload, ctx);
    if (!this.worker) await this.spawn();
    await this.ready;
    const w = this.worker;
    if (!w) return this.checkInline(payload, ctx);
    const id = this.nextId++;
    return new Promise<CheckedFeed>((resolve) => {
      this.pending.set(id, { payload, ctx, resolve });
      // A copy of the bytes (a memcpy): mqtt.js payloads can be views into a larger buffer.
      w.postMessage({ id, payload: new Uint8Array(payload), ctx } satisfies CheckRequest);
    });
  }

  private spawn(): Promise<void> {
    const w = new Worker(this.url!, {
      workerData: { storeId: this.o.storeId, keys: this.o.keys } satisfies FeedCheckData,
      ...(this.o.resourceLimits ? { resourceLimits: this.o.resourceLimits } : {}),
    });
    this.worker = w;
    this.ready = new Promise<void>((resolve) => {
      w.on('message', (m: CheckReply) => {
        if ('ready' in m) return resolve();
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if ('result' in m) {
          this.checked.worker++;
          return p.resolve(m.result);
        }
        this.checked.poison++;
        this.o.log.error({ err: m.error, bytes: p.payload.length }, 'feed worker failed on a feed; the feed is refused');
        p.resolve(poisonVerdict(`crashed the feed worker (${m.error.slice(0, 200)})`));
      });
      const died = (why: string) => {
        if (this.worker !== w) return;
        this.worker = this.ready = null;
        resolve();
        if (this.stopped) return;
        this.o.log.error({ why, pending: this.pending.size }, 'feed worker died; the feed it was checking is refused and a new worker starts for the next');
        for (const [id, p] of this.pending) {
          this.pending.delete(id);
          this.checked.poison++;
          p.resolve(poisonVerdict(`killed the feed worker (${why.slice(0, 200)})`));
        }
      };
      w.on('error', (err) => died(err.message));
      w.on('exit', (code) => died(`exit ${code}`));
    });
    return this.ready;
  }
}
