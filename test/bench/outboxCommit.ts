/**
 * Micro-benchmark of the outbox commit path alone (no broker): `appendGroup` with groups of 1, 100
 * and 800 events on a real SQLite file (synchronous FULL), one transaction at a time as group
 * commit runs them. Prints events/s and commit latency (p50/p99) per group size.
 * Run: npx esbuild test/bench/outboxCommit.ts --bundle --platform=node --format=esm \
 *   --packages=external --outfile=/tmp/outboxCommit.mjs && node /tmp/outboxCommit.mjs
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { OutboxStore, type NewEvent } from '../../gateway/outbox/store.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);

async function run(group: number): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sgw-commit-'));
  const store = new OutboxStore(path.join(dir, 'outbox.db'));
  await store.start();
  let seq = 0;
  const lat: number[] = [];
  const t0 = performance.now();
  while (performance.now() - t0 < SECONDS * 1000) {
    const events: NewEvent[] = [];
    for (let i = 0; i < group; i++) {
      seq++;
      events.push({ seq, cls: 'exact', kind: 'scanner', deviceId: 'scan-1', type: 'scan', ts: '2026-12-05T10:00:00.000Z', recvTs: Date.now(), monoMs: seq, data: `{"ts":"2026-12-05T10:00:00.000Z","code":"0400${seq}"}` });
    }
    // With BENCH_DEAD set, one group in ten also carries a dead letter (a second file commits too).
    const dead = process.env.BENCH_DEAD && lat.length % 10 === 0 ? [{ recvTs: Date.now(), kind: 'scanner', deviceId: 'scan-1', topic: 't', code: 'SGW_ERR_SCHEMA', reason: 'data.ts: must be string', payload: '{"ts":1}' }] : [];
    const c0 = performance.now();
    await store.appendGroup(events, dead, 'boot-1');
    lat.push(performance.now() - c0);
  }
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(2);
  process.stdout.write(`group ${String(group).padStart(3)}: ${Math.round(seq / secs).toString().padStart(7)} events/s, ${lat.length} commits, latency p50 ${q(0.5)} ms p99 ${q(0.99)} ms\n`);
  await store.stop();
  rmSync(dir, { recursive: true, force: true });
}

for (const g of [1, 100, 800]) await run(g);
