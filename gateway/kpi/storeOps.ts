/**
 * Store ops as one component for the composition root: the day's numbers (counters in
 * outbox.db), the alert book (kpi.db), the live feed (SSE) and the ops and admin
 * routes. `start()` after the outbox and before ingest (the KPI counters commit in
 * ingest's own transactions, so they must be in place before the first group); the routes are
 * handed to buildServer as plugins.
 */
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { DeviceRegistry } from '../devices/registry.js';
import type { DeviceStore } from '../devices/store.js';
import type { NewEvent, OutboxStore } from '../outbox/store.js';
import { LiveFeed } from '../http/sse.js';
import type { SessionManager } from '../http/auth.js';
import { opsRoutes } from '../http/routes/ops.js';
import { adminRoutes } from '../http/routes/admin.js';
import { KpiStore } from './kpiStore.js';
import { KpiCounters } from './kpiCounters.js';
import { KpiService, type KpiReport } from './kpiService.js';
import { AlertBook } from './alertBook.js';

export interface StoreOpsOptions {
  config: Readonly<Config>;
  /** Started: the KPI counters live in outbox.db and commit with its groups. */
  outbox: OutboxStore;
  registry: DeviceRegistry;
  deviceStore: DeviceStore;
  /** Closes a device's MQTT connections (the broker is built later, hence a function). */
  disconnect: (username: string) => number;
  log: Logger;
  now: () => number;
}

export class StoreOps {
  readonly store: KpiStore;
  readonly kpis: KpiService;
  readonly alerts: AlertBook;
  readonly feed: LiveFeed;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly o: StoreOpsOptions) {
    const c = o.config;
    this.store = new KpiStore(path.join(c.data.dir, 'kpi.db'));
    this.kpis = new KpiService({ counters: new KpiCounters(o.outbox.database), legacy: this.store, lastSeq: () => o.outbox.lastSeq(), storeId: c.storeId, timezone: c.ops.timezone, log: o.log, now: o.now });
    this.alerts = new AlertBook({ store: this.store, log: o.log, now: o.now });
    this.feed = new LiveFeed({
      registry: o.registry,
      today: () => this.kpis.today(),
      onKpiChange: (fn) => this.kpis.onChange(fn),
      onAlert: (fn) => this.alerts.onAlert(fn),
      log: o.log,
      now: o.now,
      healthEveryMs: c.ops.healthEveryMs,
    });
  }

  async start(): Promise<void> {
    await this.store.start();
    await this.kpis.start();
    this.o.outbox.companion = this.kpis;
    this.unsubscribe = this.o.registry.onChange((v) => this.alerts.onDevice(v));
    this.feed.start();
  }

  async stop(): Promise<void> {
    this.feed.stop();
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

  /** Route plugins for buildServer: SSE, KPIs and alerts, admin; `sessions` lets the live feed end logged-out streams. */
  plugins(sessions?: SessionManager): ((app: FastifyInstance) => Promise<void>)[] {
    const o = this.o;
    if (sessions) {
      this.feed.sessionAlive = (token) => sessions.get(token) !== null;
      // A revoked user (disabled, new role or password) must not keep watching the store live.
      sessions.onEnded((tokens) => this.feed.endSessions(tokens));
    }
    return [
      async (app) => void (await app.register(this.feed.plugin)),
      async (app) =>
        void (await app.register(opsRoutes, {
          today: () => this.kpis.today(),
          day: (d) => this.kpis.day(d),
          alerts: (limit, open) => this.alerts.list(limit, open),
          ack: (id, by) => this.alerts.ack(id, by),
        })),
      async (app) =>
        void (await app.register(adminRoutes, { registry: o.registry, store: o.deviceStore, disconnect: o.disconnect, now: o.now })),
    ];
  }
}
