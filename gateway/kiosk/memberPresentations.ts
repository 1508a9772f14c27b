/**
 * A scanned member QR → the session action, the I/O shell around memberVerify.ts: the keys come
 * from the config once, the members feed's state from the catalog in force, and a presentation
 * that passes is marked used in kiosk.db (synchronous FULL) before the member is applied. All
 * kiosks share this gateway and its file, so a second scan of the same QR — at this kiosk or
 * another, before or after a restart — finds the use and is refused as `replayed`.
 *
 * Refusals are counted by reason and logged with the reason and the credential id, never the
 * member id or the QR text (the text is a bearer token until its window has passed).
 */
import type { KeyObject } from 'node:crypto';
import { LogLimiter, type Logger } from '../log.js';
import type { KioskStore } from './store.js';
import { verifyMemberQr, type MemberFeedState, type MemberQrRefusal } from './memberVerify.js';

/** The kiosk notice of each refusal (kiosk/checkout/strings.ts has their words). */
export const MEMBER_QR_NOTICES: Readonly<Record<MemberQrRefusal, { code: string }>> = {
  malformed: { code: 'memberQrMalformed' },
  unknownKey: { code: 'memberQrUnknownKey' },
  badSignature: { code: 'memberQrBadSignature' },
  expired: { code: 'memberQrExpired' },
  revoked: { code: 'memberQrRevoked' },
  wrongStore: { code: 'memberQrWrongStore' },
  outsideWindow: { code: 'memberQrOutsideWindow' },
  replayed: { code: 'memberQrReplayed' },
};

export interface MemberQrCheckOptions {
  store: KioskStore;
  keys: ReadonlyMap<string, KeyObject>;
  storeId: string;
  windowMs: number;
  skewMs: number;
  member: (memberId: string) => MemberFeedState | undefined;
  now: () => number;
  log: Logger;
  onRefused?: (reason: MemberQrRefusal) => void;
}

export type MemberQrOutcome = { ok: true; memberId: string; tier: string; credId: string } | { ok: false; reason: MemberQrRefusal; notice: { code: string; detail: string } };

export class MemberQrCheck {
  private readonly logLimit: LogLimiter;

  constructor(private readonly o: MemberQrCheckOptions) {
    this.logLimit = new LogLimiter(o.now);
  }

  /** Verifies a scanned member QR and, when it passes, uses it up. Never rejects on scanned input. */
  async check(text: string, kioskId: string): Promise<MemberQrOutcome> {
    const now = this.o.now();
    const r = verifyMemberQr(text, { keys: this.o.keys, now, windowMs: this.o.windowMs, skewMs: this.o.skewMs, storeId: this.o.storeId, member: this.o.member });
    if (!r.ok) return this.refuse(kioskId, r.reason, r.detail, null);
    const fresh = await this.o.store.useMemberPresentation(r.useKey, kioskId, now, r.keepUntil);
    if (!fresh) return this.refuse(kioskId, 'replayed', 'nonce: this presentation was used before', r.credential.credId);
    this.o.log.info({ deviceId: kioskId, credId: r.credential.credId, tier: r.credential.tier }, 'member QR accepted');
    return { ok: true, memberId: r.credential.memberId, tier: r.credential.tier, credId: r.credential.credId };
  }

  private refuse(kioskId: string, reason: MemberQrRefusal, detail: string, credId: string | null): MemberQrOutcome {
    this.o.onRefused?.(reason);
    const suppressed = this.logLimit.take(`${kioskId}:member:${reason}`);
    if (suppressed >= 0) this.o.log.warn({ deviceId: kioskId, reason, detail, ...(credId ? { credId } : {}), suppressed }, 'member QR refused');
    return { ok: false, reason, notice: { ...MEMBER_QR_NOTICES[reason], detail: reason } };
  }
}
