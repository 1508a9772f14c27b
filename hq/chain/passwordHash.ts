/**
 * The chain page's passwords, stored as scrypt hashes (RFC 7914), never in clear:
 * `scrypt$<log2N>$<r>$<p>$<salt base64>$<key base64>`, a 32-byte key, N = 2^15 by default (about
 * 50 ms per check: cheap for a login, expensive for guessing).
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const KEYLEN = 32;

function scrypt(secret: string, salt: Buffer, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(secret, salt, KEYLEN, { ...opts, maxmem: 256 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))));
}

export async function hashPassword(password: string, log2N = 15): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, { N: 2 ** log2N, r: 8, p: 1 });
  return `scrypt$${log2N}$8$1$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Constant-time compare; false for a malformed hash, never throws. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [alg, n, r, p, salt, key] = stored.split('$');
  const log2N = Number(n);
  const rr = Number(r);
  const pp = Number(p);
  // node:crypto reads r=0 or p=0 as "not given": such a hash must not verify.
  if (alg !== 'scrypt' || !Number.isInteger(log2N) || log2N < 1 || log2N > 20 || !Number.isInteger(rr) || rr < 1 || !Number.isInteger(pp) || pp < 1 || salt === undefined || key === undefined) return false;
  const expected = Buffer.from(key, 'base64');
  if (expected.length !== KEYLEN) return false;
  try {
    return timingSafeEqual(await scrypt(password, Buffer.from(salt, 'base64'), { N: 2 ** log2N, r: rr, p: pp }), expected);
  } catch {
    return false;
  }
}
