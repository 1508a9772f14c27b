/**
 * What the ingest tests share: a real PostgreSQL cluster, a real Mosquitto, the real
 * `dist/storegw-hq.js ingest` (its JSON log lines collected, waitable), and a light store publisher
 * speaking the batch envelope that collects and verifies the acks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import { createFeedVerifier, type VerifiedFeed } from '../../../gateway/protocol/feedVerify.js';
import { INGEST_ACK_FEED, IngestAckBody, type IngestAckBodyT } from '../../../gateway/protocol/schemas/ingestAck.js';
import { batchText, encodeBatch, makeHeader, type BatchRecord } from '../../../gateway/protocol/envelopes.js';
import { batchDigest } from '../../../gateway/protocol/schemas/ingestAck.js';
import { topics } from '../../../gateway/protocol/topics.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { startPostgres, type Postgres } from '../../helpers/postgres.js';
import { sharedDatabase } from '../../helpers/pgShared.js';
import { tempDir } from '../../helpers/tmp.js';
import { createHqSigner, type HqSigner } from '../../sim/hqSigner.js';

export const HQ_BIN = path.resolve('dist/storegw-hq.js');

export interface LogLine {
  msg: string;
  worker?: number | string;
  pid?: number;
  [k: string]: unknown;
}

export interface IngestStack {
  pg: Postgres;
  mosq: Mosquitto;
  /** A pool, so a connection lost to a PostgreSQL restart is replaced on the next query. */
  db: pg.Pool;
  signer: HqSigner;
  ingest: ChildProcess;
  /** The ingest's config file (the import and the chain view take the same). */
  configFile: string;
  lines: LogLine[];
  /** Resolves with the first log line (already seen or to come) after index `from` that matches. */
  waitLine(pred: (l: LogLine) => boolean, from?: number): Promise<LogLine>;
  stop(): Promise<void>;
  /** The value of one sample line of the supervisor's /metrics (0 when absent). */
  metric(sample: string): Promise<number>;
}

/**
 * `extraConfig`: YAML lines appended to the config (e.g. a `chain:` section). `ownCluster`: a
 * PostgreSQL cluster of this stack's own, for tests that stop or restart it; the others get a fresh
 * database in the run's shared cluster (test/helpers/pgShared.ts), or their own cluster outside vitest.
 * `onBroker`: called as soon as Mosquitto listens (the ack key already made), so a test can start
 * its gateways while PostgreSQL and the ingest are still starting; it awaits that work itself.
 */
export async function startIngestStack(opts: {
  workers: number;
  persistence?: boolean;
  extraConfig?: string[];
  ownCluster?: boolean;
  onBroker?: (mosq: Mosquitto, signer: HqSigner) => void;
}): Promise<IngestStack> {
  const postgres = async (): Promise<Postgres> => (!opts.ownCluster && (await sharedDatabase())) || startPostgres();
  const signer = createHqSigner({ kid: 'hq-ack-1' });
  const broker = startMosquitto({ persistence: opts.persistence }).then((m) => {
    opts.onBroker?.(m, signer);
    return m;
  });
  const [pgc, mosq] = await Promise.all([postgres(), broker]);
  const tmp = tempDir('hq-ingest-');
  const keyFile = path.join(tmp.dir, 'ack-key.pem');
  writeFileSync(keyFile, signer.privateKeyPem, { mode: 0o600 });
  const configFile = path.join(tmp.dir, 'ingest.yaml');
  writeFileSync(
    configFile,
    [
      'mqtt:',
      `  url: ${mosq.url}`,
      `  clientIdPrefix: ingest-test`,
      'postgres:',
      `  connectionString: ${pgc.connectionString}`,
      `workers: ${opts.workers}`,
      'signing:',
      '  kid: hq-ack-1',
      `  privateKeyFile: ${keyFile}`,
      'metrics:',
      '  listen: 127.0.0.1:0',
      ...(opts.extraConfig ?? []),
    ].join('\n') + '\n',
  );
  const ingest = spawn(process.execPath, [HQ_BIN, 'ingest', '--config', configFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: LogLine[] = [];
  const waiters: { from: number; pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  let buf = '';
  ingest.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const text = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let l: LogLine;
      try {
        l = JSON.parse(text) as LogLine;
      } catch {
        continue;
      }
      lines.push(l);
      for (const w of [...waiters]) {
        if (lines.length - 1 >= w.from && w.pred(l)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(l);
        }
      }
    }
  });
  const waitLine = (pred: (l: LogLine) => boolean, from = 0): Promise<LogLine> => {
    const seen = lines.slice(from).find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => waiters.push({ from, pred, resolve }));
  };
  const connected = new Set<unknown>();
  await waitLine((l) => {
    if (l.msg === 'connected to HQ broker') connected.add(l.worker);
    return connected.size === opts.workers;
  });
  const db = new pg.Pool({ connectionString: pgc.connectionString, max: 1 });
  db.on('error', () => undefined);
  return {
    pg: pgc,
    mosq,
    db,
    signer,
    ingest,
    configFile,
    lines,
    waitLine,
    async metric(sample: string) {
      const port = (await waitLine((l) => l.msg === 'metrics listening')).port as number;
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(sample + ' '));
      return line ? Number(line.slice(sample.length + 1)) : 0;
    },
    async stop() {
      const exited = new Promise<number | null>((r) => ingest.once('exit', (code) => r(code)));
      ingest.kill('SIGTERM');
      const code = await exited;
      await db.end().catch(() => undefined);
      await Promise.all([pgc.remove(), mosq.stop()]);
      tmp.remove();
      // SIGTERM stops the supervisor and every worker cleanly: exit 0, no worker left to SIGKILL.
      if (code !== 0) throw new Error(`storegw-hq ingest exited ${code} on SIGTERM`);
      if (lines.some((l) => l.msg === 'worker did not stop in time, killed')) throw new Error('a worker ignored SIGTERM');
    },
  };
}

export interface TestBatch {
  storeId: string;
  batchId: string;
  records: BatchRecord[];
  payload: Buffer;
  digest: string;
}

let seqClock = Date.UTC(2026, 11, 5, 9, 0, 0);

/** A record as a gateway would send it; `data` varies with `salt` to make a conflicting copy. */
export function record(seq: number, salt = 0): BatchRecord {
  return {
    seq,
    class: 'exact',
    kind: 'scanner',
    deviceId: 'scan-1',
    type: 'scan',
    ts: new Date(seqClock + seq * 1000).toISOString(),
    data: { code: `400638133393${seq % 10}`, salt },
    recvTs: seqClock + seq * 1000 + 3,
    bootId: 'boot-1',
    monoMs: seq * 1000,
  } as BatchRecord;
}

export function makeBatch(storeId: string, records: BatchRecord[], batchId?: string): TestBatch {
  const header = makeHeader(batchId ?? `${storeId}:${records[0].seq}-${records[records.length - 1].seq}`, storeId, records, new Date(seqClock).toISOString());
  return { storeId, batchId: header.batchId, records, payload: encodeBatch(header, records), digest: batchDigest(batchText(header, records)) };
}

export interface Ack {
  storeId: string;
  feed: VerifiedFeed;
  body: IngestAckBodyT;
}

/** A store-side publisher: publishes batches QoS 1 and collects every ack, verified against HQ's public key. */
export class StorePublisher {
  readonly acks: Ack[] = [];
  readonly refused: string[] = [];
  private waiters: { pred: (a: Ack) => boolean; resolve: (a: Ack) => void }[] = [];
  private constructor(readonly client: MqttClient) {}

  static async connect(url: string, signer: HqSigner): Promise<StorePublisher> {
    const client = await mqtt.connectAsync(url, { protocolVersion: 5, clientId: `store-pub-${process.pid}`, reconnectPeriod: 200 });
    const p = new StorePublisher(client);
    const verifiers = new Map<string, ReturnType<typeof createFeedVerifier>>();
    client.on('message', (topic, payload) => {
      const storeId = topic.split('/')[3];
      let verify = verifiers.get(storeId);
      if (!verify) {
        verify = createFeedVerifier({ storeId, keys: { [signer.kid]: signer.publicKeyPem }, bodySchemas: { [INGEST_ACK_FEED]: IngestAckBody } });
        verifiers.set(storeId, verify);
      }
      // Several workers ack concurrently: versions may arrive out of order, so none counts as stale here.
      const v = verify(payload, { feed: INGEST_ACK_FEED, topicScope: 'store', lastVersion: undefined });
      if (!v.ok) {
        p.refused.push(`${v.code}: ${v.reason}`);
        return;
      }
      const ack = { storeId, feed: v, body: v.body as IngestAckBodyT };
      p.acks.push(ack);
      for (const w of [...p.waiters]) {
        if (w.pred(ack)) {
          p.waiters.splice(p.waiters.indexOf(w), 1);
          w.resolve(ack);
        }
      }
    });
    await client.subscribeAsync(topics.hqAck('+'), { qos: 1 });
    return p;
  }

  publish(b: TestBatch): Promise<unknown> {
    return this.client.publishAsync(topics.hqBatch(b.storeId), b.payload, { qos: 1 });
  }

  /** The next ack (from now) that names this batch and its digest. */
  nextAck(b: TestBatch, pred: (a: Ack) => boolean = () => true): Promise<Ack> {
    return new Promise((resolve) => this.waiters.push({ pred: (a) => a.storeId === b.storeId && a.body.batchId === b.batchId && a.body.digest === b.digest && pred(a), resolve }));
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}
