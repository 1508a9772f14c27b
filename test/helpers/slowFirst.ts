/**
 * The order vitest starts test files in: longest first. With the workers each taking the next
 * file when they finish one, starting the long files first lets the short ones fill in beside them
 * (longest-processing-time-first scheduling); a 60 s file started last runs alone at the end.
 *
 * Durations come from the last full run's JSON report (test-artifacts/vitest.previous.json, which
 * `make test` keeps), else from test/fileDurations.json (committed, so a clean CI clone that has
 * no history still starts the slow files first), else a file counts as DEFAULT_FILE_S. Vitest's own
 * results cache is not used: it holds whatever file ran last, alone or failing early, and it is
 * empty on a clean clone. Refresh the committed list after a full run with
 * `node test/helpers/fileDurations.mjs test-artifacts/vitest.json`.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** What a file nobody has timed yet is taken to last: about an integration test with a gateway. */
export const DEFAULT_FILE_S = 5;
export const COMMITTED_DURATIONS = 'test/fileDurations.json';
export const PREVIOUS_REPORT = 'test-artifacts/vitest.previous.json';

/** Pure: the files, longest first; equal durations in path order so the order is stable. */
export function slowFirst(files: readonly string[], durationS: ReadonlyMap<string, number>, defaultS = DEFAULT_FILE_S): string[] {
  const d = (f: string) => durationS.get(f) ?? defaultS;
  return [...files].sort((a, b) => d(b) - d(a) || (a < b ? -1 : a > b ? 1 : 0));
}

/** Seconds per file (paths relative to root, `/`-separated) from a vitest JSON report: passed files only. */
export function durationsFromReport(report: unknown, root: string): Map<string, number> {
  const out = new Map<string, number>();
  const results = (report as { testResults?: unknown } | null)?.testResults;
  if (!Array.isArray(results)) return out;
  for (const r of results as { name?: unknown; status?: unknown; startTime?: unknown; endTime?: unknown }[]) {
    // A failed file may have stopped early: its time says nothing about a passing run.
    if (typeof r.name !== 'string' || r.status !== 'passed' || typeof r.startTime !== 'number' || typeof r.endTime !== 'number') continue;
    out.set(relativeKey(root, r.name), Math.max(0, (r.endTime - r.startTime) / 1000));
  }
  return out;
}

function relativeKey(root: string, file: string): string {
  return path.relative(root, path.resolve(root, file)).split(path.sep).join('/');
}

function readJson(file: string): unknown {
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return null; // a half-written report from an interrupted run: fall back to the committed list
  }
}

/** The committed durations, overlaid by the previous run's where it timed a file. */
export function loadDurations(root: string): Map<string, number> {
  const committed = readJson(path.join(root, COMMITTED_DURATIONS)) as Record<string, unknown> | null;
  const out = new Map<string, number>();
  for (const [f, s] of Object.entries(committed ?? {})) if (typeof s === 'number') out.set(f, s);
  for (const [f, s] of durationsFromReport(readJson(path.join(root, PREVIOUS_REPORT)), root)) out.set(f, s);
  return out;
}

/** vitest.config.ts `sequence.sequencer`: sharding as vitest does it, then longest first. */
export class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const durations = loadDurations(root);
    const byKey = new Map<string, TestSpecification[]>();
    for (const f of files) {
      const k = relativeKey(root, f.moduleId);
      byKey.set(k, [...(byKey.get(k) ?? []), f]);
    }
    return slowFirst([...byKey.keys()], durations).flatMap((k) => byKey.get(k)!);
  }
}
