/**
 * Feed versions per (feed, scope), handed out by `sign`. A gateway applies a feed only if its
 * version is greater than the one it applied for that feed and scope, so a version must never be
 * handed out twice, across restarts and key rotations alike.
 *
 * next = max(last + 1, now in ms since the epoch). The state file (`versions.json` in the keys
 * folder) is replaced crash-safe and written before the signed feed is, so a crash in between
 * burns a version and never reuses one. The time floor keeps versions increasing even if the state
 * file is lost or restored from an old backup, as long as HQ's clock does not go back; and it
 * stays far below 2^53 (Number.MAX_SAFE_INTEGER, the schema's maximum) for the next 280,000 years.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic, type AtomicWriteOptions } from './atomicFile.js';

export const versionsPath = (dir: string): string => path.join(dir, 'versions.json');

export type VersionState = Record<string, number>;

const keyOf = (feed: string, scope: string): string => `${feed} ${scope}`;

export function loadVersions(dir: string): VersionState {
  const file = versionsPath(dir);
  if (!existsSync(file)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    // Refuse rather than restart from 0: the time floor would still protect, but a corrupt state is worth a look.
    throw new Error(`${file}: is not valid JSON (${(err as Error).message}); fix or remove it`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${file}: must be a JSON object`);
  for (const [k, v] of Object.entries(parsed)) if (!Number.isSafeInteger(v) || (v as number) < 0) throw new Error(`${file}: "${k}": must be a version (integer ≥ 0)`);
  return parsed as VersionState;
}

/** The last version handed out for (feed, scope), if any. */
export function lastVersion(dir: string, feed: string, scope: string): number | undefined {
  return loadVersions(dir)[keyOf(feed, scope)];
}

/** Allocates and durably records the next version for (feed, scope). */
export function nextVersion(dir: string, feed: string, scope: string, nowMs: number, options: AtomicWriteOptions = {}): number {
  const state = loadVersions(dir);
  const key = keyOf(feed, scope);
  const version = Math.max((state[key] ?? -1) + 1, Math.floor(nowMs));
  state[key] = version;
  writeFileAtomic(versionsPath(dir), JSON.stringify(state, null, 2) + '\n', options);
  return version;
}
