/**
 * Members at the kiosk by the member app's QR: the QR is verified offline and used up
 * (memberPresentations.ts), and the credential's tier is remembered for members the members feed
 * does not list yet, so they are priced at their tier all the same.
 */
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Catalog } from '../prices/catalog.js';
import type { Action } from './sessionMachine.js';
import type { KioskStore } from './store.js';
import { memberKeyring, type MemberQrRefusal } from './memberVerify.js';
import { MemberQrCheck } from './memberPresentations.js';

/** Members priced at their credential's tier kept in memory (a day's member visits of a large store). */
const MAX_CREDENTIAL_TIERS = 10_000;

export interface KioskMembersDeps {
  config: Readonly<Config>;
  store: KioskStore;
  catalog: () => Catalog;
  now: () => number;
  log: Logger;
  onRefused?: (reason: MemberQrRefusal) => void;
}

export class KioskMembers {
  private readonly qr: MemberQrCheck;
  /** Member id → the tier its member QR's credential carried (used where the members feed lacks the member). */
  private readonly credentialTiers = new Map<string, string>();

  constructor(d: KioskMembersDeps) {
    const k = d.config.kiosk;
    // HQ's feed keys also sign member credentials: a member QR is checked with nothing else.
    this.qr = new MemberQrCheck({
      store: d.store,
      keys: memberKeyring(d.config.hq?.publicKeys ?? []),
      storeId: d.config.storeId,
      windowMs: k.memberQrWindowS * 1000,
      skewMs: k.memberQrSkewS * 1000,
      member: (id) => d.catalog().memberStates.get(id),
      now: d.now,
      log: d.log,
      ...(d.onRefused ? { onRefused: d.onRefused } : {}),
    });
  }

  /** A member QR scanned at a kiosk: verified and used up; the member, or the refusal, for the cart. */
  async scan(kioskId: string, code: string): Promise<Action> {
    const r = await this.qr.check(code, kioskId);
    if (!r.ok) return { type: 'memberRefused', notice: r.notice };
    // Bounded: the oldest entry goes first (its member falls back to the members feed's tier).
    if (this.credentialTiers.size >= MAX_CREDENTIAL_TIERS) this.credentialTiers.delete(this.credentialTiers.keys().next().value!);
    this.credentialTiers.delete(r.memberId);
    this.credentialTiers.set(r.memberId, r.tier);
    return { type: 'member', code: r.memberId, known: true };
  }

  /** The tier a member's credential carried, if one was scanned since the start. */
  credentialTier(memberId: string): string | undefined {
    return this.credentialTiers.get(memberId);
  }
}
