/**
 * Feed versions (hq/tools/feedVersions.ts): increasing per (feed, scope), never handed out twice,
 * also when the writer dies between writing the new state and renaming it into place.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tempDir } from '../../../helpers/tmp.js';
import { lastVersion, nextVersion, versionsPath } from '../../../../hq/tools/feedVersions.js';

const tmp = tempDir('hq-versions-');
afterAll(() => tmp.remove());

class Killed extends Error {}

describe('nextVersion', () => {
  it('is max(last + 1, the time floor), separately per feed and scope', () => {
    const dir = tmp.dir;
    expect(nextVersion(dir, 'prices', 'all', 1000)).toBe(1000);
    expect(nextVersion(dir, 'prices', 'all', 1000)).toBe(1001);
    // The clock went back: still increasing.
    expect(nextVersion(dir, 'prices', 'all', 5)).toBe(1002);
    expect(nextVersion(dir, 'prices', 'store:s1', 5)).toBe(5);
    expect(nextVersion(dir, 'prices', 'all', 2000)).toBe(2000);
    expect(lastVersion(dir, 'prices', 'all')).toBe(2000);
    expect(lastVersion(dir, 'catalog', 'all')).toBeUndefined();
  });

  it('after a kill between write and rename, the old state stands and the next version is still new', () => {
    const dir = `${tmp.dir}/crash`;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    const handed = [nextVersion(dir, 'prices', 'all', 10), nextVersion(dir, 'prices', 'all', 10)];
    const before = readFileSync(versionsPath(dir), 'utf8');
    expect(() =>
      nextVersion(dir, 'prices', 'all', 10, {
        beforeRename: (temp) => {
          expect(existsSync(temp)).toBe(true);
          throw new Killed('killed before rename');
        },
      }),
    ).toThrow(Killed);
    // The kill left a temp file and the old state, whole.
    expect(readFileSync(versionsPath(dir), 'utf8')).toBe(before);
    expect(existsSync(`${versionsPath(dir)}.tmp`)).toBe(true);
    const next = nextVersion(dir, 'prices', 'all', 10);
    expect(next).toBeGreaterThan(Math.max(...handed));
    expect(existsSync(`${versionsPath(dir)}.tmp`)).toBe(false);
  });

  it('a lost state file falls back to the time floor; a corrupt one is refused, not reset', () => {
    const dir = `${tmp.dir}/lost`;
    mkdirSync(dir);
    const v1 = nextVersion(dir, 'catalog', 'all', Date.now());
    rmSync(versionsPath(dir));
    expect(nextVersion(dir, 'catalog', 'all', Date.now() + 1)).toBeGreaterThan(v1);
    writeFileSync(versionsPath(dir), '{"catalog all": 5');
    expect(() => nextVersion(dir, 'catalog', 'all', 1)).toThrow(/versions\.json: is not valid JSON/);
  });
});
