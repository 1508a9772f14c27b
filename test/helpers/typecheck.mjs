// Type-checks every program with its own tsconfig and writes test-artifacts/typecheck.json, which
// summary.mjs adds to the closing "N passed, N failed" line: esbuild strips types without checking
// them, so without this step a type error would reach the store unnoticed.
//   node test/helpers/typecheck.mjs [--out test-artifacts/typecheck.json] [tsconfig…]
// Each project is one check: passed with no error, failed with any. Exit code 1 if one failed.
// Paths are taken from the working directory, so a test can run it on a small fixture project.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const PROJECTS = [
  // gateway/, firmware-bridge/ and the node-side tests: node types, no DOM.
  'tsconfig.server.json',
  // kiosk/: DOM, no node types.
  'tsconfig.pages.json',
  // Tests and the bench that drive Chromium: node code that ships callbacks into the page.
  'tsconfig.browserTests.json',
];

// The pages may import from gateway/ only what runs in a browser: gateway/protocol/. The pages
// still take their API view types from these gateway modules, which bring node types into the
// pages' program; they are listed so that no new one slips in. Once no page imports any of them,
// node types in the pages' program fail the check (a protocol module that uses node, say).
const PAGE_IMPORTS_OUTSIDE_PROTOCOL = new Set([
  'gateway/devices/registry.ts',
  'gateway/devices/commands.ts',
  'gateway/kpi/kpis.ts',
  'gateway/kpi/kpiStore.ts',
  'gateway/kiosk/handovers.ts',
  'gateway/people/userDirectory.ts',
]);

const args = process.argv.slice(2);
const outAt = args.indexOf('--out');
const out = outAt >= 0 ? args.splice(outAt, 2)[1] : 'test-artifacts/typecheck.json';
const projects = args.length ? args : PROJECTS;
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

/** Runs tsc on one project; resolves with its diagnostics and the files of its program. */
function check(project) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [tsc, '-p', project, '--pretty', 'false', '--listFiles'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    child.on('close', (code) => {
      const lines = text.split('\n');
      // --listFiles prints absolute paths; diagnostics start with a relative path and "error TS".
      const files = lines.filter((l) => l.startsWith('/')).map((f) => path.relative(process.cwd(), f));
      const diagnostics = lines.filter((l) => l && !l.startsWith('/'));
      const errors = diagnostics.filter((l) => /(^|\s)error TS\d+:/.test(l)).length || (code === 0 ? 0 : 1);
      resolve({ project, errors, ms: Date.now() - t0, diagnostics, files });
    });
  });
}

/** What the pages' program must not hold: node imports, unlisted gateway/ imports, node types. */
function pageImportProblems(files) {
  const problems = [];
  const stillImported = new Set();
  for (const file of files.filter((f) => f.startsWith('kiosk/'))) {
    const source = readFileSync(file, 'utf8');
    // `from '…'`, a bare `import '…'` and `import('…')`.
    for (const m of source.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*['"]([^'"]+)['"]/g)) {
      if (m[1].startsWith('node:')) problems.push(`${file}: imports ${m[1]}; a page runs in the browser`);
      if (!m[1].startsWith('.')) continue;
      const target = path.relative(process.cwd(), path.resolve(path.dirname(file), m[1])).replace(/\.js$/, '.ts');
      if (!target.startsWith('gateway/') || target.startsWith('gateway/protocol/')) continue;
      if (PAGE_IMPORTS_OUTSIDE_PROTOCOL.has(target)) stillImported.add(target);
      else problems.push(`${file}: imports ${target}; a page imports only from gateway/protocol/`);
    }
  }
  const nodeTypes = files.some((f) => f.includes('node_modules/@types/node/'));
  if (nodeTypes && stillImported.size === 0) problems.push("tsconfig.pages.json: node types reached the pages' program through a module they import");
  return problems;
}

const t0 = Date.now();
const queue = [...projects];
const results = [];
const workers = Array.from({ length: Math.min(projects.length, availableParallelism()) }, async () => {
  for (let p = queue.shift(); p; p = queue.shift()) results.push(await check(p));
});
await Promise.all(workers);
results.sort((a, b) => projects.indexOf(a.project) - projects.indexOf(b.project));

const pages = results.find((r) => path.basename(r.project) === 'tsconfig.pages.json');
if (pages) {
  const problems = pageImportProblems(pages.files);
  pages.diagnostics.push(...problems);
  pages.errors += problems.length;
}

for (const r of results) {
  for (const line of r.diagnostics) process.stdout.write(`${line}\n`);
  process.stdout.write(`typecheck: ${r.project} ${r.errors ? `${r.errors} error(s)` : 'ok'} in ${(r.ms / 1000).toFixed(1)} s\n`);
}
process.stdout.write(`typecheck: done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ projects: results.map(({ project, errors, ms }) => ({ project, errors, ms })) }, null, 2));
process.exit(results.some((r) => r.errors) ? 1 : 0);
