import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import {
  createFeedVerifier,
  expectedFeedScope,
  type FeedErrorCode,
  type FeedVerifyContext,
  type FeedVerifyResult,
} from '../../../../gateway/protocol/feedVerify.js';
import { createHqSigner, type FeedMessage } from '../../../sim/hqSigner.js';

const STORE = 'demo-store';
const ISSUED = '2026-11-25T09:00:00.000Z';
const hq = createHqSigner({ kid: 'hq-2026' });
const verify = createFeedVerifier({ storeId: STORE, keys: { [hq.kid]: hq.publicKeyPem } });

const PRICES: FeedMessage = {
  feed: 'prices',
  scope: `store:${STORE}`,
  version: 42,
  issuedAt: ISSUED,
  body: { items: [{ gtin: '05901234123457', priceMinor: 299 }] },
};
const onStoreTopic: FeedVerifyContext = { feed: 'prices', topicScope: 'store', lastVersion: 41 };

function rejects(r: FeedVerifyResult, code: FeedErrorCode, field: string): void {
  expect(r).toMatchObject({ ok: false, code });
  if (!r.ok) expect(r.reason.startsWith(field)).toBe(true);
}

describe('a valid feed', () => {
  it('passes and returns the signed fields', () => {
    expect(verify(hq.sign(PRICES), onStoreTopic)).toEqual({
      ok: true,
      kid: 'hq-2026',
      feed: 'prices',
      scope: 'store:demo-store',
      version: 42,
      issuedAt: ISSUED,
      body: PRICES.body,
    });
  });

  it('passes as a Buffer, and with no version applied yet', () => {
    expect(verify(Buffer.from(hq.sign(PRICES), 'utf8'), { ...onStoreTopic, lastVersion: undefined }).ok).toBe(true);
  });

  it('an all-stores feed on an all-stores topic', () => {
    const r = verify(hq.sign({ ...PRICES, feed: 'catalog', scope: 'all' }), { feed: 'catalog', topicScope: 'all', lastVersion: 0 });
    expect(r).toMatchObject({ ok: true, scope: 'all', feed: 'catalog' });
  });

  it('the signed text is verified as it is, byte for byte, whatever its JSON layout', () => {
    const signed = `{ "body": {"note":"crème brûlée £"},\n "issuedAt":"${ISSUED}", "version":7,"scope":"all","feed":"labels" }`;
    const r = verify(hq.signText(signed), { feed: 'labels', topicScope: 'all', lastVersion: 6 });
    expect(r).toMatchObject({ ok: true, version: 7, body: { note: 'crème brûlée £' } });
  });

  it('keys: several kids (rotation), a KeyObject, a Map', () => {
    const next = createHqSigner({ kid: 'hq-2027' });
    const v = createFeedVerifier({ storeId: STORE, keys: new Map<string, KeyObject | string>([[hq.kid, hq.publicKey], [next.kid, next.publicKeyPem]]) });
    expect(v(hq.sign(PRICES), onStoreTopic).ok).toBe(true);
    expect(v(next.sign(PRICES), onStoreTopic)).toMatchObject({ ok: true, kid: 'hq-2027' });
  });

  it('a signer loaded from its private key PEM signs for the same public key', () => {
    const again = createHqSigner({ kid: hq.kid, privateKeyPem: hq.privateKeyPem });
    expect(again.publicKeyPem).toBe(hq.publicKeyPem);
    expect(verify(again.sign(PRICES), onStoreTopic).ok).toBe(true);
  });

  it('feed-specific body schemas, compiled once, are applied to their feed only', () => {
    const v = createFeedVerifier({
      storeId: STORE,
      keys: { [hq.kid]: hq.publicKeyPem },
      bodySchemas: { prices: Type.Object({ items: Type.Array(Type.Object({ priceMinor: Type.Integer() })) }) },
    });
    expect(v(hq.sign(PRICES), onStoreTopic).ok).toBe(true);
    const floaty = { ...PRICES, body: { items: [{ priceMinor: 2.99 }] } };
    rejects(v(hq.sign(floaty), onStoreTopic), 'SGW_ERR_FEED_BAD_BODY', 'signed.body.items[0].priceMinor');
    expect(v(hq.sign({ ...floaty, feed: 'labels' }), { ...onStoreTopic, feed: 'labels' }).ok).toBe(true);
  });
});

describe('each rejection has its code and names the field', () => {
  it('not JSON', () => {
    rejects(verify('{"kid":', onStoreTopic), 'SGW_ERR_FEED_NOT_JSON', 'payload');
    rejects(verify(Buffer.from([0xff, 0xfe, 0x00]), onStoreTopic), 'SGW_ERR_FEED_NOT_JSON', 'payload');
  });

  it.each([
    ['[]', 'envelope'],
    ['"text"', 'envelope'],
    ['null', 'envelope'],
    ['{}', 'envelope.kid'],
    [JSON.stringify({ kid: 'hq-2026', signed: '{}' }), 'envelope.sig'],
    [JSON.stringify({ kid: 'hq-2026', sig: 'AAAA', signed: '{}' }), 'envelope.sig'],
    [JSON.stringify({ kid: 'hq-2026', sig: hq.signature('{}'), signed: {} }), 'envelope.signed'],
    [JSON.stringify({ kid: '', sig: hq.signature('{}'), signed: '{}' }), 'envelope.kid'],
  ])('envelope shape %s', (payload, field) => {
    rejects(verify(payload, onStoreTopic), 'SGW_ERR_FEED_ENVELOPE', field);
  });

  it('unknown kid', () => {
    const stranger = createHqSigner({ kid: 'hq-unknown' });
    const r = verify(stranger.sign(PRICES), onStoreTopic);
    rejects(r, 'SGW_ERR_FEED_UNKNOWN_KID', 'envelope.kid');
    expect(r).toMatchObject({ kid: 'hq-unknown' });
  });

  it('bad signature: another key under a known kid', () => {
    const impostor = createHqSigner({ kid: hq.kid });
    rejects(verify(impostor.sign(PRICES), onStoreTopic), 'SGW_ERR_FEED_BAD_SIGNATURE', 'envelope.sig');
  });

  it('bad signature: one changed byte in `signed` (a price raised by a cent)', () => {
    const env = JSON.parse(hq.sign(PRICES)) as { kid: string; sig: string; signed: string };
    const tampered = { ...env, signed: env.signed.replace('"priceMinor":299', '"priceMinor":298') };
    expect(tampered.signed).not.toBe(env.signed);
    rejects(verify(JSON.stringify(tampered), onStoreTopic), 'SGW_ERR_FEED_BAD_SIGNATURE', 'envelope.sig');
  });

  it('property: any single changed character of `signed` fails the signature', () => {
    const env = JSON.parse(hq.sign(PRICES)) as { kid: string; sig: string; signed: string };
    fc.assert(
      fc.property(fc.nat(), fc.string({ minLength: 1, maxLength: 1 }), (at, ch) => {
        const i = at % env.signed.length;
        fc.pre(env.signed[i] !== ch);
        const signed = env.signed.slice(0, i) + ch + env.signed.slice(i + 1);
        rejects(verify(JSON.stringify({ ...env, signed }), onStoreTopic), 'SGW_ERR_FEED_BAD_SIGNATURE', 'envelope.sig');
      }),
      { numRuns: 300 },
    );
  });

  it('bad signature: one changed byte in the signature itself', () => {
    const env = JSON.parse(hq.sign(PRICES)) as { kid: string; sig: string; signed: string };
    const raw = Buffer.from(env.sig, 'base64');
    raw[10] ^= 0x01;
    rejects(verify(JSON.stringify({ ...env, sig: raw.toString('base64') }), onStoreTopic), 'SGW_ERR_FEED_BAD_SIGNATURE', 'envelope.sig');
  });

  it.each([
    ['not json', 'signed'],
    ['[1,2]', 'signed'],
    [JSON.stringify({ scope: 'all', version: 1, issuedAt: ISSUED, body: {} }), 'signed.feed'],
    [JSON.stringify({ feed: 'prices', scope: 'all', version: 1.5, issuedAt: ISSUED, body: {} }), 'signed.version'],
    [JSON.stringify({ feed: 'prices', scope: 'all', version: -1, issuedAt: ISSUED, body: {} }), 'signed.version'],
    [JSON.stringify({ feed: 'prices', scope: 'all', version: '2', issuedAt: ISSUED, body: {} }), 'signed.version'],
    [JSON.stringify({ feed: 'prices', scope: 'all', version: 2, issuedAt: 'yesterday', body: {} }), 'signed.issuedAt'],
    [JSON.stringify({ feed: 'Prices/x', scope: 'all', version: 2, issuedAt: ISSUED, body: {} }), 'signed.feed'],
    [JSON.stringify({ feed: 'prices', scope: 'all', version: 2, issuedAt: ISSUED }), 'signed.body'],
  ])('signed shape %s (validly signed)', (signed, field) => {
    rejects(verify(hq.signText(signed), { feed: 'prices', topicScope: 'all', lastVersion: 0 }), 'SGW_ERR_FEED_SIGNED_SHAPE', field);
  });

  it.each([
    [`store:other-store`, 'store'],
    ['all', 'store'],
    [`store:${STORE}`, 'all'],
    ['everyone', 'store'],
    ['store:', 'store'],
  ] as const)('wrong scope %s on a %s topic', (scope, topicScope) => {
    const r = verify(hq.sign({ ...PRICES, scope }), { ...onStoreTopic, topicScope });
    rejects(r, 'SGW_ERR_FEED_WRONG_SCOPE', 'signed.scope');
    if (!r.ok) expect(r.reason).toContain(`expected "${expectedFeedScope(STORE, topicScope)}"`);
  });

  it('wrong feed: signed for prices, arrived on the labels topic', () => {
    rejects(verify(hq.sign(PRICES), { ...onStoreTopic, feed: 'labels' }), 'SGW_ERR_FEED_WRONG_FEED', 'signed.feed');
  });

  it('version not greater than the one applied (equal, older), greater passes', () => {
    rejects(verify(hq.sign(PRICES), { ...onStoreTopic, lastVersion: 42 }), 'SGW_ERR_FEED_STALE_VERSION', 'signed.version');
    rejects(verify(hq.sign(PRICES), { ...onStoreTopic, lastVersion: 100 }), 'SGW_ERR_FEED_STALE_VERSION', 'signed.version');
    expect(verify(hq.sign({ ...PRICES, version: 0 }), { ...onStoreTopic, lastVersion: undefined }).ok).toBe(true);
  });

  it.each([[[]], ['text'], [null], [3]])('malformed body %j', (body) => {
    rejects(verify(hq.sign({ ...PRICES, body }), onStoreTopic), 'SGW_ERR_FEED_BAD_BODY', 'signed.body');
  });
});

describe('options are checked at construction', () => {
  it('refuses an empty key set, a private key, a non-Ed25519 key, text that is not PEM, a bad store id', () => {
    expect(() => createFeedVerifier({ storeId: STORE, keys: {} })).toThrow(/^keys: at least one/);
    const { privateKey } = generateKeyPairSync('ed25519');
    expect(() => createFeedVerifier({ storeId: STORE, keys: { k: privateKey } })).toThrow(/keys\["k"\]: must be a public key/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    expect(() => createFeedVerifier({ storeId: STORE, keys: { k: rsa } })).toThrow(/keys\["k"\]: must be an Ed25519 key/);
    expect(() => createFeedVerifier({ storeId: STORE, keys: { k: 'not a pem' } })).toThrow(/keys\["k"\]: is not a PEM public key/);
    expect(() => createFeedVerifier({ storeId: 'a/b', keys: { [hq.kid]: hq.publicKeyPem } })).toThrow(/^storeId:/);
  });
});

describe('wire safety', () => {
  it('property: random payloads never throw and are never accepted', () => {
    const env = JSON.parse(hq.sign(PRICES)) as Record<string, unknown>;
    const payloads = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.json({ maxDepth: 3 }),
      fc.record({ kid: fc.oneof(fc.constant(hq.kid), fc.string()), sig: fc.oneof(fc.constant(env.sig), fc.base64String()), signed: fc.oneof(fc.string(), fc.json()) }).map((o) => JSON.stringify(o)),
    );
    fc.assert(
      fc.property(payloads, (p) => {
        const r = verify(p, onStoreTopic);
        expect(r.ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});
