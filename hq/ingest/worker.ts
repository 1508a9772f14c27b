/**
 * One ingest worker: its own MQTT 5 session on HQ's broker and its own PostgreSQL pool.
 *
 * Batches come through a shared subscription (`$share/{group}/hq/v1/store/+/batch`, MQTT 5.0
 * §4.8.2): the broker hands each message to one of the group's sessions, so N workers split the
 * stores' batches between them, on any MQTT 5 broker that has shared subscriptions.
 *
 * Exactly once, step by step:
 * 1. the batch is stored in one PostgreSQL transaction, records keyed by (storeId, seq), so a
 *    second copy of a record is a duplicate, never a second row;
 * 2. only after COMMIT the signed ack is published (QoS 1);
 * 3. only then, on the same connection, the broker gets its PUBACK: mqtt.js's `customHandleAcks` holds it until our
 *    callback. A worker that dies before that leaves the message un-acknowledged in its session
 *    (clean start 0, a session expiry, one stable client id per worker slot), and the broker sends
 *    it again when the slot reconnects [MQTT-4.4.0-1]; a broker that lost it (killed without
 *    persistence) is covered by the store, which re-sends every batch HQ has not acked.
 * mqtt.js handles one incoming packet at a time and waits for that callback, so a worker works on
 * one batch at a time; N workers give N batches in parallel.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import pg from 'pg';
import type { Logger } from 'pino';
import { decodeBatch } from '../../gateway/protocol/envelopes.js';
import { HQ_ROOT, topics } from '../../gateway/protocol/topics.js';
import { migrate } from '../db/migrate.js';
import { isPermanentDbError, storeBatch, storeRejected, storeReport, type StoredBatch } from './batchStore.js';
import { payloadDigest, signAck } from './ackEnvelope.js';
import { checkBatch, checkTopicStore } from './batchCheck.js';
import { LogLimit } from './logLimit.js';
import type { IngestConfig } from './config.js';
import type { WorkerEvent } from './metrics.js';

export interface WorkerOptions {
  config: Readonly<IngestConfig>;
  slot: number;
  log: Logger;
  now?: () => number;
  /** One event per batch (the supervisor's metrics). */
  onEvent?: (e: WorkerEvent) => void;
}

const STORE_PREFIX = `${HQ_ROOT}/store/`;

/** `hq/v1/store/{id}/{rest}` → its parts; undefined for any other topic. */
export function parseStoreTopic(topic: string): { storeId: string; rest: string } | undefined {
  if (!topic.startsWith(STORE_PREFIX)) return undefined;
  const tail = topic.slice(STORE_PREFIX.length);
  const slash = tail.indexOf('/');
  if (slash <= 0) return undefined;
  return { storeId: tail.slice(0, slash), rest: tail.slice(slash + 1) };
}

class Stopped extends Error {}

export class IngestWorker {
  private client: MqttClient | undefined;
  private pool: pg.Pool | undefined;
  private stopping = false;
  private readonly abort = new AbortController();
  private current: Promise<void> = Promise.resolve();
  private readonly rejectLog: LogLimit;
  /** Bumped on every (re)connect: a PUBACK is never sent on a connection newer than the message's. */
  private connection = 0;
  private readonly now: () => number;
  readonly counts = { batches: 0, records: 0, stored: 0, duplicates: 0, conflicts: 0, rejected: 0, reports: 0, dbRetries: 0 };

  constructor(private readonly opts: WorkerOptions) {
    this.now = opts.now ?? Date.now;
    this.rejectLog = new LogLimit(this.now);
  }

  async start(): Promise<void> {
    const { config, log } = this.opts;
    this.pool = new pg.Pool({ ...config.pg, max: 2, connectionTimeoutMillis: 5000 });
    // An idle client whose server went away: the pool drops it; the next query opens a new one.
    this.pool.on('error', (err) => log.warn({ err: err.message }, 'postgres connection lost'));
    const applied = await this.retrying('migrate', async () => {
      const c = await this.pool!.connect();
      const onError = (): void => undefined; // the query in hand rejects; see storeBatch
      c.on('error', onError);
      try {
        return await migrate(c);
      } finally {
        c.off('error', onError);
        c.release(true);
      }
    });
    if (applied.length > 0) log.info({ applied }, 'schema migrated');

    const group = config.shareGroup;
    const subs: Record<string, { qos: 1 }> = { [`$share/${group}/${STORE_PREFIX}+/batch`]: { qos: 1 } };
    // Status and reports are retained by the stores, and a shared subscription gets no retained
    // messages (MQTT 5.0 §4.8.2): slot 0 alone subscribes to them plainly and keeps the latest.
    if (this.opts.slot === 0) {
      subs[`${STORE_PREFIX}+/status`] = { qos: 1 };
      subs[`${STORE_PREFIX}+/report/#`] = { qos: 1 };
    }
    const client = mqtt.connect(config.mqtt.url, {
      protocolVersion: 5,
      clean: false,
      clientId: `${config.mqtt.clientIdPrefix}-${this.opts.slot}`,
      username: config.mqtt.username,
      password: config.mqttPassword,
      // MQTT 5 Maximum Packet Size (§3.1.2.11.4): the broker must not send us a packet larger
      // than this [MQTT-3.1.2-24], so mqtt.js never buffers a message the limits would refuse
      // anyway (a compressed payload is never much larger than its text).
      properties: { sessionExpiryInterval: config.mqtt.sessionExpirySeconds, maximumPacketSize: config.limits.maxBatchBytes + 64 * 1024 },
      reconnectPeriod: 500,
      connectTimeout: 10_000,
      customHandleAcks: (topic, message, packet, done) => {
        const conn = this.connection;
        const work = this.current.then(() => this.handle(topic, message, packet));
        this.current = work.catch(() => undefined);
        work.then(
          () => {
            if (conn === this.connection) done(0);
          },
          (err: unknown) => {
            // Stopping, or an error we could not file: no PUBACK, the broker keeps the message.
            if (!(err instanceof Stopped)) log.error({ err: (err as Error).message, topic }, 'message left un-acknowledged');
          },
        );
      },
    });
    this.client = client;
    client.on('connect', (connack) => {
      this.connection++;
      log.info({ sessionPresent: connack.sessionPresent }, 'connected to HQ broker');
      // With a session the broker still has our subscriptions; subscribing again is harmless and
      // covers a broker that lost them.
      client.subscribe(subs, (err) => {
        if (err) log.error({ err: err.message }, 'subscribe failed');
      });
    });
    client.on('message', (topic, payload, packet) => {
      // QoS 1 and 2 arrive through customHandleAcks; only QoS 0 reports are handled here.
      if (packet.qos === 0) void this.handle(topic, payload, packet).catch(() => undefined);
    });
    client.on('error', (err) => log.warn({ err: err.message }, 'HQ broker error'));
    client.on('offline', () => log.warn('HQ broker offline'));
  }

  /** Finishes the batch in hand (or leaves it to the broker if it waits on the database), then closes. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    await Promise.race([this.current, new Promise((r) => setTimeout(r, 5000).unref())]);
    await this.client?.endAsync().catch((err: Error) => this.opts.log.warn({ err: err.message }, 'mqtt close failed'));
    await this.pool?.end().catch((err: Error) => this.opts.log.warn({ err: err.message }, 'postgres close failed'));
  }

  private async handle(topic: string, payload: Buffer, packet: IPublishPacket): Promise<void> {
    const t = parseStoreTopic(topic);
    if (!t) return;
    if (t.rest === 'batch') return this.handleBatch(t.storeId, payload);
    if (t.rest === 'status' || t.rest.startsWith('report/')) {
      // Kept per store and topic; an invalid id is not a store and gets no row.
      if (checkTopicStore(t.storeId)) {
        if (this.rejectLog.take('report:') >= 0) this.opts.log.warn({ topic: topic.slice(0, 200) }, 'report on a topic whose store id is not a valid id; dropped');
        return;
      }
      await this.retrying('report', () => storeReport(this.pool!, { storeId: t.storeId, topic: t.rest, payload, retained: packet.retain }));
      this.counts.reports++;
      this.opts.log.info({ storeId: t.storeId, topic: t.rest, retained: packet.retain }, 'store report kept');
    }
  }

  private async handleBatch(storeId: string, payload: Buffer): Promise<void> {
    const { log, slot, config } = this.opts;
    const receivedAt = new Date(this.now());
    const t0 = this.now();
    const badTopic = checkTopicStore(storeId);
    if (badTopic) return this.reject({ storeId: storeId.slice(0, 64), ...badTopic, payload });
    const { limits } = config;
    const dec = decodeBatch(payload, { maxUncompressedBytes: limits.maxBatchBytes, maxRecords: limits.maxRecords });
    if (!dec.ok) return this.reject({ storeId, code: dec.code, reason: dec.reason, line: dec.line, payload });
    const h = dec.header;
    const bad = checkBatch(storeId, h, dec.records, limits.maxDepth);
    if (bad) return this.reject({ storeId, batchId: h.batchId, ...bad, payload });
    const digest = payloadDigest(payload, dec.rawBytes);
    let res: StoredBatch;
    try {
      res = await this.retrying('store batch', () => storeBatch(this.pool!, { storeId, header: h, records: dec.records, digest, receivedAt, worker: slot }));
    } catch (err) {
      if (!isPermanentDbError(err)) throw err;
      return this.reject({ storeId, batchId: h.batchId, code: 'SGW_ERR_BATCH_STORE', reason: `records: the database refused them (${(err as Error).message})`, payload });
    }
    const ack = signAck(config.signing.kid, config.signingKey, storeId, res.ackVersion, {
      batchId: h.batchId,
      seqFrom: h.seqFrom,
      seqTo: h.seqTo,
      records: dec.records.length,
      digest,
      stored: res.stored,
      duplicates: res.duplicates,
      conflicts: res.conflicts,
      committedAt: res.committedAt,
    });
    // Counted before the ack leaves, so a metrics scrape after the store saw its ack includes it.
    this.opts.onEvent?.({ type: 'batch', records: dec.records.length, stored: res.stored, duplicates: res.duplicates, conflicts: res.conflicts, ackMs: this.now() - t0 });
    // Not awaited: mqtt.js handles incoming packets one at a time, and the broker's PUBACK for this
    // ack queues behind the batch we are still holding. The ack is written to the connection
    // before the batch's PUBACK (TCP keeps the order), so a broker that saw our PUBACK has the ack;
    // a connection lost between the two means no PUBACK (see customHandleAcks) and mqtt.js sends
    // the ack again on reconnect (its outgoing QoS 1 store).
    this.client!.publish(topics.hqAck(storeId), ack, { qos: 1 }, (err) => {
      if (err) log.warn({ storeId, batchId: h.batchId, err: err.message }, 'ack publish failed; the store re-sends the batch');
    });
    this.counts.batches++;
    this.counts.records += dec.records.length;
    this.counts.stored += res.stored;
    this.counts.duplicates += res.duplicates;
    this.counts.conflicts += res.conflicts;
    log.info(
      { storeId, batchId: h.batchId, seqFrom: h.seqFrom, seqTo: h.seqTo, records: dec.records.length, stored: res.stored, duplicates: res.duplicates, conflicts: res.conflicts, ackVersion: res.ackVersion, ms: this.now() - t0 },
      'batch stored and acked',
    );
  }

  /** A batch that can never be stored: filed, counted, logged, and PUBACKed so it does not loop; never acked to the store. */
  private async reject(r: { storeId: string; batchId?: string; code: string; reason: string; line?: number; payload: Buffer }): Promise<void> {
    await this.retrying('file rejected batch', () => storeRejected(this.pool!, { ...r, worker: this.opts.slot }));
    this.counts.rejected++;
    this.opts.onEvent?.({ type: 'rejected', code: r.code });
    // A store can send junk as fast as the broker lets it: at most a few lines per store and 10 s.
    const suppressed = this.rejectLog.take(r.storeId);
    if (suppressed >= 0) this.opts.log.warn({ storeId: r.storeId, batchId: r.batchId, code: r.code, reason: r.reason.slice(0, 512), line: r.line, bytes: r.payload.length, suppressed }, 'batch rejected');
  }

  /** Runs `fn` until it succeeds or fails for good; waits 100 ms → 5 s between attempts while PostgreSQL is away. */
  private async retrying<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      if (this.stopping && attempt > 0) throw new Stopped(what);
      try {
        return await fn();
      } catch (err) {
        if (isPermanentDbError(err)) throw err;
        this.counts.dbRetries++;
        if (attempt % 10 === 0) this.opts.log.warn({ err: (err as Error).message, code: (err as { code?: string }).code, attempt }, `${what}: database unavailable, retrying`);
        await sleep(Math.min(5000, 100 * 2 ** Math.min(attempt, 6)), undefined, { signal: this.abort.signal }).catch(() => undefined);
      }
    }
  }
}
