/**
 * Crash-safe file replacement: write a temp file beside the target, fsync it, rename it over the
 * target, fsync the folder. rename(2) is atomic within one file system (POSIX), so after a crash
 * the target holds either the old or the new content, never half of one; the folder fsync makes the
 * rename itself durable. A temp file a killed writer left behind is simply overwritten next time.
 */
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';

export interface AtomicWriteOptions {
  mode?: number;
  /** Runs after the temp file is durable and before the rename (tests use it to stop there, as a kill would). */
  beforeRename?: (tempPath: string) => void;
}

export function writeFileAtomic(target: string, text: string, options: AtomicWriteOptions = {}): void {
  const temp = `${target}.tmp`;
  const fd = openSync(temp, 'w', options.mode ?? 0o644);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  options.beforeRename?.(temp);
  renameSync(temp, target);
  const dir = openSync(path.dirname(target), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
