/**
 * HQ's ingest acknowledgements (`hq.delivery: ingest-ack`; protocol/README.md §Ingest
 * acknowledgement): a persistent MQTT 5 session at HQ subscribed to `hq/v1/store/{id}/ack` at QoS 1,
 * so acks published while the store was offline are queued by HQ's broker and delivered on
 * reconnect [MQTT-3.1.2-5]. Messages are handled one at a time and PUBACKed once handled
 * (feedDelivery.ts).
 *
 * An ack is verified like any HQ feed (feedVerify.ts: HQ's keys, scope `store:{id}`, the body
 * schema IngestAckBody) and accepted only when its batch is in flight and its range, count and
 * digest are exactly what was sent; then that batch's rows are deleted in one transaction. Acks of
 * several HQ workers may arrive out of version order, so the version is checked against the set
 * of accepted versions (a version seen before is a replay), not against the highest.
 * Every refusal is counted by code, logged (rate-limited: anyone who may publish at HQ can send
 * junk) and handed to `onRejected` (an exact FEED_REJECTED record).
 */
import type { MqttClient } from 'mqtt';
import { endClient } from '../mqttEnd.js';
import { LogLimiter, type Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { createFeedVerifier, type FeedVerifier } from '../protocol/feedVerify.js';
import { INGEST_ACK_FEED, IngestAckBody, type IngestAckBodyT } from '../protocol/schemas/ingestAck.js';
import { topics } from '../protocol/topics.js';
import type { HqConnection } from '../hq/hqConnection.js';
import { feedConnectProperties } from '../hq/feedPolicy.js';
import { FeedDelivery } from '../hq/feedDelivery.js';
import type { DeliveryStore, InflightBatch } from './deliveryStore.js';

/** Why an ack deleted nothing (beside feedVerify.ts's codes). */
export type AckRefusal = 'SGW_ERR_ACK_NOT_IN_FLIGHT' | 'SGW_ERR_ACK_MISMATCH';

export interface AckAlert {
  at: number;
  topic: string;
  code: string;
  reason: string;
  kid?: string;
}

export interface AckSubscriberOptions {
  storeId: string;
  connection: HqConnection;
  /** HQ's public keys by key id. */
  publicKeys: readonly { kid: string; pem: string }[];
  store: DeliveryStore;
  metrics: Metrics;
  log: Logger;
  now: () => number;
  /** After a batch was acknowledged and its rows deleted (the uplink sends more). */
  onAcked: (batchId: string, rows: number) => void;
  onRejected: (a: AckAlert) => void;
}

/** The ack bodies are small; a bigger payload is refused before it is parsed. */
const MAX_ACK_BYTES = 64 * 1024;

/** What in the ack disagrees with the batch sent, or null when it names exactly that batch. */
export function ackMismatch(ack: IngestAckBodyT, sent: InflightBatch): string | null {
  for (const k of ['seqFrom', 'seqTo', 'records', 'digest'] as const) {
    if (ack[k] !== sent[k]) return `signed.body.${k}: ${String(ack[k]).slice(0, 80)} is not the ${String(sent[k])} of batch ${sent.batchId} as sent`;
  }
  if (ack.stored + ack.duplicates + ack.conflicts !== ack.records) return `signed.body.stored: stored ${ack.stored} + duplicates ${ack.duplicates} + conflicts ${ack.conflicts} is not records ${ack.records}`;
  return null;
}

export class AckSubscriber {
  private client: MqttClient | null = null;
  private verify: FeedVerifier | null = null;
  private readonly delivery: FeedDelivery;
  private readonly logLimit: LogLimiter;
  accepted = 0;
  rejected = 0;

  constructor(private readonly o: AckSubscriberOptions) {
    this.delivery = new FeedDelivery({ log: o.log, what: 'ingest ack', retryInitialMs: 1000, retryMaxMs: 60_000 });
    this.logLimit = new LogLimiter(o.now);
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  async start(): Promise<void> {
    this.verify = createFeedVerifier({ storeId: this.o.storeId, keys: Object.fromEntries(this.o.publicKeys.map((k) => [k.kid, k.pem])), bodySchemas: { [INGEST_ACK_FEED]: IngestAckBody } });
    const topic = topics.hqAck(this.o.storeId);
    const client = this.o.connection.connect({ clientId: `storegw-${this.o.storeId}-acks`, clean: false, reconnectPeriod: 1000, connectTimeout: 10_000, properties: feedConnectProperties(MAX_ACK_BYTES) });
    this.client = client;
    this.delivery.attach(client, (t, payload) => this.handle(t, payload));
    let subscribed = false;
    client.on('connect', (ack) => {
      this.o.log.info({ sessionPresent: ack.sessionPresent }, 'connected to HQ (ingest acks)');
      if (ack.sessionPresent && subscribed) return;
      subscribed = true;
      client.subscribe(topic, { qos: 1 }, (err) => {
        if (err) this.o.log.error({ err }, 'subscribing to the ingest acks failed');
      });
    });
    client.on('error', (err) => this.o.log.warn({ err: err.message }, 'HQ ingest ack connection error'));
  }

  async stop(): Promise<void> {
    this.delivery.detach();
    const c = this.client;
    this.client = null;
    if (c) await endClient(c);
    await this.delivery.drained();
  }

  private async handle(topic: string, payload: Buffer): Promise<'ack' | 'hold'> {
    if (topic !== topics.hqAck(this.o.storeId)) return 'ack';
    if (payload.length > MAX_ACK_BYTES) return this.refuse(topic, 'SGW_ERR_FEED_TOO_LARGE', `payload: ${payload.length} bytes is over the ${MAX_ACK_BYTES}-byte limit of an ingest ack`);
    const v = this.verify!(payload, { feed: INGEST_ACK_FEED, topicScope: 'store', lastVersion: undefined });
    if (!v.ok) return this.refuse(topic, v.code, v.reason, v.kid);
    const body = v.body as unknown as IngestAckBodyT;
    try {
      if (await this.o.store.accepted(v.version)) return this.refuse(topic, 'SGW_ERR_FEED_STALE_VERSION', `signed.version: ${v.version} was accepted before (a replay)`, v.kid);
      const sent = await this.o.store.get(body.batchId);
      if (!sent) return this.refuse(topic, 'SGW_ERR_ACK_NOT_IN_FLIGHT', `signed.body.batchId: "${body.batchId.slice(0, 128)}" is not a batch awaiting an ack`, v.kid);
      const why = ackMismatch(body, sent);
      if (why) return this.refuse(topic, 'SGW_ERR_ACK_MISMATCH', why, v.kid);
      const rows = await this.o.store.acknowledge(sent, v.version, this.o.now());
      this.accepted++;
      this.o.metrics.hqAcks.labels('accepted').inc();
      this.o.metrics.hqLastAck.set(this.o.now() / 1000);
      this.o.log.info({ batchId: sent.batchId, seqFrom: sent.seqFrom, seqTo: sent.seqTo, rows, version: v.version, duplicates: body.duplicates, conflicts: body.conflicts }, 'HQ acknowledged a batch; its rows left the outbox');
      if (body.conflicts > 0) this.o.log.warn({ batchId: sent.batchId, conflicts: body.conflicts }, 'HQ already held other content under some of these seqs');
      this.o.onAcked(sent.batchId, rows);
      return 'ack';
    } catch (err) {
      // The outbox could not be read or written: not acknowledged, HQ's broker delivers it again.
      this.o.log.error({ err, batchId: body.batchId }, 'an ingest ack could not be applied; left for re-delivery');
      this.delivery.failStreak++;
      this.delivery.hold();
      return 'hold';
    }
  }

  private refuse(topic: string, code: string, reason: string, kid?: string): 'ack' {
    this.rejected++;
    this.o.metrics.hqAcks.labels(code).inc();
    const suppressed = this.logLimit.take(`ack:${code}`);
    if (suppressed >= 0) this.o.log.warn({ topic, code, reason: reason.slice(0, 512), kid, suppressed }, 'ingest ack refused; nothing deleted');
    this.o.onRejected({ at: this.o.now(), topic, code, reason, ...(kid !== undefined ? { kid } : {}) });
    return 'ack';
  }
}
