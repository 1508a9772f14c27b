/** Builds the pages with the real build.mjs when a source under kiosk/ is newer than the ops bundle. */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

function newest(dir: string): number {
  return Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(path.join(dir, e.name)) : statSync(path.join(dir, e.name)).mtimeMs)));
}

export function ensureBuilt(): void {
  let built = 0;
  try {
    built = statSync(path.resolve('dist/kiosk/ops/app.js')).mtimeMs;
  } catch {
    built = 0;
  }
  if (built > newest(path.resolve('kiosk'))) return;
  const r = spawnSync(process.execPath, ['build.mjs'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`build failed: ${r.stderr}`);
}
