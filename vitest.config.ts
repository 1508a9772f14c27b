import { defineConfig } from 'vitest/config';
import { SlowFirstSequencer } from './test/helpers/slowFirst.js';

// Integration tests start real brokers, SQLite files and child processes: keep
// file-level parallelism modest on a 2-core machine and give hooks room.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    // The long files first, so they overlap the short ones instead of running alone at the end.
    sequence: { sequencer: SlowFirstSequencer },
  },
});
