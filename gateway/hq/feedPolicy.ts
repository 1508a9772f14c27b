/**
 * What the HQ feed intake decides for every feed, pure (feedSubscriber.ts is the I/O shell around it): which topics it
 * subscribes to, when a payload is too big to parse, whether a delta fits the applied version,
 * and whether a storage error means "try again" (leave the feed unacknowledged) or "this feed can
 * never be stored" (refuse it for good).
 */
import { HQ_ROOT } from '../protocol/topics.js';
import type { FeedError } from '../protocol/feedVerify.js';

/**
 * The feed topics by name. A `+` under the store's own topic level would also match the
 * gateway's own `batch`, `status` and `report/…` uploads (hq/v1/store/{id}/batch): every batch
 * would come back over the WAN.
 */
export function feedSubscriptions(storeId: string, feeds: readonly string[], scopes: readonly ('store' | 'all')[] = ['store', 'all']): string[] {
  return feeds.flatMap((f) => scopes.map((s) => (s === 'store' ? `${HQ_ROOT}/store/${storeId}/${f}` : `${HQ_ROOT}/all/${f}`)));
}

/** The wildcard filters older gateways left in their persistent session at HQ; unsubscribed once per start. */
export function legacyFeedFilters(storeId: string): string[] {
  return [`${HQ_ROOT}/store/${storeId}/+`, `${HQ_ROOT}/all/+`];
}

/** The MQTT 5 session lives on at HQ while the gateway is away: 0xFFFFFFFF never expires (MQTT 5 §3.1.2.11.2). */
const SESSION_EXPIRY_S = 0xffffffff;
/** MQTT's largest Remaining Length (MQTT 3.1.1 §2.2.3): no cap above it means anything. */
const MQTT_MAX_PACKET = 268_435_455;

/** MQTT 5 CONNECT properties of a feed connection: a lasting session, and nothing over twice the parse cap. */
export function feedConnectProperties(maxFeedBytes: number): { sessionExpiryInterval: number; maximumPacketSize: number } {
  return { sessionExpiryInterval: SESSION_EXPIRY_S, maximumPacketSize: Math.min(MQTT_MAX_PACKET, 2 * maxFeedBytes + 64 * 1024) };
}

/** A payload over the cap is refused before a byte of it is parsed. */
export function feedSizeError(bytes: number, maxBytes: number): FeedError | null {
  if (bytes <= maxBytes) return null;
  return { ok: false, code: 'SGW_ERR_FEED_TOO_LARGE', reason: `payload: ${bytes} bytes is over the ${maxBytes}-byte limit (prices.maxFeedBytes)` };
}

/**
 * A delta applies on top of exactly one version: the one named by `body.baseVersion`. A delta on
 * any other version would leave rows the missing delta changed or removed: refuse it, and HQ
 * must send a snapshot (the feed subscriber reports that). A snapshot needs no base.
 */
export function deltaBaseError(body: Record<string, unknown>, version: number, lastVersion: number | undefined, kid: string): FeedError | null {
  if (body.mode !== 'delta') return null;
  const base = body.baseVersion;
  if (typeof base !== 'number') {
    return { ok: false, code: 'SGW_ERR_FEED_BAD_BODY', reason: 'signed.body.baseVersion: a delta must name the version it applies to', kid };
  }
  if (base !== lastVersion) {
    const applied = lastVersion === undefined ? 'no version is applied yet' : `the applied version is ${lastVersion}`;
    return { ok: false, code: 'SGW_ERR_FEED_VERSION_GAP', reason: `signed.body.baseVersion: ${base} but ${applied}; a snapshot is needed`, kid, gap: { version, baseVersion: base } };
  }
  return null;
}

/**
 * SQLite result codes that say the storage, not the feed, failed: the same feed may well apply
 * later (the disk freed, the lock released). Anything else (a constraint, a value too big for a
 * row) would fail again on every re-delivery, and the feed is refused instead.
 * See https://www.sqlite.org/rescode.html.
 */
const TRANSIENT = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_NOMEM', 'SQLITE_READONLY', 'SQLITE_CANTOPEN', 'SQLITE_PROTOCOL', 'SQLITE_INTERRUPT', 'SQLITE_NOLFS']);

export function isTransientStorageError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  // better-sqlite3 reports extended codes (SQLITE_IOERR_WRITE), which start with the primary one.
  return typeof code === 'string' && [...TRANSIENT].some((c) => code === c || code.startsWith(`${c}_`));
}

/** Delay before the n-th re-delivery attempt (n ≥ 1): doubling from `initialMs`, at most `maxMs`. */
export function retryDelay(n: number, initialMs: number, maxMs: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.min(Math.max(n - 1, 0), 20));
}

/** A storage failure streak becomes an alert record on attempts 1, 2, 4, 8, …: a full disk does not flood the outbox. */
export function recordStoreFailure(attempt: number): boolean {
  return attempt >= 1 && (attempt & (attempt - 1)) === 0;
}
