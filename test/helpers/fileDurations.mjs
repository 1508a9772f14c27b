// Rewrites test/fileDurations.json (seconds per test file, read by test/helpers/slowFirst.ts to
// start the slow files first) from a vitest JSON report of a full run:
//   node test/helpers/fileDurations.mjs test-artifacts/vitest.json
// Files the report did not time (failed, or not run) keep their old figure while they exist.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const LIST = 'test/fileDurations.json';
const report = JSON.parse(readFileSync(process.argv[2] ?? 'test-artifacts/vitest.json', 'utf8'));
const old = existsSync(LIST) ? JSON.parse(readFileSync(LIST, 'utf8')) : {};
const next = {};
for (const [f, s] of Object.entries(old)) if (existsSync(f)) next[f] = s;
for (const r of report.testResults ?? []) {
  if (r.status !== 'passed') continue;
  const f = path.relative(process.cwd(), r.name).split(path.sep).join('/');
  next[f] = Math.round((r.endTime - r.startTime) / 100) / 10;
}
const sorted = Object.fromEntries(Object.entries(next).sort(([a], [b]) => (a < b ? -1 : 1)));
writeFileSync(LIST, JSON.stringify(sorted, null, 2) + '\n');
process.stdout.write(`${LIST}: ${Object.keys(sorted).length} files\n`);
