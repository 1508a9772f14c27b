/**
 * HQ simulator: an MQTT client on the HQ Mosquitto that subscribes to every store's
 * batches (QoS 1) and retained status, decodes batches with the real envelope decoder, keeps the
 * first record per (storeId, seq) as the batch contract says HQ does, counts duplicates, and answers the
 * questions tests, the demo and the bench ask. `waitFor` resolves on the change that makes its
 * predicate true (every batch, status and error is a change), never by polling.
 *
 * How tests make HQ refuse a batch — two ways, both real broker behaviour:
 * 1. Size: `startMosquitto({ maxPacketSize })`. Mosquitto drops a publish over the limit and
 *    disconnects the publisher (MQTT 5: DISCONNECT 0x95 "Packet too large"; 3.1.1: just closes).
 * 2. Policy, per store and at any moment: start the broker with `hqBrokerSecurity(dir)` (Mosquitto's
 *    dynamic-security plugin; anonymous clients may do anything by default), give the sim its
 *    `admin` credentials, then `await sim.refuse(storeId)` / `await sim.accept(storeId)`. While
 *    refused, a QoS 1 publish to that store's batch topic gets PUBACK 0x87 "Not authorized" — under
 *    MQTT 5 only: a 3.1.1 publisher is acked as if delivered and the batch is silently dropped, so
 *    the uplink must speak MQTT 5 to ever see a refusal (the integration test pins this down).
 *    Mosquitto 2.0 also disconnects ("administrative action") every anonymous client when refuse or
 *    accept changes their ACL, so the publisher must reconnect (mqtt.js re-sends its unacked QoS 1
 *    publishes then, which is when the 0x87 arrives). The sim logs in as the admin and is not kicked.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { decodeBatch, type BatchDecodeErrorCode, type BatchRecord, type EventClass } from '../../gateway/protocol/envelopes.js';
import { EVENT_CLASSES } from '../../gateway/protocol/schemas/index.js';
import { HQ_ROOT, topics } from '../../gateway/protocol/topics.js';
import type { HqSigner } from './hqSigner.js';
import { batchesOfExport, payloadDigest, signAck } from './hqAcker.js';
import { BrokerPolicy, connectPolicyAdmin } from './hqBrokerPolicy.js';
import { exactGapsOf, exactOutOfOrderOf, footfallOf } from './hqRecordChecks.js';

export { DYNSEC_PLUGIN, hqBrokerSecurity } from './hqBrokerPolicy.js';

export interface HqSimOptions {
  /** HQ broker URL, e.g. `mqtt://127.0.0.1:1884`. */
  url: string;
  clientId?: string;
  /** The dynamic-security admin from `hqBrokerSecurity` (needed for refuse/accept only). */
  admin?: { username: string; password: string };
  /** Passed to the batch decoder. */
  maxUncompressedBytes?: number;
  /** Act as an acknowledging ingest: sign an ingest ack for every batch stored (`acking` toggles it). */
  acker?: HqSigner;
  /**
   * Ack versions start above this (default 0). A real ingest's versions come from its database and
   * only ever grow; a gateway refuses a version it accepted before as a replay, so an HQ that
   * restarts against a gateway keeping its data must start above what it handed out before.
   */
  ackVersionFrom?: number;
}

export interface HqBatchInfo {
  storeId: string;
  batchId: string;
  seqFrom: number;
  seqTo: number;
  records: number;
  /** Records of this batch that HQ already had (dropped by the dedupe). */
  duplicates: number;
  bytes: number;
  rawBytes: number;
  /** batchDigest of the uncompressed batch text (what an ingest ack names); empty without an acker. */
  digest: string;
}

export interface HqDecodeError {
  storeId: string;
  code: BatchDecodeErrorCode;
  reason: string;
}

interface StoreState {
  records: Map<number, BatchRecord>;
  /** Exact seqs in the order HQ first saw them. */
  exactArrival: number[];
  duplicates: number;
  /** Duplicates whose content differs from the first copy (recompaction was not deterministic). */
  conflicts: number;
  batches: number;
  bytes: number;
  rawBytes: number;
  batchIds: Map<string, number>;
}

export class HqSim {
  private client: MqttClient | null = null;
  private admin: MqttClient | null = null;
  private readonly stores = new Map<string, StoreState>();
  private readonly statuses = new Map<string, unknown>();
  private readonly changes = new EventEmitter();
  /** Refuses or accepts a store's batches at the broker (hqBrokerPolicy.ts). */
  private readonly policy = new BrokerPolicy(() => this.admin);
  /** With `acker`: whether batches are acknowledged now (tests turn it off to play a forgetful HQ). */
  acking = true;
  /** The last ingest ack version per store. */
  private readonly ackVersions = new Map<string, number>();
  /** Every ack published: store, batch id, envelope text. */
  readonly acksSent: { storeId: string; batchId: string; envelope: string }[] = [];
  /** Every batch HQ received, decoded or not, in arrival order. */
  readonly batchLog: HqBatchInfo[] = [];
  readonly decodeErrors: HqDecodeError[] = [];

  constructor(private readonly opts: HqSimOptions) {
    this.changes.setMaxListeners(0);
  }

  async start(): Promise<void> {
    const client = await mqtt.connectAsync(this.opts.url, {
      clientId: this.opts.clientId ?? `hq-sim-${randomBytes(4).toString('hex')}`,
      protocolVersion: 5,
      clean: true,
      reconnectPeriod: 200,
      // As the admin, refuse/accept (which change the anonymous role) do not kick the sim itself.
      ...(this.opts.admin ?? {}),
    });
    this.client = client;
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    await client.subscribeAsync(
      { [`${HQ_ROOT}/store/+/batch`]: { qos: 1 }, [`${HQ_ROOT}/store/+/status`]: { qos: 1 } },
    );
    if (this.opts.admin) this.admin = await connectPolicyAdmin(this.opts.url, this.opts.admin);
  }

  async stop(): Promise<void> {
    for (const c of [this.admin, this.client]) {
      if (!c) continue;
      try {
        await c.endAsync(true);
      } catch {
        // a broker already gone is no reason not to stop the rest
      }
    }
    this.admin = null;
    this.client = null;
  }

  // ----- questions ------------------------------------------------------------------------------

  /** Store ids HQ has heard from (batches or status). */
  storeIds(): string[] {
    return [...new Set([...this.stores.keys(), ...this.statuses.keys()])].sort();
  }

  /** The deduped records of a store, in seq order. */
  records(storeId: string, cls?: EventClass): BatchRecord[] {
    const s = this.stores.get(storeId);
    if (!s) return [];
    const out = [...s.records.values()].filter((r) => cls === undefined || r.class === cls);
    return out.sort((a, b) => a.seq - b.seq);
  }

  recordCount(storeId: string): number {
    return this.stores.get(storeId)?.records.size ?? 0;
  }

  /** Deduped records per class. */
  countsByClass(storeId: string): Record<EventClass, number> {
    const counts = Object.fromEntries(EVENT_CLASSES.map((c) => [c, 0])) as Record<EventClass, number>;
    for (const r of this.stores.get(storeId)?.records.values() ?? []) counts[r.class]++;
    return counts;
  }

  /** Footfall in/out sums over deduped records: compacted `count {in,out}` and any raw `cross`. */
  footfall(storeId: string, deviceId?: string): { in: number; out: number } {
    return footfallOf(this.stores.get(storeId)?.records.values() ?? [], deviceId);
  }

  /** Highest seq HQ holds for a store (0 when none). */
  lastSeq(storeId: string): number {
    let max = 0;
    for (const seq of this.stores.get(storeId)?.records.keys() ?? []) max = Math.max(max, seq);
    return max;
  }

  /** Which of these seqs HQ does not hold: the exact check when the test knows what was acked. */
  missing(storeId: string, seqs: Iterable<number>): number[] {
    const have = this.stores.get(storeId)?.records;
    const out: number[] = [];
    for (const s of seqs) if (!have?.has(s)) out.push(s);
    return out;
  }

  /**
   * Holes between consecutive exact records that no received record covers (by its
   * [seqFrom, seq] range). A lost exact record shows here unless its seq lies inside a compacted
   * record's range, and a seq dropped by a compaction rule (e.g. an unstable weight) shows too:
   * use `missing()` when the test has the list of acknowledged seqs.
   */
  exactGaps(storeId: string): Array<{ from: number; to: number }> {
    return exactGapsOf(this.records(storeId));
  }

  /** Exact records HQ first saw after a higher exact seq (0 when they arrived in order). */
  exactOutOfOrder(storeId: string): number {
    return exactOutOfOrderOf(this.stores.get(storeId)?.exactArrival ?? []);
  }

  /** Totals per store (or all stores): batches, payload bytes, decompressed bytes, records, duplicates. */
  totals(storeId?: string): { batches: number; bytes: number; rawBytes: number; records: number; duplicates: number; conflicts: number; duplicateBatches: number } {
    const t = { batches: 0, bytes: 0, rawBytes: 0, records: 0, duplicates: 0, conflicts: 0, duplicateBatches: 0 };
    for (const [id, s] of this.stores) {
      if (storeId !== undefined && id !== storeId) continue;
      t.batches += s.batches;
      t.bytes += s.bytes;
      t.rawBytes += s.rawBytes;
      t.records += s.records.size;
      t.duplicates += s.duplicates;
      t.conflicts += s.conflicts;
      for (const n of s.batchIds.values()) t.duplicateBatches += n - 1;
    }
    return t;
  }

  /** The store's retained status as last seen (parsed JSON, else text); undefined when none or cleared. */
  status(storeId: string): unknown {
    return this.statuses.get(storeId);
  }

  /**
   * Resolves as soon as `predicate(this)` holds: checked now and after every change HQ sees.
   * Rejects after timeoutMs, naming what it waited for.
   */
  waitFor(predicate: (hq: HqSim) => boolean, timeoutMs = 10_000, what = 'HQ condition'): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        let ok = false;
        try {
          ok = predicate(this);
        } catch (err) {
          done();
          reject(err);
          return true;
        }
        if (ok) {
          done();
          resolve();
        }
        return ok;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${what}: not met within ${timeoutMs} ms (HQ holds ${JSON.stringify(this.totals())})`));
      }, timeoutMs);
      const onChange = (): void => void check();
      const done = (): void => {
        clearTimeout(timer);
        this.changes.off('change', onChange);
      };
      this.changes.on('change', onChange);
      check();
    });
  }

  // ----- refusing (dynamic-security plugin) ------------------------------------------------------

  /** From now on the broker answers a store's batch publishes with PUBACK 0x87 (MQTT 5). */
  refuse(storeId: string): Promise<void> {
    return this.policy.refuse(storeId);
  }

  /** Lifts `refuse`. */
  accept(storeId: string): Promise<void> {
    return this.policy.accept(storeId);
  }

  // ----- intake ----------------------------------------------------------------------------------

  private store(storeId: string): StoreState {
    let s = this.stores.get(storeId);
    if (!s) {
      s = { records: new Map(), exactArrival: [], duplicates: 0, conflicts: 0, batches: 0, bytes: 0, rawBytes: 0, batchIds: new Map() };
      this.stores.set(storeId, s);
    }
    return s;
  }

  private onMessage(topic: string, payload: Buffer): void {
    const parts = topic.split('/');
    // hq/v1/store/{storeId}/{batch|status}
    if (parts.length !== 5 || `${parts[0]}/${parts[1]}` !== HQ_ROOT || parts[2] !== 'store') return;
    const storeId = parts[3];
    if (parts[4] === 'status') this.onStatus(storeId, payload);
    else if (parts[4] === 'batch') this.onBatch(storeId, payload);
    this.changes.emit('change');
  }

  private onStatus(storeId: string, payload: Buffer): void {
    if (payload.length === 0) {
      this.statuses.delete(storeId); // an empty retained message clears it [MQTT-3.3.1-10]
      return;
    }
    const text = payload.toString('utf8');
    try {
      this.statuses.set(storeId, JSON.parse(text));
    } catch {
      this.statuses.set(storeId, text);
    }
  }

  private onBatch(topicStoreId: string, payload: Buffer): void {
    const d = decodeBatch(payload, { maxUncompressedBytes: this.opts.maxUncompressedBytes });
    if (!d.ok) {
      this.decodeErrors.push({ storeId: topicStoreId, code: d.code, reason: d.reason });
      return;
    }
    // The topic says which store sent it; a header that disagrees is a decode error, not a record.
    if (d.header.storeId !== topicStoreId) {
      this.decodeErrors.push({ storeId: topicStoreId, code: 'SGW_ERR_BATCH_HEADER', reason: `header.storeId: "${d.header.storeId}" on the topic of "${topicStoreId}"` });
      return;
    }
    const s = this.store(topicStoreId);
    s.batches++;
    s.bytes += payload.length;
    s.rawBytes += d.rawBytes;
    s.batchIds.set(d.header.batchId, (s.batchIds.get(d.header.batchId) ?? 0) + 1);
    let duplicates = 0;
    for (const r of d.records) {
      const first = s.records.get(r.seq);
      if (first) {
        duplicates++;
        if (JSON.stringify(first) !== JSON.stringify(r)) s.conflicts++;
        continue;
      }
      s.records.set(r.seq, r);
      if (r.class === 'exact') s.exactArrival.push(r.seq);
    }
    s.duplicates += duplicates;
    const digest = this.opts.acker ? payloadDigest(payload) : '';
    if (this.opts.acker && this.acking) this.publishAck(topicStoreId, d.header, digest, duplicates);
    this.batchLog.push({
      storeId: topicStoreId,
      batchId: d.header.batchId,
      seqFrom: d.header.seqFrom,
      seqTo: d.header.seqTo,
      records: d.records.length,
      duplicates,
      bytes: payload.length,
      rawBytes: d.rawBytes,
      digest,
    });
  }

  /** Publishes a signed ingest ack for a stored batch (QoS 1, not retained), as a real ingest does after its commit. */
  publishAck(storeId: string, header: { batchId: string; seqFrom: number; seqTo: number; records: number }, digest: string, duplicates = 0): string {
    if (!this.opts.acker) throw new Error('HqSim: no acker configured');
    const version = (this.ackVersions.get(storeId) ?? this.opts.ackVersionFrom ?? 0) + 1;
    this.ackVersions.set(storeId, version);
    const envelope = signAck(this.opts.acker, storeId, version, header, digest, { stored: header.records - duplicates, duplicates, conflicts: 0 });
    this.acksSent.push({ storeId, batchId: header.batchId, envelope });
    this.client?.publish(topics.hqAck(storeId), envelope, { qos: 1 });
    return envelope;
  }

  /** Publishes any payload on a store's ack topic (forged, replayed, mismatching acks), resolving on PUBACK. */
  async publishRawAck(storeId: string, payload: string): Promise<void> {
    await this.client!.publishAsync(topics.hqAck(storeId), payload, { qos: 1 });
  }

  /**
   * HQ's import of an `outbox export --batches` file: every batch stored as if received (the same
   * dedupe) and, with an acker, acknowledged (unless `ack` is false: acks lost on the way).
   * Returns the batch ids it held.
   */
  importExport(storeId: string, text: string, ack = true): string[] {
    const batches = batchesOfExport(text);
    const s = this.store(storeId);
    for (const b of batches) {
      let duplicates = 0;
      for (const r of b.records) {
        if (s.records.has(r.seq)) duplicates++;
        else {
          s.records.set(r.seq, r);
          if (r.class === 'exact') s.exactArrival.push(r.seq);
        }
      }
      s.duplicates += duplicates;
      if (this.opts.acker && ack) this.publishAck(storeId, b.header, b.digest, duplicates);
    }
    this.changes.emit('change');
    return batches.map((b) => b.header.batchId);
  }
}

