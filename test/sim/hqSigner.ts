/**
 * HQ's side of the feed envelope (gateway/protocol/README.md), for simulators and tests only: it holds
 * the Ed25519 private key. The gateway gets `publicKeyPem` in its config and never a private key.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as edSign, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export interface FeedMessage {
  feed: string;
  /** `all` or `store:{storeId}` (see gateway/protocol/feedVerify.ts). */
  scope: string;
  version: number;
  /** ISO 8601; passed in, the signer reads no clock. */
  issuedAt: string;
  body: unknown;
}

export interface HqSigner {
  kid: string;
  publicKey: KeyObject;
  /** SPKI PEM, what the gateway's config holds under `kid`. */
  publicKeyPem: string;
  /** PKCS#8 PEM, to keep the key across simulator runs. */
  privateKeyPem: string;
  /** Envelope JSON text `{"kid","sig","signed"}` with `signed` = JSON.stringify(message). */
  sign(message: FeedMessage): string;
  /** Envelope around any `signed` text, valid or not (for tests of malformed feeds). */
  signText(signed: string): string;
  /** Base64 Ed25519 signature over the UTF-8 bytes of `text`. */
  signature(text: string): string;
}

export interface HqSignerOptions {
  kid?: string;
  /** PKCS#8 PEM of an Ed25519 private key; a fresh key pair is generated when absent. */
  privateKeyPem?: string;
}

export function createHqSigner(options: HqSignerOptions = {}): HqSigner {
  const kid = options.kid ?? 'hq-test';
  const privateKey = options.privateKeyPem !== undefined ? createPrivateKey(options.privateKeyPem) : generateKeyPairSync('ed25519').privateKey;
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new TypeError(`privateKeyPem: must be an Ed25519 key (got ${privateKey.asymmetricKeyType})`);
  const publicKey = createPublicKey(privateKey);
  const signature = (text: string): string => edSign(null, Buffer.from(text, 'utf8'), privateKey).toString('base64');
  const signText = (signed: string): string => JSON.stringify({ kid, sig: signature(signed), signed });
  return {
    kid,
    publicKey,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    signature,
    signText,
    sign: (m) => signText(JSON.stringify({ feed: m.feed, scope: m.scope, version: m.version, issuedAt: m.issuedAt, body: m.body })),
  };
}

/** Loads the private key PEM at `path`, or generates one and writes it there (mode 0600). */
export function loadOrCreateHqSigner(path: string, kid?: string): HqSigner {
  if (existsSync(path)) return createHqSigner({ kid, privateKeyPem: readFileSync(path, 'utf8') });
  const signer = createHqSigner({ kid });
  writeFileSync(path, signer.privateKeyPem, { mode: 0o600 });
  return signer;
}
