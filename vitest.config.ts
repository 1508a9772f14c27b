import { configDefaults, defineConfig } from 'vitest/config';
import { SlowFirstSequencer } from './test/helpers/slowFirst.js';
// The TypeScript loader for this process too: it imports the global setup natively.
import './test/helpers/nativeLoader.mjs';

// Integration tests start real brokers, SQLite files and child processes, and much of their time
// is waiting on them (the suite keeps 2 cores about 75 % busy with two workers): three workers
// fill that wait. Measured on 2 cores, whole suite, workers sharing processes: 414 s with two,
// 380 s with three (with a process per file it had been 461 against 446 s).
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 3,
    // Node's own loader with test/helpers/nativeLoader.mjs (esbuild per file, cached on disk), not
    // Vite's module runner: loading the gateway per test file went from ~3.9 to ~0.6 s.
    experimental: { viteModuleRunner: false },
    execArgv: ['--import', new URL('./test/helpers/nativeLoader.mjs', import.meta.url).href, '--enable-source-maps'],
    // The long files first, so they overlap the short ones instead of running alone at the end.
    sequence: { sequencer: SlowFirstSequencer },
    projects: [
      // Unit tests share their worker processes (they restore fake timers and hold no process
      // state): a fresh process and module graph per file cost more than most of these files run.
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'], isolate: false } },
      // Everything that starts gateways, brokers, ptys and browsers. Each file stops what it
      // starts (afterAll), so these share their worker processes too: the gateway's modules are
      // loaded once per worker instead of once per file (with Node's own loader, measured 461 →
      // 414 s for the whole suite here; with Vite's module runner, sharing had measured slower).
      {
        extends: true,
        // One PostgreSQL cluster for every HQ file that does not stop it and one Chromium for every
        // browser file, each started on first use.
        test: { name: 'system', isolate: false, include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, 'test/unit/**'], globalSetup: ['test/helpers/pgGlobalSetup.ts', 'test/helpers/browserGlobalSetup.ts'] },
      },
    ],
  },
});
