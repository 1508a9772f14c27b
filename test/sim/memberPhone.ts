/**
 * The member app's part of the member QR contract (gateway/kiosk/README.md §Member QR), for tests
 * and the demo: HQ issues a credential for the phone's own Ed25519 key (signed with HQ's feed key,
 * `hqSigner`), and the phone signs a fresh presentation for every QR it shows. Uses the gateway's
 * own layout functions (memberQr.ts), so the bytes are the ones the gateway reads.
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, sign as edSign, type KeyObject } from 'node:crypto';
import { credentialBody, credentialSigningInput, encodeMemberQr, keyIdOfSpki, presentationBody, presentationSigningInput } from '../../gateway/kiosk/memberQr.js';
import type { HqSigner } from './hqSigner.js';

export interface CredentialRequest {
  memberId: string;
  tier: string;
  /** Unix seconds. */
  expires: number;
  /** Hex, 16 chars; random when absent. */
  credId?: string;
  /** Sign with this kid instead of the signer's own (a credential from an unknown HQ key). */
  kid?: string;
}

/** HQ's side: the signed credential bytes (body + HQ's signature) for a phone's raw public key. */
export function issueMemberCredential(signer: Pick<HqSigner, 'privateKeyPem' | 'publicKey'>, phoneKey: Buffer, r: CredentialRequest): { signed: Buffer; credId: string } {
  const credId = r.credId ?? randomBytes(8).toString('hex');
  const kid = r.kid ?? keyIdOfSpki(signer.publicKey.export({ type: 'spki', format: 'der' }));
  const body = credentialBody({ kid, credId, expires: r.expires, phoneKey, memberId: r.memberId, tier: r.tier });
  const hqSig = edSign(null, credentialSigningInput(body), createPrivateKey(signer.privateKeyPem));
  return { signed: Buffer.concat([body, hqSig]), credId };
}

export interface PresentOptions {
  /** Unix seconds by the phone's clock; the injected clock when absent. */
  time?: number;
  /** Hex, 16 chars; random when absent. */
  nonce?: string;
  /** Bind the QR to one store ('' = any). */
  storeId?: string;
}

export class MemberPhone {
  readonly credId: string;
  readonly publicKeyRaw: Buffer;
  private readonly privateKey: KeyObject;
  private readonly credential: Buffer;

  /** A phone with a fresh key pair and a credential HQ (`signer`) issued for it. */
  constructor(
    signer: Pick<HqSigner, 'privateKeyPem' | 'publicKey'>,
    req: CredentialRequest,
    private readonly now: () => number = Date.now,
  ) {
    const pair = generateKeyPairSync('ed25519');
    this.privateKey = pair.privateKey;
    // The raw key is the last 32 bytes of the SPKI DER (RFC 8410 §4).
    this.publicKeyRaw = pair.publicKey.export({ type: 'spki', format: 'der' }).subarray(-32);
    const issued = issueMemberCredential(signer, this.publicKeyRaw, req);
    this.credential = issued.signed;
    this.credId = issued.credId;
  }

  /** A QR text to show at the kiosk: a new presentation each call. */
  present(o: PresentOptions = {}): string {
    const body = presentationBody({ time: o.time ?? Math.floor(this.now() / 1000), nonce: o.nonce ?? randomBytes(8).toString('hex'), storeId: o.storeId ?? '' });
    const sig = edSign(null, presentationSigningInput(this.credential, body), this.privateKey);
    return encodeMemberQr(this.credential, body, sig);
  }
}
