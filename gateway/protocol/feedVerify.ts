/**
 * HQ feed envelope check (protocol/README.md §Feed envelope):
 * `{"kid","sig","signed"}`, Ed25519 over the exact UTF-8 bytes of `signed`, which parses to
 * `{"feed","scope","version","issuedAt","body"}`.
 *
 * Pure: no clock, no logger, never throws on wire input. The caller counts a rejection and raises
 * the alert; the `code` is stable, the `reason` names the field.
 *
 * Scope, precisely: `signed.scope` is either `"all"` (a feed for every store, published on
 * `hq/v1/all/{feed}`) or `"store:{storeId}"` (one store, published on
 * `hq/v1/store/{storeId}/{feed}`). A feed is accepted only when its scope is the one of the topic it
 * arrived on: `all` on an all-topic, `store:{this gateway's storeId}` on a store topic. The topic is
 * not signed, so the signed scope is what decides; requiring the two to agree also lets the caller
 * keep one "last applied version" per topic (per feed and scope) without ambiguity.
 */
import { createPublicKey, verify as edVerify, type KeyObject } from 'node:crypto';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { ValidateFunction } from 'ajv';
import { compile, formatErrors } from './validate.js';

export type FeedErrorCode =
  | 'SGW_ERR_FEED_NOT_JSON' // the payload is not JSON
  | 'SGW_ERR_FEED_ENVELOPE' // not {kid, sig, signed} of the right types
  | 'SGW_ERR_FEED_UNKNOWN_KID' // no public key with that id in the config
  | 'SGW_ERR_FEED_BAD_SIGNATURE' // the signature does not verify over `signed`
  | 'SGW_ERR_FEED_SIGNED_SHAPE' // signed text is not JSON or lacks/garbles feed, scope, version, issuedAt
  | 'SGW_ERR_FEED_WRONG_SCOPE' // not addressed to this store through this topic
  | 'SGW_ERR_FEED_WRONG_FEED' // signed.feed is not the topic's feed
  | 'SGW_ERR_FEED_STALE_VERSION' // version not greater than the one applied (a replay or an old copy)
  | 'SGW_ERR_FEED_BAD_BODY' // body does not have the feed's shape
  | 'SGW_ERR_FEED_TOO_LARGE' // over the size cap, refused before parsing (hq/feedPolicy.ts)
  | 'SGW_ERR_FEED_VERSION_GAP' // a delta whose baseVersion is not the applied version
  | 'SGW_ERR_FEED_POISON'; // checking it killed (or crashed) the feed worker; never re-run

export interface FeedError {
  ok: false;
  code: FeedErrorCode;
  reason: string;
  /** The key id, once the envelope had one (for the alert). */
  kid?: string;
  /** SGW_ERR_FEED_VERSION_GAP only: the delta's version and the base it named (for HQ's report). */
  gap?: { version: number; baseVersion: number };
}

export interface VerifiedFeed {
  ok: true;
  kid: string;
  feed: string;
  scope: string;
  version: number;
  issuedAt: string;
  body: Record<string, unknown>;
}

export type FeedVerifyResult = VerifiedFeed | FeedError;

/** Which kind of HQ topic the message arrived on: `hq/v1/all/{feed}` or `hq/v1/store/{storeId}/{feed}`. */
export type FeedTopicScope = 'all' | 'store';

export interface FeedVerifyContext {
  /** The `{feed}` level of the topic. */
  feed: string;
  topicScope: FeedTopicScope;
  /** The version last applied for this topic; undefined when none was applied yet. */
  lastVersion: number | undefined;
}

export interface FeedVerifierOptions {
  /** This gateway's store id. */
  storeId: string;
  /** kid → Ed25519 public key (PEM text or KeyObject). The gateway never holds HQ's private key. */
  keys: ReadonlyMap<string, KeyObject | string> | Readonly<Record<string, KeyObject | string>>;
  /** Optional per-feed body schemas; a feed without one only needs `body` to be a JSON object. */
  bodySchemas?: Readonly<Record<string, TSchema>>;
}

export type FeedVerifier = (payload: Buffer | string, ctx: FeedVerifyContext) => FeedVerifyResult;

export const FeedEnvelope = Type.Object(
  {
    kid: Type.String({ minLength: 1, maxLength: 128 }),
    // 64 signature bytes in standard base64 with padding.
    sig: Type.String({ pattern: '^[A-Za-z0-9+/]{86}==$' }),
    signed: Type.String({ minLength: 2 }),
  },
  { additionalProperties: true },
);

export const FEED_NAME_PATTERN = '^[a-z][a-zA-Z0-9]{0,31}$';

export const SignedFeed = Type.Object(
  {
    feed: Type.String({ pattern: FEED_NAME_PATTERN }),
    scope: Type.String({ minLength: 3, maxLength: 80 }),
    version: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    issuedAt: Type.String({ format: 'date-time', maxLength: 40 }),
    body: Type.Unknown(),
  },
  { additionalProperties: true },
);

/** Generic body: a JSON object. Feed-specific schemas come through `bodySchemas`. */
export const FeedBody = Type.Object({}, { additionalProperties: true });

export type FeedEnvelopeT = Static<typeof FeedEnvelope>;
export type SignedFeedT = Static<typeof SignedFeed>;

// Compiled once, at import, with no I/O: ajv only builds functions.
const envelopeValidate = compile(FeedEnvelope);
const signedValidate = compile(SignedFeed);
const genericBodyValidate = compile(FeedBody);

/** The scope a feed must carry to be accepted by `storeId` on a topic of `topicScope`. */
export function expectedFeedScope(storeId: string, topicScope: FeedTopicScope): string {
  return topicScope === 'all' ? 'all' : `store:${storeId}`;
}

function toPublicKey(kid: string, key: KeyObject | string): KeyObject {
  let k: KeyObject;
  if (typeof key === 'string') {
    try {
      k = createPublicKey(key);
    } catch (err) {
      throw new TypeError(`keys["${kid}"]: is not a PEM public key (${(err as Error).message})`);
    }
  } else if (typeof key === 'object' && key !== null && 'asymmetricKeyType' in key) {
    k = key;
  } else {
    throw new TypeError(`keys["${kid}"]: must be a PEM string or a KeyObject`);
  }
  // A private key here would mean HQ's signing key sits on the store box: refuse it.
  if (k.type !== 'public') throw new TypeError(`keys["${kid}"]: must be a public key (got a ${k.type} key)`);
  if (k.asymmetricKeyType !== 'ed25519') throw new TypeError(`keys["${kid}"]: must be an Ed25519 key (got ${k.asymmetricKeyType})`);
  return k;
}

/** Builds a verifier; throws on bad options (bad key, empty key set), never on a payload. */
export function createFeedVerifier(options: FeedVerifierOptions): FeedVerifier {
  if (typeof options.storeId !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/.test(options.storeId)) {
    throw new TypeError('storeId: must be a store id (one topic level)');
  }
  const entries = options.keys instanceof Map ? [...options.keys.entries()] : Object.entries(options.keys ?? {});
  if (entries.length === 0) throw new TypeError('keys: at least one HQ public key is required');
  const keys = new Map<string, KeyObject>(entries.map(([kid, key]) => [kid, toPublicKey(kid, key)]));
  const bodyValidators = new Map<string, ValidateFunction>();
  for (const [feed, schema] of Object.entries(options.bodySchemas ?? {})) {
    if (!new RegExp(FEED_NAME_PATTERN).test(feed)) throw new TypeError(`bodySchemas.${feed}: is not a feed name`);
    bodyValidators.set(feed, compile(schema));
  }
  const storeId = options.storeId;
  return (payload, ctx) => verifyFeed(keys, bodyValidators, storeId, payload, ctx);
}

function verifyFeed(
  keys: Map<string, KeyObject>,
  bodyValidators: Map<string, ValidateFunction>,
  storeId: string,
  payload: Buffer | string,
  ctx: FeedVerifyContext,
): FeedVerifyResult {
  let envelope: unknown;
  try {
    envelope = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  } catch (err) {
    return { ok: false, code: 'SGW_ERR_FEED_NOT_JSON', reason: `payload: is not valid JSON (${(err as Error).message})` };
  }
  if (typeof envelope !== 'object' || envelope === null || Array.isArray(envelope)) {
    return { ok: false, code: 'SGW_ERR_FEED_ENVELOPE', reason: 'envelope: must be a JSON object {kid, sig, signed}' };
  }
  if (!envelopeValidate(envelope)) {
    return { ok: false, code: 'SGW_ERR_FEED_ENVELOPE', reason: formatErrors(envelopeValidate.errors, 'envelope').join('; ') };
  }
  const { kid, sig, signed } = envelope;
  const key = keys.get(kid);
  if (!key) return { ok: false, code: 'SGW_ERR_FEED_UNKNOWN_KID', reason: `envelope.kid: "${kid.slice(0, 128)}" is not a configured HQ key`, kid };

  // The signature covers the exact UTF-8 bytes of `signed`; nothing inside is trusted before this.
  let good: boolean;
  try {
    good = edVerify(null, Buffer.from(signed, 'utf8'), key, Buffer.from(sig, 'base64'));
  } catch {
    good = false;
  }
  if (!good) return { ok: false, code: 'SGW_ERR_FEED_BAD_SIGNATURE', reason: `envelope.sig: does not verify over envelope.signed with key "${kid}"`, kid };

  let inner: unknown;
  try {
    inner = JSON.parse(signed);
  } catch (err) {
    return { ok: false, code: 'SGW_ERR_FEED_SIGNED_SHAPE', reason: `signed: is not valid JSON (${(err as Error).message})`, kid };
  }
  if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) {
    return { ok: false, code: 'SGW_ERR_FEED_SIGNED_SHAPE', reason: 'signed: must be a JSON object {feed, scope, version, issuedAt, body}', kid };
  }
  if (!signedValidate(inner)) {
    return { ok: false, code: 'SGW_ERR_FEED_SIGNED_SHAPE', reason: formatErrors(signedValidate.errors, 'signed').join('; '), kid };
  }
  const { feed, scope, version, issuedAt, body } = inner;

  const expected = expectedFeedScope(storeId, ctx.topicScope);
  if (scope !== expected) {
    const why =
      scope === 'all' || scope.startsWith('store:')
        ? `arrived on ${ctx.topicScope === 'all' ? 'an all-stores' : `store "${storeId}"'s`} topic`
        : 'must be "all" or "store:{storeId}"';
    return { ok: false, code: 'SGW_ERR_FEED_WRONG_SCOPE', reason: `signed.scope: "${scope.slice(0, 80)}" ${why}, expected "${expected}"`, kid };
  }
  if (feed !== ctx.feed) {
    return { ok: false, code: 'SGW_ERR_FEED_WRONG_FEED', reason: `signed.feed: "${feed}" arrived on the "${ctx.feed}" topic`, kid };
  }
  if (ctx.lastVersion !== undefined && version <= ctx.lastVersion) {
    return { ok: false, code: 'SGW_ERR_FEED_STALE_VERSION', reason: `signed.version: ${version} is not greater than the applied version ${ctx.lastVersion}`, kid };
  }
  const bodyValidate = bodyValidators.get(feed) ?? genericBodyValidate;
  if (!bodyValidate(body)) {
    return { ok: false, code: 'SGW_ERR_FEED_BAD_BODY', reason: formatErrors(bodyValidate.errors, 'signed.body').join('; '), kid };
  }
  return { ok: true, kid, feed, scope, version, issuedAt, body: body as Record<string, unknown> };
}
