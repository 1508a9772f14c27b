/**
 * `storegw outbox export --batches`: the outbox as the batches the uplink would send, for an HQ
 * that cannot be reached over the WAN (protocol/README.md §Outbox export). Each batch is written
 * as its exact uncompressed text (header line, then one line per record), so HQ imports it like a
 * received batch and acknowledges it with the same signed ingest ack (same batch id, range, count
 * and digest).
 *
 * Why batches and not rows: a raw non-exact row is not what HQ gets; the compactor replaces it by a
 * compact record that keeps the highest raw seq it covers. A raw row exported before compaction
 * would share its seq with a later compact record of other content. So the export first compacts
 * every raw row (as the uplink's compactor does, every window closed), then writes only what the
 * uplink sends: exact rows and compact records, in the uplink's order, batched by its limits.
 *
 * With `hq.delivery: ingest-ack`, every batch written is registered as awaiting HQ's ack
 * (deliveryStore.ts, via `export`): when
 * HQ's acks for the imported file reach the gateway, those rows are deleted and never sent; when no
 * ack comes, the gateway sends the batches itself after `hq.ackTimeoutMs` (HQ dedupes by seq).
 * Batches still awaiting an ack from an earlier export or send are written again, byte for byte,
 * so each export file holds everything HQ has not acknowledged.
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { Metrics } from '../metrics.js';
import { buildBatches, type BatchRecord } from '../protocol/envelopes.js';
import { batchDigest } from '../protocol/schemas/ingestAck.js';
import type { OutboxStore } from '../outbox/store.js';
import { resolveCompactionConfig } from './compaction.js';
import { Compactor } from './compactor.js';
import { SEND_ORDER } from './batcher.js';
import { DeliveryStore } from './deliveryStore.js';
import { UplinkStore } from './store.js';

export interface ExportSummary {
  batches: number;
  records: number;
  /** Of them, batches already awaiting an ack, written again. */
  again: number;
  /** Records too large for any batch under `uplink.batchMaxBytes`: left in the outbox. */
  oversize: number;
}

/** Writes every batch HQ has not acknowledged to `write`; the outbox must be open for writing. */
export async function exportBatches(o: { config: Readonly<Config>; outbox: OutboxStore; file: string; write: (text: string) => void; now: () => number; log: Logger }): Promise<ExportSummary> {
  const c = o.config;
  const store = new UplinkStore(o.file, o.outbox.counts, o.outbox.writer);
  await store.start();
  const delivery = new DeliveryStore(() => store.connection, o.outbox.counts);
  const sum: ExportSummary = { batches: 0, records: 0, again: 0, oversize: 0 };
  const awaitAck = c.hq?.delivery === 'ingest-ack';
  try {
    // A boot id of its own: every raw row is from "another boot", so every window counts as closed.
    const { intervalMs, ...rules } = c.compaction;
    const compactor = new Compactor({ store, config: { ...resolveCompactionConfig(rules), intervalMs }, bootId: `export-${randomUUID()}`, mono: () => 0, metrics: new Metrics({ defaultMetrics: false }), log: o.log });
    await compactor.runOnce();

    for (const b of awaitAck ? await delivery.due(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER) : []) {
      const recs = await delivery.records(b.batchId);
      const text = b.header + '\n' + recs.map((r) => JSON.stringify(r) + '\n').join('');
      if (recs.length !== b.records || batchDigest(text) !== b.digest) {
        await delivery.release(b.batchId); // the quota took rows: the rest goes out in new batches below
        continue;
      }
      o.write(text);
      sum.batches++;
      sum.again++;
      sum.records += recs.length;
    }

    const limit = c.uplink.batchMaxRecords;
    for (const cls of SEND_ORDER) {
      // A cursor per class: rows written but not registered (no ack awaited) are not read twice.
      for (let after = -1; ; ) {
        const rows = await store.sendable(cls, limit, !awaitAck, after);
        if (rows.length === 0) break;
        after = rows[rows.length - 1].seq;
        const built = await buildBatches(rows, { storeId: c.storeId, createdAt: new Date(o.now()).toISOString(), compression: c.hq?.compression ?? 'gzip', maxRecords: limit, maxBytes: c.uplink.batchMaxBytes });
        const oversize = new Set(built.oversize.map((r) => r.seq));
        sum.oversize += oversize.size;
        const kept: BatchRecord[] = rows.filter((r) => !oversize.has(r.seq));
        let i = 0;
        for (const b of built.batches) {
          const recs = kept.slice(i, i + b.header.records);
          i += b.header.records;
          const headerLine = JSON.stringify(b.header);
          o.write(headerLine + '\n' + recs.map((r) => JSON.stringify(r) + '\n').join(''));
          // Only ingest-ack waits for HQ's ack; otherwise the uplink sends these rows too (HQ dedupes).
          if (awaitAck) await delivery.register(b.header, headerLine, b.digest, recs.map((r) => r.seq), o.now(), 'export');
          sum.batches++;
          sum.records += recs.length;
        }
      }
    }
    return sum;
  } finally {
    await store.stop();
  }
}
