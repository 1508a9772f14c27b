/**
 * The repository explains itself: no tracked file may send a reader to documents that live outside
 * it (a sibling `shared` folder and the design, device, retail and payment notes kept there). What
 * the code relies on is written in the READMEs beside it, so a fresh clone is complete.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// Built from pieces so that this file does not match itself.
const designNote = 'DES' + 'IGN';
const deviceNote = 'DEV' + 'ICES';
const styleNote = 'STY' + 'LE';
const retailNote = 'OPEN-RE' + 'TAIL';
const paymentNote = 'ZVT-ES' + 'CPOS';
const OUTSIDE = new RegExp(
  [
    `\\.\\./${'sha' + 'red'}\\b`,
    `\\b(?:${designNote}|${deviceNote}|${styleNote}|${retailNote}|${paymentNote})\\.md\\b`,
    `\\b${retailNote}\\b`,
    `\\b${paymentNote}\\b`,
    // The short forms the old comments used: the design note's name alone with a section, the
    // device note's name with a §, the style note's rule numbers.
    `\\b${designNote}\\b`,
    `\\b${deviceNote} §`,
    `\\b${styleNote} rules?\\b`,
  ].join('|'),
);

/** Tracked files (git), or every file outside node_modules, dist and .git when there is no git. */
function repoFiles(): string[] {
  try {
    const out = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    return out.split('\0').filter((f) => f !== '' && !f.split('/').includes('node_modules'));
  } catch {
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
        if (['node_modules', 'dist', '.git'].includes(e.name)) continue;
        const rel = path.join(dir, e.name);
        if (e.isDirectory()) walk(rel);
        else if (e.isFile()) files.push(rel);
      }
    };
    walk('');
    return files;
  }
}

/** `file:line: text` of every line that points outside the repository. */
function pointersOutside(files: string[]): string[] {
  const hits: string[] = [];
  for (const f of files) {
    let text: string;
    try {
      const buf = readFileSync(path.join(ROOT, f));
      if (buf.includes(0)) continue; // binary
      text = buf.toString('utf8');
    } catch {
      continue; // listed by git but deleted in the work tree
    }
    text.split('\n').forEach((line, i) => {
      if (OUTSIDE.test(line)) hits.push(`${f}:${i + 1}: ${line.trim().slice(0, 160)}`);
    });
  }
  return hits;
}

describe('the repository stands alone', () => {
  it('finds the files it checks (code, docs, config)', () => {
    const files = repoFiles();
    expect(files).toContain('README.md');
    expect(files).toContain('gateway/protocol/README.md');
    expect(files.some((f) => f.startsWith('firmware-bridge/devices/') && f.endsWith('/README.md'))).toBe(true);
  });

  it('the check catches a pointer outside, in each form the old comments used', () => {
    const samples = [`see ../${'sha' + 'red'}/x`, `${deviceNote}.md §1.1`, `(${designNote}, Trust)`, `${retailNote} §2`, `(${styleNote} rule 10)`, `${deviceNote} §4.2`];
    for (const s of samples) expect(OUTSIDE.test(s), s).toBe(true);
    expect(OUTSIDE.test(`const ${deviceNote} = [`)).toBe(false); // a test's own list of devices
  });

  it('no tracked file points at documents outside the repository', () => {
    expect(pointersOutside(repoFiles())).toEqual([]);
  });
});
