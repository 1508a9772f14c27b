/**
 * Store ops as one component for the composition root: the day's numbers (counters in outbox.db)
 * and the alert book (kpi.db). `start()` after the outbox and before ingest: the KPI counters
 * commit in ingest's own transactions, so they must be in place before the first group. The live
 * feed (SSE) and the ops and admin routes that show them are wired by the composition root.
 */
import path from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { DeviceRegistry } from '../devices/registry.js';
import type { NewEvent, OutboxStore } from '../outbox/store.js';
import { KpiStore } from './kpiStore.js';
import { KpiCounters } from './kpiCounters.js';
import { KpiService, type KpiReport } from './kpiService.js';
import { AlertBook } from './alertBook.js';

export interface StoreOpsOptions {
  config: Readonly<Config>;
  /** Started: the KPI counters live in outbox.db and commit with its groups. */
  outbox: OutboxStore;
  registry: DeviceRegistry;
  log: Logger;
  now: () => number;
}

export class StoreOps {
  readonly store: KpiStore;
  readonly kpis: KpiService;
  readonly alerts: AlertBook;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly o: StoreOpsOptions) {
    const c = o.config;
    this.store = new KpiStore(path.join(c.data.dir, 'kpi.db'));
    this.kpis = new KpiService({ counters: new KpiCounters(o.outbox.database), legacy: this.store, lastSeq: () => o.outbox.lastSeq(), storeId: c.storeId, timezone: c.ops.timezone, memberKeyFile: path.join(c.data.dir, 'member-hash.key'), log: o.log, now: o.now });
    this.alerts = new AlertBook({ store: this.store, log: o.log, now: o.now });
  }

  async start(): Promise<void> {
    await this.store.start();
    await this.kpis.start();
    this.o.outbox.companion = this.kpis;
    this.unsubscribe = this.o.registry.onChange((v) => this.alerts.onDevice(v));
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    if (this.o.outbox.companion === this.kpis) this.o.outbox.companion = null;
    await this.kpis.stop();
    await this.alerts.settled();
    await this.store.stop();
  }

  /** Every committed event (the gateway's onEvent); the KPIs count in the commit itself. */
  onEvent(e: NewEvent): void {
    this.alerts.onEvent(e);
  }

  /** The `report/kpi` payload for HQ (today so far, per local hour); see kpiService.ts. */
  kpiSnapshot(): KpiReport {
    return this.kpis.kpiSnapshot();
  }
}
