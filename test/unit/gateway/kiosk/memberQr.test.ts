/**
 * The member QR: the phone's text decodes to what HQ and the phone signed; every refusal has its
 * own reason; any other text (random, or a valid one with bytes changed) is refused with a named
 * reason and never throws. Replay (single use) is kiosk.db's and is tested with the store below
 * and through a real gateway in test/integration/gateway/kioskMemberQr.test.ts.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createHqSigner } from '../../../sim/hqSigner.js';
import { MemberPhone } from '../../../sim/memberPhone.js';
import { decodeMemberQr, isMemberQr, MAX_MEMBER_QR_CHARS, MEMBER_QR_PREFIX, memberQrOf } from '../../../../gateway/kiosk/memberQr.js';
import { MEMBER_QR_REFUSALS, memberKeyring, verifyMemberQr, type MemberFeedState, type MemberVerifyContext } from '../../../../gateway/kiosk/memberVerify.js';
import { MemberQrCheck } from '../../../../gateway/kiosk/memberPresentations.js';
import { KioskStore } from '../../../../gateway/kiosk/store.js';
import { createLogger } from '../../../../gateway/log.js';
import { tempDir } from '../../../helpers/tmp.js';

const NOW = Date.parse('2026-12-05T10:00:00.000Z');
const NOW_S = NOW / 1000;
const hq = createHqSigner({ kid: 'hq-2026' });
const otherHq = createHqSigner({ kid: 'hq-other' });
const keys = memberKeyring([{ pem: hq.publicKeyPem }]);
let tmp: ReturnType<typeof tempDir> | null = null;
afterEach(() => tmp?.remove());
const phone = new MemberPhone(hq, { memberId: 'M-1001', tier: 'gold', expires: NOW_S + 30 * 86_400 }, () => NOW);

function ctx(over: Partial<MemberVerifyContext> = {}, members: Record<string, MemberFeedState> = {}): MemberVerifyContext {
  return { keys, now: NOW, windowMs: 60_000, skewMs: 30_000, storeId: 's1', member: (id) => members[id], ...over };
}

describe('member QR: a valid presentation', () => {
  it('decodes to the credential and presentation the phone was given, and fits a QR a phone screen shows well', () => {
    const text = phone.present({ nonce: '0011223344556677' });
    expect(isMemberQr(text)).toBe(true);
    // With a scanner's QR Code symbology identifier in front, the same text; a product code is none.
    expect(memberQrOf(`]Q1${text}`)).toBe(text);
    expect(memberQrOf(text)).toBe(text);
    expect(memberQrOf(']E04006381333931')).toBeNull();
    expect(memberQrOf(']C1MQ1:x')).toBeNull();
    expect(text.startsWith(MEMBER_QR_PREFIX)).toBe(true);
    // Byte mode, EC level M: version 12 holds 287 characters, version 13 holds 331.
    expect(text.length).toBeLessThan(300);
    const d = decodeMemberQr(text);
    expect(d.ok && d.credential).toMatchObject({ memberId: 'M-1001', tier: 'gold', credId: phone.credId, expires: NOW_S + 30 * 86_400 });
    expect(d.ok && d.presentation).toEqual({ time: NOW_S, nonce: '0011223344556677', storeId: '' });
    const r = verifyMemberQr(text, ctx());
    expect(r).toMatchObject({ ok: true, useKey: `${phone.credId}:0011223344556677` });
    expect(r.ok && r.keepUntil).toBe(NOW + 60_000 + 30_000 + 1000);
  });

  it('accepts a presentation up to window + skew old, or skew ahead of the gateway clock', () => {
    expect(verifyMemberQr(phone.present({ time: NOW_S - 90 }), ctx()).ok).toBe(true);
    expect(verifyMemberQr(phone.present({ time: NOW_S + 30 }), ctx()).ok).toBe(true);
    expect(verifyMemberQr(phone.present({ storeId: 's1' }), ctx()).ok).toBe(true);
  });
});

describe('member QR: every refusal by name', () => {
  const reason = (text: string, c = ctx()) => {
    const r = verifyMemberQr(text, c);
    return r.ok ? 'ok' : r.reason;
  };

  it('malformed: not base64url, truncated, trailing bytes, unknown version', () => {
    const good = phone.present();
    expect(reason('MQ1:not base64!')).toBe('malformed');
    expect(reason(good.slice(0, 100))).toBe('malformed');
    expect(reason(good + 'AAAA')).toBe('malformed');
    const bytes = Buffer.from(good.slice(4), 'base64url');
    bytes[0] = 2;
    expect(reason(MEMBER_QR_PREFIX + bytes.toString('base64url'))).toBe('malformed');
    expect(reason('4006381333931')).toBe('malformed');
    expect(reason('MQ1:' + 'A'.repeat(MAX_MEMBER_QR_CHARS + 1))).toBe('malformed');
  });

  it('unknownKey: a credential signed by a key the gateway does not hold', () => {
    const stranger = new MemberPhone(otherHq, { memberId: 'M-1001', tier: 'gold', expires: NOW_S + 86_400 }, () => NOW);
    expect(reason(stranger.present())).toBe('unknownKey');
  });

  it("badSignature: HQ's signature not over the claims, or the phone's not by the credential's key", () => {
    // Claims a key id of ours, signed by another key.
    const forged = new MemberPhone(otherHq, { memberId: 'M-1001', tier: 'gold', expires: NOW_S + 86_400, kid: [...keys.keys()][0] }, () => NOW);
    expect(reason(forged.present())).toBe('badSignature');
    // A tier raised after issue: the byte of the tier changes, HQ's signature no longer covers it.
    const text = phone.present();
    const b = Buffer.from(text.slice(4), 'base64url');
    const tierAt = b.indexOf(Buffer.from('gold'));
    b.write('plat', tierAt);
    expect(reason(MEMBER_QR_PREFIX + b.toString('base64url'))).toBe('badSignature');
    // A copied credential with a presentation time moved: the phone's signature breaks.
    const c = Buffer.from(phone.present().slice(4), 'base64url');
    const presAt = c.length - 64 - 1 - 8 - 4;
    c.writeUInt32BE(NOW_S + 5, presAt);
    expect(reason(MEMBER_QR_PREFIX + c.toString('base64url'))).toBe('badSignature');
  });

  it('expired: the credential is past its expiry', () => {
    const old = new MemberPhone(hq, { memberId: 'M-1001', tier: 'gold', expires: NOW_S - 1 }, () => NOW);
    expect(reason(old.present())).toBe('expired');
  });

  it('revoked: the members feed withdrew this credential, or suspended the member', () => {
    expect(reason(phone.present(), ctx({}, { 'M-1001': { revoked: [phone.credId] } }))).toBe('revoked');
    expect(reason(phone.present(), ctx({}, { 'M-1001': { status: 'suspended' } }))).toBe('revoked');
    expect(reason(phone.present(), ctx({}, { 'M-1001': { status: 'active', revoked: ['00000000000000ff'] } }))).toBe('ok');
  });

  it('wrongStore: bound to another store', () => {
    expect(reason(phone.present({ storeId: 's2' }))).toBe('wrongStore');
  });

  it('outsideWindow: too old, or from a phone clock too far ahead', () => {
    expect(reason(phone.present({ time: NOW_S - 91 }))).toBe('outsideWindow');
    expect(reason(phone.present({ time: NOW_S + 31 }))).toBe('outsideWindow');
  });

  it('replayed: a presentation used once is refused after, also from a reopened kiosk.db', async () => {
    tmp = tempDir('sgw-member-');
    const file = path.join(tmp.dir, 'kiosk.db');
    const refused: string[] = [];
    const open = async () => {
      const store = new KioskStore(file);
      await store.start();
      const check = new MemberQrCheck({ store, keys, storeId: 's1', windowMs: 60_000, skewMs: 30_000, member: () => undefined, now: () => NOW, log: createLogger({ level: 'silent' }), onRefused: (r) => refused.push(r) });
      return { store, check };
    };
    const text = phone.present();
    const a = await open();
    expect(await a.check.check(text, 'k1')).toMatchObject({ ok: true, memberId: 'M-1001', tier: 'gold' });
    expect(await a.check.check(text, 'k2')).toMatchObject({ ok: false, reason: 'replayed', notice: { code: 'memberQrReplayed' } });
    expect((await a.check.check(phone.present(), 'k2')).ok).toBe(true);
    await a.store.stop();
    const b = await open();
    expect(await b.check.check(text, 'k1')).toMatchObject({ ok: false, reason: 'replayed' });
    await b.store.stop();
    expect(refused).toEqual(['replayed', 'replayed']);
  });
});

describe('member QR: untrusted text (seeded properties)', () => {
  const NAMED = new Set<string>(MEMBER_QR_REFUSALS);
  const good = phone.present({ nonce: 'a1a2a3a4a5a6a7a8' });
  const goodBytes = Buffer.from(good.slice(4), 'base64url');

  it('any text after the prefix is refused with a named reason, never a throw', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (s) => {
        const r = verifyMemberQr(MEMBER_QR_PREFIX + s, ctx());
        expect(r.ok).toBe(false);
        expect(NAMED.has(!r.ok ? r.reason : '')).toBe(true);
      }),
      { seed: 1805, numRuns: 300 },
    );
  });

  it('a valid QR with any byte changed, cut or extended is refused with a named reason', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: goodBytes.length - 1 }), fc.integer({ min: 1, max: 255 }), fc.integer({ min: 0, max: goodBytes.length }), fc.uint8Array({ maxLength: 8 }), (at, xor, cut, tail) => {
        const flipped = Buffer.from(goodBytes);
        flipped[at] ^= xor;
        for (const b of [flipped, goodBytes.subarray(0, cut), Buffer.concat([goodBytes, Buffer.from(tail)])]) {
          if (b.equals(goodBytes)) continue;
          const r = verifyMemberQr(MEMBER_QR_PREFIX + b.toString('base64url'), ctx());
          expect(r.ok).toBe(false);
          expect(NAMED.has(!r.ok ? r.reason : '')).toBe(true);
        }
      }),
      { seed: 1806, numRuns: 300 },
    );
  });
});
