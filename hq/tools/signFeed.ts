/**
 * Signing a feed, the core of `storegw-hq sign`: a body checked against the gateway's own schema,
 * the next version for (feed, scope), and the envelope of gateway/protocol/README.md §Feed
 * envelope: `{"kid","sig","signed"}`, Ed25519 over the exact UTF-8 bytes of `signed`.
 */
import { sign as edSign, type KeyObject } from 'node:crypto';
import { compile, formatErrors } from '../../gateway/protocol/validate.js';
import { isValidId } from '../../gateway/protocol/topics.js';
import { STORE_FEEDS, type StoreFeedName } from '../../gateway/protocol/schemas/feeds/index.js';

/** `all`, or `store:{storeId}` with a valid store id; null if neither. */
export function parseScope(scope: string): { kind: 'all' } | { kind: 'store'; storeId: string } | null {
  if (scope === 'all') return { kind: 'all' };
  if (scope.startsWith('store:') && isValidId(scope.slice(6))) return { kind: 'store', storeId: scope.slice(6) };
  return null;
}

/** Why `scope` cannot carry `feed` (the gateway subscribes to some feeds per store only), or null. */
export function scopeError(feed: StoreFeedName, scope: string): string | null {
  const s = parseScope(scope);
  if (!s) return `--scope: "${scope}" must be "all" or "store:{storeId}"`;
  const allowed: readonly string[] = STORE_FEEDS[feed].scopes;
  if (!allowed.includes(s.kind)) return `--scope: the ${feed} feed is taken per store only (store:{storeId}), not "all"`;
  return null;
}

/** Errors of a body against its feed's schema, one `body.path: message` line each. */
export function bodyErrors(feed: StoreFeedName, body: unknown): string[] {
  const validate = compile(STORE_FEEDS[feed].body);
  // ajv fills defaults in place: check a copy, sign what the file said.
  if (validate(structuredClone(body))) return [];
  return formatErrors(validate.errors, 'body');
}

export interface SignInput {
  feed: StoreFeedName;
  scope: string;
  version: number;
  issuedAt: string;
  body: unknown;
  kid: string;
  privateKey: KeyObject;
}

export function signFeed(i: SignInput): string {
  const signed = JSON.stringify({ feed: i.feed, scope: i.scope, version: i.version, issuedAt: i.issuedAt, body: i.body });
  const sig = edSign(null, Buffer.from(signed, 'utf8'), i.privateKey).toString('base64');
  return JSON.stringify({ kid: i.kid, sig, signed });
}
