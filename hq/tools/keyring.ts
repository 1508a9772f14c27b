/**
 * HQ's feed signing keys in one folder: `{kid}.key.pem` (PKCS#8, mode 0600, never leaves HQ),
 * `{kid}.pub.pem` (SPKI, what the stores' config holds) and `keyring.json`, which says per kid
 * when it became valid, when it stopped, and its status:
 *
 * - `pending`: generated, not signing yet. Stores must hold a public key before a feed signed with
 *   it arrives, so a rotation starts by rolling the new public key out to every store.
 * - `active`: the one key `sign` uses (at most one).
 * - `retiring`: signed until the last rotation; stores keep it, since feeds signed with it are
 *   still retained on the broker or in flight.
 * - `retired`: no longer valid; dropped from the stores' config.
 *
 * Keys are Ed25519 (RFC 8032), what the gateway's feed check accepts (gateway/protocol/feedVerify.ts).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from './atomicFile.js';

export type KeyStatus = 'pending' | 'active' | 'retiring' | 'retired';

export interface KeyEntry {
  kid: string;
  status: KeyStatus;
  createdAt: string;
  /** When it started signing (rotate), absent while pending. */
  notBefore?: string;
  /** When it stopped being valid (retire). */
  notAfter?: string;
}

export interface Keyring {
  keys: KeyEntry[];
}

export const KID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export class KeyringError extends Error {}

export const keyringPath = (dir: string): string => path.join(dir, 'keyring.json');
export const privateKeyPath = (dir: string, kid: string): string => path.join(dir, `${kid}.key.pem`);
export const publicKeyPath = (dir: string, kid: string): string => path.join(dir, `${kid}.pub.pem`);

export function loadKeyring(dir: string): Keyring {
  const file = keyringPath(dir);
  if (!existsSync(file)) return { keys: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new KeyringError(`${file}: is not valid JSON (${(err as Error).message})`);
  }
  const keys = (parsed as { keys?: unknown }).keys;
  if (!Array.isArray(keys)) throw new KeyringError(`${file}: keys: must be an array`);
  for (const [i, k] of keys.entries()) {
    const e = k as Partial<KeyEntry>;
    if (typeof e.kid !== 'string' || !KID_PATTERN.test(e.kid)) throw new KeyringError(`${file}: keys[${i}].kid: must be a key id`);
    if (!['pending', 'active', 'retiring', 'retired'].includes(e.status as string)) throw new KeyringError(`${file}: keys[${i}].status: must be pending, active, retiring or retired`);
  }
  return { keys: keys as KeyEntry[] };
}

export function saveKeyring(dir: string, ring: Keyring): void {
  writeFileAtomic(keyringPath(dir), JSON.stringify(ring, null, 2) + '\n');
}

function entry(ring: Keyring, kid: string): KeyEntry | undefined {
  return ring.keys.find((k) => k.kid === kid);
}

/** Generates a pair for `kid` (refusing to overwrite either file) and adds it: active if the ring has no active key, else pending. */
export function newKey(dir: string, kid: string, now: Date): KeyEntry {
  if (!KID_PATTERN.test(kid)) throw new KeyringError(`--kid: "${kid}" must match ${KID_PATTERN.source}`);
  const ring = loadKeyring(dir);
  if (entry(ring, kid)) throw new KeyringError(`--kid: "${kid}" is already in ${keyringPath(dir)}`);
  for (const f of [privateKeyPath(dir, kid), publicKeyPath(dir, kid)]) if (existsSync(f)) throw new KeyringError(`${f}: exists; refusing to overwrite a key`);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  // 'wx': fails if the file appeared meanwhile, so a key is never silently replaced.
  writeFileSync(privateKeyPath(dir, kid), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  writeFileSync(publicKeyPath(dir, kid), publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644, flag: 'wx' });
  const at = now.toISOString();
  const hasActive = ring.keys.some((k) => k.status === 'active');
  const e: KeyEntry = hasActive ? { kid, status: 'pending', createdAt: at } : { kid, status: 'active', createdAt: at, notBefore: at };
  ring.keys.push(e);
  saveKeyring(dir, ring);
  return e;
}

/** Makes `kid` the signing key (generating it if absent); the previous active key becomes retiring. */
export function rotate(dir: string, kid: string, now: Date): { active: KeyEntry; retiring: KeyEntry | undefined } {
  if (!entry(loadKeyring(dir), kid)) newKey(dir, kid, now);
  const ring = loadKeyring(dir);
  const next = entry(ring, kid)!;
  if (next.status === 'retired') throw new KeyringError(`--kid: "${kid}" is retired; a retired key never signs again`);
  if (next.status === 'active') throw new KeyringError(`--kid: "${kid}" is already the active key`);
  const at = now.toISOString();
  const old = ring.keys.find((k) => k.status === 'active');
  if (old) old.status = 'retiring';
  next.status = 'active';
  next.notBefore = at;
  saveKeyring(dir, ring);
  return { active: next, retiring: old };
}

export function retire(dir: string, kid: string, now: Date): KeyEntry {
  const ring = loadKeyring(dir);
  const e = entry(ring, kid);
  if (!e) throw new KeyringError(`--kid: "${kid}" is not in ${keyringPath(dir)}`);
  if (e.status === 'active') throw new KeyringError(`--kid: "${kid}" is the active key; rotate to another key first`);
  e.status = 'retired';
  e.notAfter = now.toISOString();
  saveKeyring(dir, ring);
  return e;
}

export function activeSigningKey(dir: string): { kid: string; privateKey: KeyObject } {
  const active = loadKeyring(dir).keys.find((k) => k.status === 'active');
  if (!active) throw new KeyringError(`${keyringPath(dir)}: no active key (run "storegw-hq keys new --dir ${dir} --kid …")`);
  // A signing key others can read lets them sign feeds every store accepts.
  const mode = statSync(privateKeyPath(dir, active.kid)).mode & 0o777;
  if ((mode & 0o077) !== 0) throw new KeyringError(`${privateKeyPath(dir, active.kid)}: is mode ${mode.toString(8).padStart(4, '0')}, must be readable by its owner only (0600)`);
  const privateKey = createPrivateKey(readFileSync(privateKeyPath(dir, active.kid), 'utf8'));
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new KeyringError(`${privateKeyPath(dir, active.kid)}: must be an Ed25519 key`);
  return { kid: active.kid, privateKey };
}

/** kid → SPKI PEM of every key the stores must accept now: pending, active and retiring. */
export function storePublicKeys(dir: string): { kid: string; pem: string }[] {
  return loadKeyring(dir)
    .keys.filter((k) => k.status !== 'retired')
    .map((k) => ({ kid: k.kid, pem: createPublicKey(readFileSync(publicKeyPath(dir, k.kid), 'utf8')).export({ type: 'spki', format: 'pem' }).toString() }));
}
