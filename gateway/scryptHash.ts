/**
 * Secrets are stored as scrypt hashes, never in clear (gateway/README.md §Trust). Format:
 * `scrypt$<log2N>$<r>$<p>$<salt b64>$<hash b64>`. People's passwords use N=2^15; device secrets
 * are 192-bit random tokens, so brute force is not the threat and N=2^8 keeps a connect storm of
 * thousands of first connects within budget (each verify well under 1 ms instead of ~60 ms).
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export const PASSWORD_COST = 15;
export const DEVICE_SECRET_COST = 8;
const KEYLEN = 32;

function scrypt(secret: string, salt: Buffer, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(secret, salt, KEYLEN, { ...opts, maxmem: 256 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashSecret(secret: string, log2N = PASSWORD_COST): Promise<string> {
  const salt = randomBytes(16);
  const r = 8;
  const p = 1;
  const key = await scrypt(secret, salt, { N: 2 ** log2N, r, p });
  return `scrypt$${log2N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export const HASH_PATTERN = '^scrypt\\$[0-9]{1,2}\\$[0-9]{1,2}\\$[0-9]{1,2}\\$[A-Za-z0-9+/=]{16,64}\\$[A-Za-z0-9+/=]{40,64}$';

/** log2N of a stored hash (0 when malformed): what one check of it costs. */
export function hashCost(stored: string): number {
  const n = Number(stored.split('$')[1]);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

/** Constant-time compare of the derived key; false for a malformed hash (never throws). */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const log2N = Number(parts[1]);
  const r = Number(parts[2]);
  const p = Number(parts[3]);
  // node:crypto reads r=0 or p=0 as "not given" (8 and 1): such a hash must not verify.
  if (!Number.isInteger(log2N) || log2N < 1 || log2N > 20 || !Number.isInteger(r) || r < 1 || !Number.isInteger(p) || p < 1) return false;
  const salt = Buffer.from(parts[4], 'base64');
  const expected = Buffer.from(parts[5], 'base64');
  if (expected.length !== KEYLEN) return false;
  try {
    const key = await scrypt(secret, salt, { N: 2 ** log2N, r, p });
    return timingSafeEqual(key, expected);
  } catch {
    return false;
  }
}

/** A new random device secret (printed once by `storegw device add`). */
export function newDeviceSecret(): string {
  return randomBytes(24).toString('base64url');
}
