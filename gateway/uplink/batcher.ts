/**
 * What goes into the next batch and what happens to it, for the HQ link (uplink.ts)
 * that owns the connection and hands in `publish`:
 * - order: every exact record first, in seq order, then aggregates, then presence, latest,
 *   sampled; every fifth batch takes the oldest waiting records instead, so no class starves
 *   (drainShare.ts); a batch is built from one class, bounded by count and compressed size;
 * - a batch leaves the outbox only after HQ's PUBACK: its seqs are deleted in one transaction;
 * - a batch HQ refuses (PUBACK ≥ 0x80) is halved and each half retried; a single refused record
 *   throws `Refused` (the link retries it after a backoff, order kept), and after
 *   `REFUSALS_BEFORE_HOLD` refusals in a row, or at once when it is too large for any batch, it is
 *   held: skipped until the next connection, reported once (an exact UPLINK_UNSENDABLE record, a
 *   log line, a metric), and kept in the outbox — never dropped.
 * - with `delivery` (hq.delivery: ingest-ack) a PUBACK does not delete: the batch is recorded as
 *   awaiting HQ's ingest acknowledgement (deliveryStore.ts), at most `maxUnacked` at once; one
 *   unacknowledged for `ackTimeoutMs` is sent again first, byte for byte (HQ dedupes by seq).
 */
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { buildBatches, compressAsync, type BatchRecord, type Compression, type EncodedBatch, type EventClass } from '../protocol/envelopes.js';
import type { UplinkStore } from './store.js';
import { SELF_DEVICE_ID, type SelfRecords } from './selfRecords.js';
import { oldestClass, shareDue, type ClassHead } from './drainShare.js';
import type { DeliveryStore, InflightBatch } from './deliveryStore.js';
import { batchDigest } from '../protocol/schemas/ingestAck.js';

/** ingest-ack delivery: where in-flight batches are kept, the window, the re-send timeout. */
export interface AckDelivery {
  store: DeliveryStore;
  maxUnacked: number;
  ackTimeoutMs: number;
  /** Sent this many times without an ack: HQ_BATCH_UNACKED, once per batch. */
  stuckAttempts: number;
}

/** Exact first, then aggregates, then the rest. */
export const SEND_ORDER: readonly EventClass[] = ['exact', 'aggregate', 'presence', 'latest', 'sampled'];
const REFUSALS_BEFORE_HOLD = 5;

/** HQ answered a PUBACK reason code ≥ 0x80 [MQTT-3.4.2.1]. */
export class Refused extends Error {
  constructor(
    readonly reasonCode: number,
    message: string,
  ) {
    super(message);
  }
}
/**
 * The alert for a batch HQ keeps not acknowledging, raised once: at exactly `stuckAttempts` sends
 * (the count is kept in outbox.db, so a restart does not raise it again). HQ's ingest refuses a
 * batch it cannot take (and files it as rejected) without acking; such a batch is sent forever,
 * and `maxUnacked` of them stop delivery altogether — people must look at HQ's side.
 */
export function stuckBatchAlert(b: Pick<InflightBatch, 'batchId' | 'seqFrom' | 'seqTo' | 'records'>, attempts: number, d: Pick<AckDelivery, 'stuckAttempts' | 'maxUnacked'>): { message: string; facts: Record<string, unknown> } | null {
  if (attempts !== d.stuckAttempts) return null;
  return {
    message: `batch ${b.batchId} (records ${b.seqFrom}–${b.seqTo}, ${b.records}) sent ${attempts} times without HQ's acknowledgement: HQ's ingest may be refusing it (see its rejected batches); ${d.maxUnacked} such batches stop delivery to HQ`,
    facts: { unacked: { batchId: b.batchId, seqFrom: b.seqFrom, seqTo: b.seqTo, records: b.records, attempts } },
  };
}

/** The connection went away before the PUBACK: the batch stays in the outbox and is re-sent. */
export class Dropped extends Error {}

export interface BatcherOptions {
  store: UplinkStore;
  selfRecords: SelfRecords;
  metrics: Metrics;
  log: Logger;
  now: () => number;
  storeId: string;
  compression: Compression;
  maxRecords: number;
  /** Most compressed bytes of a batch right now (config, HQ's announced limit, learned drops). */
  maxBytes: () => number;
  /** QoS 1 publish of one batch payload; resolves on PUBACK, rejects Refused or Dropped. */
  publish: (payload: Buffer, firstSeq: number) => Promise<void>;
  onSent?: (seqs: number[]) => void;
  /** Set for hq.delivery ingest-ack; absent, a PUBACK deletes the batch's rows. */
  delivery?: AckDelivery;
}

export interface BatcherStats {
  batchesSent: number;
  recordsSent: number;
  bytesSent: number;
  lineBytesSent: number;
}

export class Batcher {
  private readonly held = new Set<number>();
  private readonly reported = new Set<number>();
  private readonly refusals = new Map<number, number>();
  /** Batches sent by class order since the last share for the oldest records. */
  private sinceShare = 0;
  readonly stats: BatcherStats = { batchesSent: 0, recordsSent: 0, bytesSent: 0, lineBytesSent: 0 };

  constructor(private readonly o: BatcherOptions) {}

  /** Seqs held back on this connection. */
  get heldSeqs(): number[] {
    return [...this.held].sort((a, b) => a - b);
  }

  /** A new connection: HQ's policy may have changed, held records get another chance. */
  resetHeld(): void {
    this.held.clear();
  }

  /**
   * Sends the next batch of the first class with sendable records; false when there is none.
   * Every fifth batch goes to the oldest waiting records instead (drainShare.ts): no class starves.
   */
  async sendNext(): Promise<boolean> {
    const limit = this.o.maxRecords;
    const d = this.o.delivery;
    if (d) {
      const [due] = await d.store.due(this.o.now() - d.ackTimeoutMs, 1);
      if (due) {
        await this.resend(d.store, due);
        return true;
      }
      if ((await d.store.inflight()).batches >= d.maxUnacked) return false;
    }
    const byClass = new Map<EventClass, BatchRecord[]>();
    const sendable = async (cls: EventClass) => {
      if (!byClass.has(cls)) byClass.set(cls, (await this.o.store.sendable(cls, limit + this.held.size, !d)).filter((r) => !this.held.has(r.seq)).slice(0, limit));
      return byClass.get(cls)!;
    };
    if (shareDue(this.sinceShare)) {
      const heads: ClassHead[] = [];
      for (const cls of SEND_ORDER) {
        const first = (await sendable(cls))[0];
        if (first) heads.push({ cls, oldestSeq: first.seqFrom ?? first.seq });
      }
      const cls = oldestClass(heads);
      if (cls === null) return false;
      await this.sendRecords(byClass.get(cls)!);
      this.sinceShare = 0;
      return true;
    }
    for (const cls of SEND_ORDER) {
      const rows = await sendable(cls);
      if (rows.length === 0) continue;
      await this.sendRecords(rows);
      // Counted once sent: a batch that went nowhere (HQ down) does not bring the share closer.
      this.sinceShare++;
      return true;
    }
    return false;
  }

  private batchLimit(): number {
    return Math.max(1024, this.o.maxBytes());
  }

  private async sendRecords(records: BatchRecord[]): Promise<void> {
    const built = await buildBatches(records, {
      storeId: this.o.storeId,
      createdAt: new Date(this.o.now()).toISOString(),
      compression: this.o.compression,
      maxRecords: this.o.maxRecords,
      maxBytes: this.batchLimit(),
    });
    for (const r of built.oversize) await this.hold(r, `larger than any batch HQ accepts (${this.batchLimit()} bytes)`);
    const oversize = new Set(built.oversize.map((r) => r.seq));
    // Batches in seq order; an oversize record is skipped, the ones after it still go in order.
    let i = 0;
    for (const b of built.batches) {
      const recs = records.filter((r) => !oversize.has(r.seq)).slice(i, i + b.header.records);
      i += b.header.records;
      await this.sendBatch(b, recs);
    }
  }

  private async sendBatch(b: EncodedBatch, recs: BatchRecord[]): Promise<void> {
    try {
      await this.o.publish(b.payload, recs[0].seq);
    } catch (err) {
      if (!(err instanceof Refused)) throw err;
      this.o.metrics.uplinkRefused.labels(`0x${err.reasonCode.toString(16)}`).inc();
      if (recs.length > 1) {
        this.o.log.warn({ seq: b.header.seqTo, seqFrom: b.header.seqFrom, records: recs.length, reasonCode: err.reasonCode }, 'HQ refused a batch; splitting it');
        const mid = Math.ceil(recs.length / 2);
        await this.sendRecords(recs.slice(0, mid));
        await this.sendRecords(recs.slice(mid));
        return;
      }
      const r = recs[0];
      const n = (this.refusals.get(r.seq) ?? 0) + 1;
      this.refusals.set(r.seq, n);
      if (n >= REFUSALS_BEFORE_HOLD) {
        await this.hold(r, `HQ refused it ${n} times (${err.message})`);
        return;
      }
      throw err;
    }
    for (const r of recs) this.refusals.delete(r.seq);
    const seqs = recs.map((r) => r.seq);
    if (this.o.delivery) await this.o.delivery.store.register(b.header, JSON.stringify(b.header), b.digest, seqs, this.o.now(), 'uplink');
    else await this.o.store.deleteSeqs(seqs);
    const m = this.o.metrics;
    m.uplinkBatches.inc();
    m.uplinkSentBytes.inc(b.payload.length);
    m.uplinkLineBytes.inc(b.rawBytes);
    for (const r of recs) {
      m.uplinkRecords.labels(r.class).inc();
      if (r.class === 'exact') m.uplinkRawBytes.labels('exact').inc(Buffer.byteLength(JSON.stringify(r.data)));
    }
    this.stats.batchesSent++;
    this.stats.recordsSent += recs.length;
    this.stats.bytesSent += b.payload.length;
    this.stats.lineBytesSent += b.rawBytes;
    this.o.onSent?.(seqs);
  }

  /** An unacknowledged batch, again, exactly as it was sent; released when its rows changed (quota). */
  private async resend(store: DeliveryStore, b: InflightBatch): Promise<void> {
    const recs = await store.records(b.batchId);
    let text = b.header + '\n';
    for (const r of recs) text += JSON.stringify(r) + '\n';
    if (recs.length !== b.records || batchDigest(text) !== b.digest) {
      this.o.log.warn({ batchId: b.batchId, records: b.records, left: recs.length }, 'an unacknowledged batch lost rows (disk quota); its rest is sent as new batches');
      await store.release(b.batchId);
      return;
    }
    const payload = await compressAsync(Buffer.from(text, 'utf8'), { compression: this.o.compression });
    await this.o.publish(payload, recs[0].seq);
    await store.resent(b.batchId, this.o.now());
    this.o.metrics.hqResent.inc();
    this.o.log.info({ batchId: b.batchId, attempts: b.attempts + 1, via: b.via }, 'batch not acknowledged by HQ in time; sent again');
    const stuck = stuckBatchAlert(b, b.attempts + 1, this.o.delivery!);
    if (stuck) {
      this.o.log.error({ batchId: b.batchId, attempts: b.attempts + 1, seqFrom: b.seqFrom, seqTo: b.seqTo }, 'batch never acknowledged by HQ: HQ may be refusing it');
      await this.o.selfRecords.record('HQ_BATCH_UNACKED', 'critical', stuck.message, stuck.facts);
    }
  }

  /** Holds a record back for this connection and reports it once; it stays in the outbox. */
  private async hold(r: BatchRecord, why: string): Promise<void> {
    this.held.add(r.seq);
    if (this.reported.has(r.seq)) return;
    this.reported.add(r.seq);
    this.o.metrics.uplinkUnsendable.inc();
    this.o.log.error({ seq: r.seq, deviceId: r.deviceId, cls: r.class, why }, 'a record cannot be sent to HQ; kept in the outbox');
    // A report about a report would loop when HQ refuses everything: those are logged and counted only.
    if (r.deviceId === SELF_DEVICE_ID && (r.data as { code?: unknown }).code === 'UPLINK_UNSENDABLE') return;
    await this.o.selfRecords.record('UPLINK_UNSENDABLE', 'critical', `record ${r.seq} cannot be sent to HQ: ${why}`, { unsendable: { seq: r.seq, class: r.class, kind: r.kind, deviceId: r.deviceId, type: r.type, why } });
  }
}
