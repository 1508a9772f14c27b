/**
 * The ingest's Prometheus metrics, served by the supervisor (`metrics.listen`). Workers are
 * separate processes: each sends one small message per batch over its IPC channel and the
 * supervisor counts, so one scrape sees the whole ingest.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Histogram, Registry } from 'prom-client';

/** What a worker tells the supervisor about one batch. */
export type WorkerEvent =
  | { type: 'batch'; records: number; stored: number; duplicates: number; conflicts: number; ackMs: number }
  | { type: 'rejected'; code: string };

export function isWorkerEvent(m: unknown): m is WorkerEvent {
  const t = (m as { type?: unknown } | null)?.type;
  return t === 'batch' || t === 'rejected';
}

export class IngestMetrics {
  readonly registry = new Registry();
  private readonly records = new Counter({ name: 'storegw_hq_ingest_records_total', help: 'Records received in batches, by outcome', labelNames: ['outcome'], registers: [this.registry] });
  private readonly batches = new Counter({ name: 'storegw_hq_ingest_batches_total', help: 'Batches stored and acked', registers: [this.registry] });
  private readonly rejected = new Counter({ name: 'storegw_hq_ingest_rejected_batches_total', help: 'Batches refused (never acked to the store), by code', labelNames: ['code'], registers: [this.registry] });
  readonly restarts = new Counter({ name: 'storegw_hq_ingest_worker_restarts_total', help: 'Workers that died and were started again', registers: [this.registry] });
  private readonly ackLatency = new Histogram({
    name: 'storegw_hq_ingest_ack_latency_seconds',
    help: 'From a batch reaching a worker to its ack being published (decode, transaction, commit, sign)',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private server: Server | undefined;

  observe(e: WorkerEvent): void {
    if (e.type === 'rejected') {
      this.rejected.inc({ code: e.code });
      return;
    }
    this.batches.inc();
    this.records.inc({ outcome: 'stored' }, e.stored);
    this.records.inc({ outcome: 'duplicate' }, e.duplicates);
    this.records.inc({ outcome: 'conflict' }, e.conflicts);
    this.ackLatency.observe(e.ackMs / 1000);
  }

  /** Serves `GET /metrics` on `host:port`; resolves with the port bound (0 picks a free one). */
  async listen(host: string, port: number): Promise<number> {
    this.server = createServer((req, res) => {
      if (req.method !== 'GET' || req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    });
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const addr = server.address();
    return typeof addr === 'object' && addr ? addr.port : port;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}
