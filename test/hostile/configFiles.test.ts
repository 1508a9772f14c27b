/**
 * Config files as an attacker (or a tired admin) writes them, fed to the real program:
 * `node dist/storegw.js check-config FILE` and `storegw run --config FILE`. Arbitrary YAML, YAML's
 * own hazards (alias bombs, tags, duplicate keys, non-UTF-8), and valid configs with one value
 * changed, removed or added. Never a stack trace; a refusal exits 2 with every problem on a line
 * that names its field path; a config that passes check-config is one the schema accepts, and the
 * untouched valid config still passes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConfig } from '../helpers/gatewayHarness.js';
import { tempDir } from '../helpers/tmp.js';
import { checkConfig } from '../../gateway/cli.js';
import { SEED, Tally, ensureBuilt, runCli, type CliResult } from './harness.js';

const tmp = tempDir('sgw-hostile-config-');
const tally = new Tally('config-files');
let base: Record<string, unknown>;
let n = 0;

beforeAll(async () => {
  ensureBuilt();
  base = await buildConfig({ dataDir: path.join(tmp.dir, 'data') });
});
afterAll(() => {
  tally.print();
  tmp.remove();
});

function writeCase(content: string | Buffer): string {
  const dir = path.join(tmp.dir, `case-${++n}`);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'storegw.yaml');
  writeFileSync(file, content, { mode: 0o600 });
  return file;
}

/**
 * `storegw check-config FILE` without the process start (~1 s each on a loaded box): the very
 * function main.ts dispatches to, on a real file. A throw here is what the process would print as
 * a stack trace with exit code 1; a Node warning is a line on stderr that names no field. The
 * spawned program is checked separately below, on fewer cases.
 */
async function checkInProcess(file: string): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const onWarning = (w: Error) => (stderr += `(node) Warning: ${w.message}\n`);
  process.on('warning', onWarning);
  try {
    const code = await checkConfig(file, { out: (s) => (stdout += s), err: (s) => (stderr += s), env: {}, readStdin: async () => '' });
    // Warnings are emitted on the next tick.
    await new Promise((r) => setImmediate(r));
    return { code, stdout, stderr };
  } catch (err) {
    return { code: 1, stdout, stderr: stderr + String((err as Error).stack) };
  } finally {
    process.off('warning', onWarning);
  }
}
/** Node's way of dying: `    at fn (file:line:col)`, or an error class name at the start of a line. */
const STACK = /^\s+at .+[:(]\d+|^(TypeError|RangeError|ReferenceError|SyntaxError|Error):/m;

/** The contract of a refusal; returns the error lines. */
function expectRefusal(r: CliResult, file: string): string[] {
  expect(r.stderr).not.toMatch(STACK);
  expect(r.stdout).not.toMatch(STACK);
  expect(r.code, r.stderr).toBe(2);
  const [head, ...lines] = r.stderr.trimEnd().split('\n');
  expect(head).toMatch(new RegExp(`^storegw: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} has \\d+ error\\(s\\):$`));
  expect(lines.length).toBeGreaterThan(0);
  // Every line: two spaces, a locator (field path, or the YAML line, or the file), a colon.
  for (const l of lines) expect(l).toMatch(/^ {2}(\(yaml\) (line \d+|\S)|\(root\): |\(file\) |\S[^\n]*?: )/);
  return lines.map((l) => l.slice(2));
}

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

/** Every path in the config (objects and arrays too), as key lists. */
function pathsOf(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = prefix.length > 0 ? [prefix] : [];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...pathsOf(x, [...prefix, i])));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...pathsOf(x, [...prefix, k]));
  return out;
}

type Mutation = { op: 'set'; path: (string | number)[]; value: Json } | { op: 'delete'; path: (string | number)[] } | { op: 'add'; path: (string | number)[]; key: string; value: Json };

function apply(cfg: Record<string, unknown>, m: Mutation): Record<string, unknown> {
  const out = structuredClone(cfg);
  let parent: Record<string | number, unknown> = out;
  for (const k of m.path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const last = m.path[m.path.length - 1];
  if (m.op === 'set') parent[last] = m.value;
  else if (m.op === 'delete') {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else {
    const target = parent[last];
    if (target && typeof target === 'object' && !Array.isArray(target)) (target as Record<string, unknown>)[m.key] = m.value;
    else parent[last] = { [m.key]: m.value };
  }
  return out;
}

const oddValue: fc.Arbitrary<Json> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
  fc.constantFrom<Json>(-1, 0, 1e308, -1e308, 2 ** 53 + 2, 65536, 70000, '', ' ', '../../etc/passwd', '/', 'x'.repeat(5000), '\u0000', 'true', '0x10', '1e3', [], {}, null),
);

describe('config files', () => {
  it('the unmutated config passes check-config', async () => {
    const file = writeCase(stringify(base));
    const r = await runCli(['check-config', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('one value changed, removed or added: exit 0, or exit 2 naming the field (never a stack trace)', async () => {
    const paths = pathsOf(base);
    const mutation: fc.Arbitrary<Mutation> = fc.oneof(
      fc.tuple(fc.constantFrom(...paths), oddValue).map(([p, value]) => ({ op: 'set' as const, path: p, value })),
      fc.constantFrom(...paths).map((p) => ({ op: 'delete' as const, path: p })),
      fc.tuple(fc.constantFrom(...paths), fc.string({ minLength: 1, maxLength: 12 }), oddValue).map(([p, key, value]) => ({ op: 'add' as const, path: p, key, value })),
    );
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        tally.add('cases: mutated valid config');
        const file = writeCase(stringify(apply(base, m)));
        const r = await checkInProcess(file);
        if (r.code === 0) {
          tally.add('accepted (still valid)');
          expect(r.stderr).toBe('');
          return;
        }
        const lines = expectRefusal(r, file);
        // The field that was touched (its top-level setting at least) is named, or the whole file.
        const top = String(m.path[0]);
        expect(lines.some((l) => l.startsWith(top) || l.startsWith('(root)')), `${JSON.stringify(m)} → ${lines.join(' | ')}`).toBe(true);
        tally.add('refused: exit 2 naming the field');
      }),
      { seed: SEED, numRuns: 300 },
    );
  }, 180_000);

  it('arbitrary YAML and YAML hazards: exit 2 with located errors, never a stack trace', async () => {
    const hazards = [
      '',
      '\u0000',
      '- a\n- b\n',
      'storeId: [unclosed',
      '*a',
      '!!js/function "function(){}"',
      'storeId: !!binary aGVsbG8=',
      'a: &a [1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n',
      'storeId: a\nstoreId: b\n',
      '__proto__: {admin: true}\n',
      'constructor: {prototype: {polluted: 1}}\n',
      '%YAML 9.9\n---\na: 1\n',
      '---\na: 1\n---\nb: 2\n',
      '? [complex, key]\n: v\n',
      `mqtt: ${'['.repeat(5000)}${']'.repeat(5000)}\n`,
      'storeId: "\\ud800"\n',
    ];
    const texts = fc.oneof(
      fc.constantFrom(...hazards).map((t) => Buffer.from(t)),
      fc.string({ unit: 'binary', maxLength: 300 }).map((t) => Buffer.from(t)),
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.concat([Buffer.from('storeId: '), Buffer.from(b)])),
      fc.array(fc.constantFrom('storeId:', 'mqtt:', '  port:', ' ', '-', '[', ']', '{', '}', '&a', '*a', '!!str', '"', "'", '\n', '#', '|', '>', '70000', 'null', '~'), { maxLength: 40 }).map((p) => Buffer.from(p.join(''))),
    );
    await fc.assert(
      fc.asyncProperty(texts, async (t) => {
        tally.add('cases: arbitrary YAML');
        const file = writeCase(t);
        const r = await checkInProcess(file);
        // Arbitrary text is never a whole valid config (storeId, devices, … are required).
        expectRefusal(r, file);
        tally.add('refused: exit 2 with located errors');
      }),
      { seed: SEED, numRuns: 300, examples: hazards.map((h) => [Buffer.from(h)]) },
    );
  }, 180_000);

  it('the spawned program: an alias bomb and a collection key exit 2 with located lines, no warning, no trace', async () => {
    // Independent programs, each a Node start: concurrently.
    const texts = ['? [complex, key]\n: v\n', 'a: &a [1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n'];
    const files = texts.map((t) => writeCase(t));
    const results = await Promise.all(files.map((file) => runCli(['check-config', file])));
    results.forEach((r, i) => {
      tally.add('cases: spawned check-config');
      expectRefusal(r, files[i]);
    });
  }, 60_000);

  it('`storegw run` refuses what check-config refuses, with the same lines, before opening anything', async () => {
    const bad = [
      apply(base, { op: 'set', path: ['mqtt', 'port'], value: 70000 }),
      apply(base, { op: 'add', path: ['http'], key: 'evil', value: { a: 1 } }),
    ];
    // Four independent programs, each a Node start: concurrently.
    const files = bad.map((cfg) => writeCase(stringify(cfg)));
    const results = await Promise.all(files.map((file) => Promise.all([runCli(['check-config', file]), runCli(['run', '--config', file])])));
    results.forEach(([checked, run], i) => {
      tally.add('cases: run with a bad config');
      const check = expectRefusal(checked, files[i]);
      expect(run.stderr).not.toMatch(STACK);
      expect(run.code).toBe(2);
      for (const l of check) expect(run.stderr).toContain(`  ${l}\n`);
    });
  }, 60_000);
});

