/**
 * How the test processes load the TypeScript sources: Node's own ES module loader, with two
 * in-thread hooks (`module.registerHooks`), instead of Vite's module runner.
 *
 * Why: with the module runner every test file's worker asked the main vitest process for each of
 * the gateway's ~400 modules, one round trip each, and evaluated them through a wrapper; loading
 * the gateway took about 3.9 s of wall time per test file on the 2-core CI box, and about 100 test
 * files start a gateway. Natively, from the transform cache below, it takes about 0.6 s (measured
 * 2026-12-06, `experimental.viteModuleRunner: false` in vitest.config.ts; the suite went from
 * 653 s to 546 s on the same machine).
 *
 * - resolve: the sources import `./x.js` for `x.ts` (TypeScript's NodeNext rule); when no `x.js`
 *   exists beside the importer but `x.ts` (or `x.tsx`) does, that file is the module.
 * - load: a `.ts`/`.tsx` file outside node_modules is compiled by esbuild (the same compiler
 *   `make build` uses, one file at a time, as `isolatedModules` and `verbatimModuleSyntax` in
 *   tsconfig.base.json promise is enough). Node's own type stripping cannot be used: it refuses
 *   constructor parameter properties, which the sources use throughout. The output is cached in
 *   node_modules/.cache/storegw-ts/, keyed by path, size and mtime, so each file is compiled once
 *   per change, not once per test process. A write is a rename of a temp file: two workers
 *   compiling the same file at once both leave a whole entry.
 *
 * Registered by `--import` in every test worker (vitest.config.ts `execArgv`) and by importing this
 * file from vitest.config.ts in the main process, which loads the global setup files natively too.
 */
import { registerHooks } from 'node:module';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { transformSync, version as esbuildVersion } from 'esbuild';

const CACHE = new URL('../../node_modules/.cache/storegw-ts/', import.meta.url);
/** More entries than this (old versions of edited files pile up): the cache starts over. */
const MAX_ENTRIES = 20_000;

mkdirSync(CACHE, { recursive: true });
if (process.env.VITEST_POOL_ID === undefined && readdirSync(CACHE).length > MAX_ENTRIES) {
  rmSync(CACHE, { recursive: true, force: true });
  mkdirSync(CACHE, { recursive: true });
}

const isSource = (url) => url.startsWith('file:') && !url.includes('/node_modules/');

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (context.parentURL && isSource(context.parentURL) && (specifier.startsWith('.') || specifier.startsWith('/')) && specifier.endsWith('.js')) {
      const base = specifier.slice(0, -3);
      if (!existsSync(fileURLToPath(new URL(specifier, context.parentURL)))) {
        for (const ext of ['.ts', '.tsx']) {
          const candidate = new URL(base + ext, context.parentURL);
          if (existsSync(fileURLToPath(candidate))) return { url: candidate.href, format: 'module', shortCircuit: true };
        }
      }
    }
    return nextResolve(specifier, context);
  },
  load(url, context, nextLoad) {
    // Vitest adds a query to the test file's URL; the file is the path.
    const pathname = isSource(url) ? new URL(url).pathname : '';
    if (!pathname.endsWith('.ts') && !pathname.endsWith('.tsx')) return nextLoad(url, context);
    const file = fileURLToPath(url.replace(/[?#].*$/, ''));
    const st = statSync(file);
    const key = createHash('sha1').update(`${esbuildVersion}\0${file}\0${st.size}\0${st.mtimeMs}`).digest('hex');
    const cached = new URL(`${key}.js`, CACHE);
    if (existsSync(cached)) return { format: 'module', source: readFileSync(cached, 'utf8'), shortCircuit: true };
    const out = transformSync(readFileSync(file, 'utf8'), {
      loader: pathname.endsWith('.tsx') ? 'tsx' : 'ts',
      format: 'esm',
      target: 'node24',
      sourcemap: 'inline',
      sourcefile: file,
      jsx: 'automatic',
      jsxImportSource: 'preact',
    });
    const tmp = new URL(`${key}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`, CACHE);
    writeFileSync(tmp, out.code);
    renameSync(tmp, cached);
    return { format: 'module', source: out.code, shortCircuit: true };
  },
});
