// Bundles the programs into dist/ with esbuild. npm packages stay external (native addons:
// better-sqlite3, serialport, node-hid, onoff); the pages are bundled whole for the browser.
import { build } from 'esbuild';
import { existsSync, mkdirSync, cpSync } from 'node:fs';

const t0 = Date.now();
const node = [
  ['gateway/main.ts', 'dist/storegw.js'],
  // The HQ feed checker's worker thread; storegw.js loads it from beside itself (gateway/prices/feedCheck.ts).
  ['gateway/prices/feedWorker.ts', 'dist/feedWorker.js'],
  // The SQLite writer thread; gateway/db/owner.ts loads it from beside itself (plain JS, so the
  // sources under test load the same file).
  ['gateway/db/ownerWorker.mjs', 'dist/ownerWorker.mjs'],
  ['firmware-bridge/main.ts', 'dist/storegw-bridge.js'],
  // HQ's side: the reference ingest and the key, feed and chain tools (hq/README.md).
  ['hq/main.ts', 'dist/storegw-hq.js'],
  ['test/sim/demo.ts', 'dist/demo.js'],
  ['test/bench/bench.ts', 'dist/bench.js'],
];
mkdirSync('dist', { recursive: true });
for (const [entry, outfile] of node) {
  if (!existsSync(entry)) continue;
  process.stdout.write(`build: ${entry} -> ${outfile}\n`);
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    packages: 'external',
    // The root tsconfig.json only lists the programs; esbuild reads the one this bundle belongs to.
    tsconfig: 'tsconfig.server.json',
    sourcemap: 'linked',
    banner: { js: '#!/usr/bin/env node' },
    // HQ's schema migrations are plain .sql files (hq/db/), bundled as text.
    loader: { '.sql': 'text' },
    logLevel: 'warning',
  });
}
for (const page of ['checkout', 'ops']) {
  const entry = `kiosk/${page}/main.tsx`;
  if (!existsSync(entry)) continue;
  process.stdout.write(`build: ${entry} -> dist/kiosk/${page}/\n`);
  await build({
    entryPoints: [entry],
    outfile: `dist/kiosk/${page}/app.js`,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'chrome110',
    minify: true,
    sourcemap: 'linked',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: 'tsconfig.pages.json',
    logLevel: 'warning',
  });
  if (existsSync(`kiosk/${page}/index.html`)) cpSync(`kiosk/${page}/index.html`, `dist/kiosk/${page}/index.html`);
  if (existsSync('kiosk/ui/style.css')) cpSync('kiosk/ui/style.css', `dist/kiosk/${page}/style.css`);
}
process.stdout.write(`build: done in ${Date.now() - t0} ms\n`);
