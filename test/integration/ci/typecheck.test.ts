import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/tmp.js';

// The type check of `make test` on a small project of its own, built on the repository's real
// tsconfig.base.json: a type error, a value import of a type and a page reaching into the server
// must each fail it, and the closing line must count them.
const run = promisify(execFile);
const repo = process.cwd();
const typecheck = path.join(repo, 'test/helpers/typecheck.mjs');
const summary = path.join(repo, 'test/helpers/summary.mjs');

type Outcome = { code: number; stdout: string };
async function node(cwd: string, args: string[]): Promise<Outcome> {
  try {
    const { stdout } = await run(process.execPath, args, { cwd });
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout };
  }
}

describe('type check in make test', () => {
  const tmp = tempDir('storegw-typecheck-');
  const write = (file: string, text: string) => {
    mkdirSync(path.dirname(path.join(tmp.dir, file)), { recursive: true });
    writeFileSync(path.join(tmp.dir, file), text);
  };
  const base = path.join(repo, 'tsconfig.base.json');
  let checked: Outcome;

  beforeAll(async () => {
    // typeRoots: the fixture lives outside the repository but may reference its @types/node.
    const typeRoots = [path.join(repo, 'node_modules/@types')];
    const config = (name: string, lib: string[]) =>
      JSON.stringify({ extends: base, compilerOptions: { lib, types: [], typeRoots, tsBuildInfoFile: `tsc/${name}.tsbuildinfo` }, include: [name] });
    write('tsconfig.server.json', config('gateway', ['ES2023']));
    write('tsconfig.pages.json', config('kiosk', ['ES2023', 'DOM']));
    write('tsconfig.clean.json', config('clean', ['ES2023']));
    write('package.json', '{ "type": "module" }\n');
    write('gateway/protocol/view.ts', 'export type View = { id: string };\n');
    // A protocol module that needs node brings node types to every page importing it.
    write('gateway/protocol/clock.ts', '/// <reference types="node" />\nexport type Clock = () => number;\n');
    write('gateway/log.ts', 'export type Log = { info(msg: string): void };\n');
    // strict: an implicit any; verbatimModuleSyntax: a type imported as a value.
    write('gateway/main.ts', "import { View } from './protocol/view.js';\nexport const v: View = { id: 'a' };\nexport function f(x) { return x; }\n");
    write('kiosk/page.ts', "import type { View } from '../gateway/protocol/view.js';\nimport type { Log } from '../gateway/log.js';\nimport type { Clock } from '../gateway/protocol/clock.js';\nexport let clock: Clock | undefined;\nexport const seen: View[] = [];\nexport let log: Log | undefined;\n");
    write('clean/ok.ts', 'export const ok: number = 1;\n');
    checked = await node(tmp.dir, [typecheck, '--out', 'out/typecheck.json', 'tsconfig.server.json', 'tsconfig.pages.json', 'tsconfig.clean.json']);
  }, 180_000);
  afterAll(() => tmp.remove());

  it('fails on an implicit any and on a type imported without `import type`', () => {
    expect(checked.code).toBe(1);
    expect(checked.stdout).toMatch(/gateway\/main\.ts\(3,\d+\): error TS7006/);
    expect(checked.stdout).toMatch(/gateway\/main\.ts\(1,\d+\): error TS1484/);
    expect(checked.stdout).toMatch(/typecheck: tsconfig\.server\.json 2 error\(s\)/);
  });

  it('fails a page that imports from gateway/ outside gateway/protocol/, even type-only, or gets node types', () => {
    expect(checked.stdout).toContain('kiosk/page.ts: imports gateway/log.ts; a page imports only from gateway/protocol/');
    expect(checked.stdout).not.toContain('imports gateway/protocol/view.ts');
    expect(checked.stdout).toContain("tsconfig.pages.json: node types reached the pages' program");
    expect(checked.stdout).toMatch(/typecheck: tsconfig\.pages\.json 2 error\(s\)/);
    expect(checked.stdout).toMatch(/typecheck: tsconfig\.clean\.json ok/);
  });

  it('counts each project in the closing line, and a missing type check as a failure', async () => {
    const report = JSON.parse(readFileSync(path.join(tmp.dir, 'out/typecheck.json'), 'utf8')) as { projects: { project: string; errors: number }[] };
    expect(report.projects.map((p) => [p.project, p.errors])).toEqual([
      ['tsconfig.server.json', 2],
      ['tsconfig.pages.json', 2],
      ['tsconfig.clean.json', 0],
    ]);
    write('out/vitest.json', JSON.stringify({ numPassedTests: 5, numFailedTests: 0, testResults: [] }));
    expect((await node(tmp.dir, [summary, 'out/vitest.json', 'out/typecheck.json'])).stdout).toBe('6 passed, 2 failed\n');
    expect((await node(tmp.dir, [summary, 'out/vitest.json', 'out/none.json'])).stdout).toBe('5 passed, 1 failed\n');
  });
});
