/**
 * The compactor's I/O shell around the pure `compact()` (compaction.ts): every `intervalMs`, and
 * on demand, it takes the closed windows of raw non-exact rows, compacts each window, and in ONE
 * transaction per window replaces the raw rows by their compact records. A crash leaves either
 * the raw rows (recompacted later into the same seqs) or the compact ones. Exact rows are never
 * read here.
 *
 * Windows follow the monotonic clock, not the wall clock: a window is (bootId, monoMs / windowMs),
 * closed once this boot's monotonic clock has left it, and every window of an earlier boot is
 * closed. So a wall-clock jump (back or forward) neither reopens a compacted window nor splits or
 * doubles one; footfall minutes inside a window are still bucketed by gateway wall time
 * (`recvTs`), so a minute can appear in two records (two windows, or a jump) and its sum stays
 * exact because every raw record is counted in exactly one of them.
 */
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { EventClass, OutboxRecord } from '../protocol/envelopes.js';
import { compact, type CompactionConfig } from './compaction.js';
import type { UplinkStore } from './store.js';

const NON_EXACT: readonly EventClass[] = ['aggregate', 'presence', 'latest', 'sampled'];
/** Rows read per query; a window larger than this is compacted in slices (still correct, less compact). */
const READ_LIMIT = 20_000;

export interface CompactorOptions {
  store: UplinkStore;
  config: Readonly<CompactionConfig> & { intervalMs: number };
  bootId: string;
  mono: () => number;
  metrics: Metrics;
  log: Logger;
  /** Called after a pass that produced sendable records (the uplink drains them). */
  onCompacted?: () => void;
}

export interface CompactionTotals {
  rawRecords: number;
  rawPayloadBytes: number;
  compactRecords: number;
  compactBytes: number;
  dropped: number;
}

export class Compactor {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;
  private stopped = false;
  private readonly log: Logger;
  readonly totals: CompactionTotals = { rawRecords: 0, rawPayloadBytes: 0, compactRecords: 0, compactBytes: 0, dropped: 0 };

  constructor(private readonly o: CompactorOptions) {
    this.log = o.log.child({ module: 'compactor' });
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.timer = setInterval(() => void this.runOnce().catch((err) => this.log.error({ err }, 'compaction pass failed')), this.o.config.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  /** One pass over every closed window; single-flight (a second call joins the running pass). */
  runOnce(): Promise<number> {
    this.running ??= this.pass().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async pass(): Promise<number> {
    const { windowMs } = this.o.config;
    const cutoff = Math.floor(this.o.mono() / windowMs) * windowMs;
    let produced = 0;
    for (const cls of NON_EXACT) {
      for (;;) {
        if (this.stopped) return produced;
        const rows = await this.o.store.rawClosed(cls, this.o.bootId, cutoff, READ_LIMIT);
        if (rows.length === 0) break;
        const windows = groupByWindow(rows, windowMs);
        // A full read may end inside a window: leave that one for the next read unless it is all we have.
        if (rows.length === READ_LIMIT && windows.length > 1) windows.pop();
        for (const w of windows) produced += await this.compactWindow(cls, w);
        if (rows.length < READ_LIMIT) break;
      }
    }
    if (produced > 0) this.o.onCompacted?.();
    return produced;
  }

  private async compactWindow(cls: EventClass, raw: OutboxRecord[]): Promise<number> {
    const res = compact(raw, this.o.config);
    await this.o.store.replaceWithCompact(
      cls,
      raw.map((r) => r.seq),
      res.records,
    );
    const s = res.stats[cls];
    this.totals.rawRecords += s.rawRecords;
    this.totals.rawPayloadBytes += s.rawPayloadBytes;
    this.totals.compactRecords += s.compactRecords;
    this.totals.compactBytes += s.compactBytes;
    this.totals.dropped += s.dropped;
    this.o.metrics.compacted.labels(cls, 'in').inc(s.rawRecords);
    this.o.metrics.compacted.labels(cls, 'out').inc(s.compactRecords);
    this.o.metrics.compacted.labels(cls, 'dropped').inc(s.dropped);
    this.o.metrics.uplinkRawBytes.labels(cls).inc(s.rawPayloadBytes);
    this.log.debug({ cls, seqFrom: raw[0].seq, seq: raw[raw.length - 1].seq, raw: raw.length, compact: res.records.length }, 'window compacted');
    return res.records.length;
  }
}

/** Splits seq-ordered rows into windows keyed by (bootId, monoMs / windowMs), in first-seen order. */
function groupByWindow(rows: OutboxRecord[], windowMs: number): OutboxRecord[][] {
  const out = new Map<string, OutboxRecord[]>();
  for (const r of rows) {
    const key = `${r.bootId}\u0000${Math.floor(r.monoMs / windowMs)}`;
    const w = out.get(key);
    if (w) w.push(r);
    else out.set(key, [r]);
  }
  return [...out.values()];
}
