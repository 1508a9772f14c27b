/**
 * `storegw-hq import --config FILE [--store ID] [--no-ack] [--json] EXPORT.jsonl`: a store's
 * `outbox export --batches` file into HQ's database, each batch acknowledged to the store like the
 * ingest acknowledges a received one (hq/README.md §import). The config is the ingest's (its
 * PostgreSQL, its MQTT broker, its ack signing key). Progress goes to stderr, the summary to
 * stdout; exit 0 when every batch was stored (duplicates included) and acknowledged, 1 when a
 * batch was refused or an ack could not be published, 2 for bad arguments or config.
 */
import { createReadStream, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import type { HqCommand, HqIo } from '../main.js';
import { topics } from '../../gateway/protocol/topics.js';
import { migrate } from '../db/migrate.js';
import { loadIngestConfigFor } from '../ingest/config.js';
import { splitExport } from './exportFile.js';
import { Importer, type BatchOutcome, type ImportTotals } from './importer.js';

const USAGE = 'usage: storegw-hq import --config FILE [--store ID] [--no-ack] [--json] EXPORT.jsonl\n';
const PROGRESS_EVERY_MS = 2000;
const ACK_TIMEOUT_MS = 30_000;

function outcomeLine(o: BatchOutcome): string {
  const id = o.batchId ?? '?';
  if (o.rejected) return `line ${o.line}  ${id}  REJECTED ${o.rejected}`;
  return `line ${o.line}  ${id}  records ${o.records}: stored ${o.stored}, duplicates ${o.duplicates}, conflicts ${o.conflicts}${o.acked ? ', acked' : ''}`;
}

function totalsLine(t: ImportTotals, store: string | undefined, acks: boolean): string {
  const lines = [`store ${store ?? '?'}: ${t.batches} batches, ${t.records} records: stored ${t.stored}, duplicates ${t.duplicates}, conflicts ${t.conflicts}; rejected batches ${t.rejected}`];
  if (acks) lines.push(`acks published ${t.acked}${t.ackFailed > 0 ? `, FAILED ${t.ackFailed} (run the import again: it stores nothing twice and acks again)` : ''}`);
  if (t.batches > 0 && t.stored === 0) lines.push('nothing new: every record was already stored');
  return lines.join('\n') + '\n';
}

/**
 * Resolves once the broker acknowledged the publish (PUBACK); rejects after `ms`, so a broker that
 * went away does not hang the import (mqtt.js would hold the message until it reconnects).
 */
function publishWithin(c: MqttClient, topic: string, payload: string, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no PUBACK within ${ms} ms`)), ms);
    c.publish(topic, payload, { qos: 1 }, (err) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    });
  });
}

async function connectBroker(url: string, username: string | undefined, password: string | undefined, clientId: string): Promise<MqttClient> {
  // Clean session: the import only publishes. QoS 1 with a PUBACK means the broker holds the ack
  // (queued for the gateway's persistent session while that store is offline).
  return mqtt.connectAsync(url, { protocolVersion: 5, clean: true, clientId, username, password, reconnectPeriod: 1000, connectTimeout: 10_000 });
}

async function run(args: string[], io: HqIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { config: { type: 'string' }, store: { type: 'string' }, 'no-ack': { type: 'boolean' }, json: { type: 'boolean' } }, strict: true });
  } catch (err) {
    io.err(`storegw-hq import: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (!values.config || positionals.length !== 1) {
    io.err(`storegw-hq import: ${!values.config ? '--config FILE is required' : 'give exactly one export file'}\n${USAGE}`);
    return 2;
  }
  const config = loadIngestConfigFor('import', values.config, io.err);
  if (!config) return 2;
  const file = positionals[0];
  try {
    if (file !== '-' && !statSync(file).isFile()) throw Object.assign(new Error('not a file'), { code: 'not a file' });
  } catch (err) {
    io.err(`storegw-hq import: ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
    return 2;
  }
  const input = file === '-' ? process.stdin : createReadStream(file, { highWaterMark: 1 << 20 });

  const pool = new pg.Pool({ ...config.pg, max: 2, connectionTimeoutMillis: 10_000 });
  pool.on('error', () => undefined); // an idle client lost: the next query opens another
  let client: MqttClient | undefined;
  try {
    const c = await pool.connect();
    try {
      await migrate(c);
    } finally {
      c.release();
    }
    if (!values['no-ack']) client = await connectBroker(config.mqtt.url, config.mqtt.username, config.mqttPassword, `${config.mqtt.clientIdPrefix}-import-${process.pid}`);
    const mq = client;
    let lastProgress = Date.now();
    const importer = new Importer({
      pool,
      signing: { kid: config.signing.kid, key: config.signingKey },
      ...(mq ? { publishAck: (storeId: string, payload: string) => publishWithin(mq, topics.hqAck(storeId), payload, ACK_TIMEOUT_MS) } : {}),
      ...(values.store ? { storeId: values.store } : {}),
      now: Date.now,
      limits: config.limits,
      onBatch: (o, t) => {
        if (o.rejected) io.err(`storegw-hq import: ${file}: ${o.rejected}\n`);
        if (Date.now() - lastProgress >= PROGRESS_EVERY_MS) {
          lastProgress = Date.now();
          io.err(`import: ${t.batches + t.rejected} batches, ${t.records} records done (stored ${t.stored}, duplicates ${t.duplicates})\n`);
        }
      },
    });
    for await (const chunk of splitExport(input)) await importer.take(chunk);
    await importer.flush();
    const t = importer.totals;
    if (values.json) io.out(JSON.stringify({ file, storeId: importer.store ?? null, totals: t, batches: importer.outcomes }) + '\n');
    else io.out(importer.outcomes.map((o) => outcomeLine(o) + '\n').join('') + totalsLine(t, importer.store, !values['no-ack']));
    return t.rejected > 0 || t.ackFailed > 0 ? 1 : 0;
  } catch (err) {
    io.err(`storegw-hq import: ${(err as Error).message}\n`);
    return 1;
  } finally {
    if (input !== process.stdin) input.destroy();
    await client?.endAsync().catch(() => undefined);
    await pool.end().catch(() => undefined);
  }
}

export const command: HqCommand = {
  summary: 'a store\'s outbox export file into PostgreSQL, exactly once, each batch acked to the store',
  run,
};
