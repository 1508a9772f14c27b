/**
 * Light stores: N simulated stores in one process, each speaking the store side of the delivery
 * contract without a gateway (gateway/protocol/README.md §Batch envelope, §Ingest acknowledgement):
 * - its own MQTT connection (client id `{storeId}`), publishing gzip batch envelopes QoS 1 on
 *   `hq/v1/store/{storeId}/batch` with strictly increasing seqs, batch ids `{storeId}:{from}-{to}`;
 * - listening on `hq/v1/store/{storeId}/ack` and accepting an ack only when it verifies (Ed25519 over
 *   `signed`, scope `store:{storeId}`, the ingestAck body schema) and names a batch in flight
 *   exactly: id, seq range, record count and the SHA-256 of the uncompressed text;
 * - re-sending every batch no accepted ack named within `resendMs` (HQ dedupes by (store, seq)).
 *
 * One connection per store, as the real fleet has: Mosquitto, EMQX and HiveMQ all take thousands
 * of connections from one host (the limit is the file descriptors: 1,000 stores need ~1,000).
 * The pacing and re-send checks run on one timer for all stores, not one timer per store.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { createFeedVerifier, type FeedVerifier } from '../../gateway/protocol/feedVerify.js';
import { batchText, encodeBatch, makeHeader, type BatchRecord } from '../../gateway/protocol/envelopes.js';
import { batchDigest, INGEST_ACK_FEED, IngestAckBody, type IngestAckBodyT } from '../../gateway/protocol/schemas/ingestAck.js';
import { topics } from '../../gateway/protocol/topics.js';

export interface LightStoresOptions {
  url: string;
  stores: number;
  /** Store ids are `{prefix}{index}` with the index zero-padded to 4 digits. */
  prefix?: string;
  /** HQ's ack keys: kid → Ed25519 public key PEM. */
  publicKeys: Readonly<Record<string, string>>;
  recordsPerBatch: number;
  /** Batches each store sends in all (the stream is finite so "all acked" has a meaning). */
  batchesPerStore: number;
  /** Batches per second each store offers; 0 = as fast as its window allows (closed loop). */
  batchesPerSecond?: number;
  /** Most un-acked batches per store (a gateway's hq.maxUnackedBatches). Default 4. */
  window?: number;
  /** A batch not acked within this is sent again. Default 3,000 ms. */
  resendMs?: number;
  /** Connections opened at a time at start. Default 100. */
  connectConcurrency?: number;
  now?: () => number;
}

interface InFlight {
  batchId: string;
  seqFrom: number;
  seqTo: number;
  records: number;
  digest: string;
  payload: Buffer;
  firstSentAt: number;
  lastSentAt: number;
}

interface Store {
  id: string;
  client: MqttClient;
  verify: FeedVerifier;
  /** Next batch index to build (0-based). */
  next: number;
  /** When the next paced batch is due. */
  dueAt: number;
  inFlight: Map<string, InFlight>;
  acked: number;
  versions: Set<number>;
}

export interface LightStoresStats {
  batchesSent: number;
  resends: number;
  acksAccepted: number;
  /** Acks for a batch no longer in flight (a second ack after a re-send): harmless, counted. */
  acksLate: number;
  /** Acks that did not verify or named a batch inexactly: must stay 0 against a correct HQ. */
  refused: string[];
  recordsAcked: number;
}

/** Time from a batch's first publish to its verified ack, in ms (re-sends included). */
export type LatencySink = (ms: number) => void;

/** The record a light store sends as `seq`: an exact-class scanner event, content fixed by (store, seq). */
export function lightRecord(storeId: string, seq: number, ts: number): BatchRecord {
  return {
    seq,
    class: 'exact',
    kind: 'scanner',
    deviceId: 'scan-1',
    type: 'scan',
    ts: new Date(ts).toISOString(),
    data: { code: `40063813339${seq % 10}`, store: storeId },
    recvTs: ts,
    bootId: 'light-boot',
    monoMs: seq,
  } as BatchRecord;
}

export class LightStores {
  readonly stats: LightStoresStats = { batchesSent: 0, resends: 0, acksAccepted: 0, acksLate: 0, refused: [], recordsAcked: 0 };
  private readonly stores: Store[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private progressWaiters: { n: number; resolve: () => void }[] = [];
  onLatency: LatencySink | undefined;

  constructor(private readonly opts: LightStoresOptions) {
    this.now = opts.now ?? Date.now;
  }

  get ids(): string[] {
    return this.stores.map((s) => s.id);
  }

  get totalBatches(): number {
    return this.opts.stores * this.opts.batchesPerStore;
  }

  /** Opens every store's connection and subscribes it to its ack topic. Sends nothing yet. */
  async connect(): Promise<void> {
    const prefix = this.opts.prefix ?? 'light-';
    const ids = Array.from({ length: this.opts.stores }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`);
    const conc = this.opts.connectConcurrency ?? 100;
    for (let i = 0; i < ids.length; i += conc) {
      await Promise.all(ids.slice(i, i + conc).map((id) => this.connectOne(id)));
    }
  }

  private async connectOne(id: string): Promise<void> {
    const client = await mqtt.connectAsync(this.opts.url, { clientId: id, protocolVersion: 5, reconnectPeriod: 300, connectTimeout: 10_000, keepalive: 60 });
    client.on('error', () => undefined); // reconnects on its own; a lost batch is re-sent
    const verify = createFeedVerifier({ storeId: id, keys: this.opts.publicKeys, bodySchemas: { [INGEST_ACK_FEED]: IngestAckBody } });
    const store: Store = { id, client, verify, next: 0, dueAt: 0, inFlight: new Map(), acked: 0, versions: new Set() };
    client.on('message', (_topic, payload) => this.onAck(store, payload));
    // mqtt.js subscribes again after a reconnect (resubscribe defaults on), so a broker restart
    // without the session still delivers the acks that come after it.
    await client.subscribeAsync(topics.hqAck(id), { qos: 1 });
    this.stores.push(store);
  }

  /** Starts the stream: every store publishes, paced or windowed, and re-sends what is not acked. */
  start(): void {
    const t = this.now();
    // Spread the paced stores over one interval so they do not all publish on the same tick.
    const rate = this.opts.batchesPerSecond ?? 0;
    this.stores.forEach((s, i) => (s.dueAt = rate > 0 ? t + (i / this.stores.length) * (1000 / rate) : t));
    this.timer = setInterval(() => this.tick(), 20);
    this.tick();
  }

  private tick(): void {
    const t = this.now();
    const rate = this.opts.batchesPerSecond ?? 0;
    const window = this.opts.window ?? 4;
    const resendMs = this.opts.resendMs ?? 3000;
    for (const s of this.stores) {
      while (s.next < this.opts.batchesPerStore && s.inFlight.size < window && s.dueAt <= t) {
        this.send(s, this.build(s, s.next++, t), t);
        if (rate > 0) s.dueAt += 1000 / rate;
      }
      for (const b of s.inFlight.values()) {
        if (t - b.lastSentAt >= resendMs) {
          this.stats.resends++;
          this.send(s, b, t);
        }
      }
    }
  }

  private build(s: Store, index: number, t: number): InFlight {
    const n = this.opts.recordsPerBatch;
    const records = Array.from({ length: n }, (_, i) => lightRecord(s.id, 1 + index * n + i, t));
    const header = makeHeader(`${s.id}:${records[0].seq}-${records[n - 1].seq}`, s.id, records, new Date(t).toISOString());
    const text = batchText(header, records);
    return { batchId: header.batchId, seqFrom: header.seqFrom, seqTo: header.seqTo, records: n, digest: batchDigest(text), payload: encodeBatch(header, records), firstSentAt: t, lastSentAt: t };
  }

  private send(s: Store, b: InFlight, t: number): void {
    b.lastSentAt = t;
    s.inFlight.set(b.batchId, b);
    this.stats.batchesSent++;
    // While the broker is away mqtt.js holds the publish and sends it on reconnect; a publish
    // lost with the broker is covered by the re-send.
    s.client.publish(topics.hqBatch(s.id), b.payload, { qos: 1 }, () => undefined);
  }

  private onAck(s: Store, payload: Buffer): void {
    // Several ingest workers ack concurrently, so versions may arrive out of order: no ack is
    // stale by its version alone. A version seen twice is a redelivered copy of one ack.
    const v = s.verify(payload, { feed: INGEST_ACK_FEED, topicScope: 'store', lastVersion: undefined });
    if (!v.ok) {
      this.stats.refused.push(`${s.id}: ${v.code}: ${v.reason}`);
      return;
    }
    const body = v.body as IngestAckBodyT;
    const b = s.inFlight.get(body.batchId);
    if (!b) {
      this.stats.acksLate++;
      return;
    }
    if (body.seqFrom !== b.seqFrom || body.seqTo !== b.seqTo || body.records !== b.records || body.digest !== b.digest || body.stored + body.duplicates + body.conflicts !== b.records) {
      this.stats.refused.push(`${s.id}: ack for ${body.batchId} does not name it exactly: ${JSON.stringify(body)}`);
      return;
    }
    if (body.conflicts !== 0) this.stats.refused.push(`${s.id}: ${body.batchId} had ${body.conflicts} conflicts`);
    s.versions.add(v.version);
    s.inFlight.delete(body.batchId);
    s.acked++;
    this.stats.acksAccepted++;
    this.stats.recordsAcked += b.records;
    this.onLatency?.(this.now() - b.firstSentAt);
    for (const w of [...this.progressWaiters]) {
      if (this.stats.acksAccepted >= w.n) {
        this.progressWaiters.splice(this.progressWaiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }

  /** Resolves once at least `n` batches (over all stores) have a verified ack. */
  acked(n: number): Promise<void> {
    if (this.stats.acksAccepted >= n) return Promise.resolve();
    return new Promise((resolve) => this.progressWaiters.push({ n, resolve }));
  }

  /** Resolves when every batch of every store has a verified ack. */
  allAcked(): Promise<void> {
    return this.acked(this.totalBatches);
  }

  /** Per store: batches acked and still in flight. */
  perStore(): { id: string; acked: number; inFlight: number }[] {
    return this.stores.map((s) => ({ id: s.id, acked: s.acked, inFlight: s.inFlight.size }));
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.all(this.stores.map((s) => s.client.endAsync(true).catch(() => undefined)));
  }
}
