/**
 * This box's install id: random, generated once and kept in the data folder (`install-id`), so it
 * stays the same across restarts and upgrades and differs between two boxes even when their
 * config is a copy. It tells two gateways with one storeId apart (duplicateStore.ts).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const FILE = 'install-id';

export function loadOrCreateInstallId(dataDir: string): string {
  const file = path.join(dataDir, FILE);
  try {
    const id = readFileSync(file, 'utf8').trim();
    if (/^[A-Za-z0-9-]{8,64}$/.test(id)) return id;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const id = randomUUID();
  // Written once; a damaged file gets a new id, which at worst looks like a replaced box to HQ once.
  writeFileSync(file, id + '\n', { mode: 0o644 });
  return id;
}
