import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_FILE_S, durationsFromReport, loadDurations, slowFirst } from '../helpers/slowFirst.js';
import { tempDir } from '../helpers/tmp.js';

const tmp = tempDir('sgw-slowfirst-');
afterAll(() => tmp.remove());

describe('the test files start longest first', () => {
  it('orders by duration, unknown files at the default, ties by path', () => {
    const d = new Map([
      ['test/e2e/demo.test.ts', 70],
      ['test/unit/a.test.ts', 0.2],
      ['test/integration/b.test.ts', 9],
      ['test/integration/c.test.ts', 9],
    ]);
    const files = ['test/unit/a.test.ts', 'test/new.test.ts', 'test/integration/c.test.ts', 'test/e2e/demo.test.ts', 'test/integration/b.test.ts'];
    expect(slowFirst(files, d)).toEqual(['test/e2e/demo.test.ts', 'test/integration/b.test.ts', 'test/integration/c.test.ts', 'test/new.test.ts', 'test/unit/a.test.ts']);
    expect(slowFirst(files, d, 100)[0]).toBe('test/new.test.ts');
    expect(DEFAULT_FILE_S).toBeGreaterThan(0);
  });

  it('reads seconds per passed file from a vitest JSON report, relative to the root', () => {
    const report = {
      testResults: [
        { name: '/r/test/x.test.ts', status: 'passed', startTime: 1000, endTime: 13_500 },
        { name: '/r/test/y.test.ts', status: 'failed', startTime: 1000, endTime: 1200 },
        { name: '/r/test/z.test.ts', status: 'passed' },
      ],
    };
    expect([...durationsFromReport(report, '/r')]).toEqual([['test/x.test.ts', 12.5]]);
    expect(durationsFromReport(null, '/r').size).toBe(0);
    expect(durationsFromReport({ testResults: 'no' }, '/r').size).toBe(0);
  });

  it('takes the committed list, overlaid by the previous run where it timed a file', () => {
    const root = tmp.dir;
    mkdirSync(path.join(root, 'test'), { recursive: true });
    mkdirSync(path.join(root, 'test-artifacts'), { recursive: true });
    expect(loadDurations(root).size).toBe(0); // a clean clone without the list: all default
    writeFileSync(path.join(root, 'test/fileDurations.json'), JSON.stringify({ 'test/a.test.ts': 30, 'test/b.test.ts': 2 }));
    expect(Object.fromEntries(loadDurations(root))).toEqual({ 'test/a.test.ts': 30, 'test/b.test.ts': 2 });
    const prev = { testResults: [{ name: path.join(root, 'test/b.test.ts'), status: 'passed', startTime: 0, endTime: 40_000 }] };
    writeFileSync(path.join(root, 'test-artifacts/vitest.previous.json'), JSON.stringify(prev));
    expect(Object.fromEntries(loadDurations(root))).toEqual({ 'test/a.test.ts': 30, 'test/b.test.ts': 40 });
    writeFileSync(path.join(root, 'test-artifacts/vitest.previous.json'), '{"testResults": [');
    expect(Object.fromEntries(loadDurations(root))).toEqual({ 'test/a.test.ts': 30, 'test/b.test.ts': 2 }); // cut short: ignored
  });
});
