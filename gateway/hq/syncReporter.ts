/**
 * The store's sync report to HQ (`report/sync`, schemas/syncReport.ts): the feed versions applied
 * (from the gauges every feed subscriber keeps, feedSubscriber.ts) and the delivery backlog (the
 * uplink's status). Built at start and then every `intervalMs`; the uplink keeps the latest and
 * sends it retained now and on every reconnect, so HQ's copy is at most one interval old once the
 * link is up. A report is state, not an event: it never goes through the outbox.
 */
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { SYNC_REPORT, type SyncReportT } from '../protocol/schemas/syncReport.js';
import type { UplinkService } from '../uplink/uplinkService.js';
import { loadOrCreateInstallId } from '../uplink/installId.js';

export interface SyncReporterOptions {
  storeId: string;
  gatewayVersion: string;
  /** The data folder (its install id; the uplink made it when HQ is configured). */
  dataDir: string;
  metrics: Metrics;
  uplink: Pick<UplinkService, 'status' | 'report'>;
  log: Logger;
  now: () => number;
  intervalMs?: number;
}

export class SyncReporter {
  private timer: NodeJS.Timeout | null = null;
  private installId: string | null = null;
  private sending: Promise<void> | null = null;

  constructor(private readonly o: SyncReporterOptions) {}

  start(): void {
    try {
      this.installId = loadOrCreateInstallId(this.o.dataDir);
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'sync report: no install id');
    }
    void this.sendNow();
    this.timer = setInterval(() => void this.sendNow(), this.o.intervalMs ?? 30_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.sending;
  }

  /** The report as it stands now. */
  async build(): Promise<SyncReportT> {
    const m = this.o.metrics;
    const at = new Map<string, number>();
    for (const v of (await m.feedAppliedAt.get()).values) at.set(`${v.labels.feed}/${v.labels.scope}`, v.value);
    const feeds: SyncReportT['feeds'] = [];
    for (const v of (await m.feedVersion.get()).values) {
      const feed = String(v.labels.feed);
      const scope = v.labels.scope === 'all' ? 'all' : 'store';
      const when = at.get(`${feed}/${scope}`);
      feeds.push({ feed, scope, version: v.value, appliedAt: when === undefined ? null : new Date(when * 1000).toISOString() });
    }
    feeds.sort((a, b) => (a.feed === b.feed ? a.scope.localeCompare(b.scope) : a.feed.localeCompare(b.feed)));
    const s = await this.o.uplink.status();
    return {
      ts: new Date(this.o.now()).toISOString(),
      storeId: this.o.storeId,
      gatewayVersion: this.o.gatewayVersion,
      installId: this.installId,
      feeds: feeds.slice(0, 256),
      outbox: { records: s.outbox.total, oldestUnackedAgeS: s.delivery.lagS, unackedBatches: s.delivery.unackedBatches, delivery: s.delivery.mode },
    };
  }

  private sendNow(): Promise<void> {
    this.sending ??= this.build()
      .then((r) => this.o.uplink.report(SYNC_REPORT, Buffer.from(JSON.stringify(r), 'utf8')))
      .catch((err: unknown) => this.o.log.warn({ err: (err as Error).message }, 'sync report not built'))
      .finally(() => {
        this.sending = null;
      });
    return this.sending;
  }
}

/** Starts the reporter; what the composition root keeps to stop it. */
export function startSyncReporter(o: SyncReporterOptions): { name: string; stop: () => Promise<void> } {
  const r = new SyncReporter(o);
  r.start();
  return { name: 'sync report', stop: () => r.stop() };
}
