/**
 * The store's secret for member hashes (`member-hash.key` in the data folder, 32 random bytes,
 * mode 0600): created on first start, read on every later one. Member codes are short and their
 * format is known, so a plain SHA-256 of one is reversed by trying every code; an HMAC with a key
 * that never leaves the store is not. Losing the file only restarts the repeat-rate history.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

const KEY_BYTES = 32;

/** Reads the key at `file`, or creates it (exclusively, 0600) when there is none. */
export function loadOrCreateMemberHashKey(file: string): { key: Buffer; created: boolean } {
  try {
    writeFileSync(file, randomBytes(KEY_BYTES), { flag: 'wx', mode: 0o600 });
    return { key: readKey(file), created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return { key: readKey(file), created: false };
  }
}

function readKey(file: string): Buffer {
  const key = readFileSync(file);
  if (key.length !== KEY_BYTES) throw new Error(`${file}: a member hash key must be ${KEY_BYTES} bytes (got ${key.length}); restore it from a backup or remove it to start a new one`);
  return key;
}
