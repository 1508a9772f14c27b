/**
 * The stock ledger, the exit gates and the shelves, built from the parts they read: the kiosk
 * (its sales, catalog and book of sold serials), the stock ledger (on hand), the command store,
 * ingest and the ops alert book. Construction only: the composition root (gateway.ts) starts each
 * in its order (the stock ledger before the kiosk, the gates and shelves after it).
 */
import path from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { OutboxStore } from '../outbox/store.js';
import type { Ingest } from '../ingest/ingest.js';
import type { HqConnection } from '../hq/hqConnection.js';
import type { UplinkService } from '../uplink/uplinkService.js';
import type { CommandService } from '../devices/commands.js';
import type { StoreOps } from '../kpi/storeOps.js';
import type { KioskService } from '../kiosk/sessions.js';
import { StockService } from '../stock/stockService.js'; // stock
import { recordStockMove } from '../stock/stockRecords.js'; // stock
import { ExitGates } from '../items/exitGates.js'; // exit gates
import { Shelves } from '../items/shelves.js'; // shelves
import type { HqFeedRecords } from './hqFeedRecords.js';

export interface StockWiringDeps {
  c: Readonly<Config>;
  kiosk: KioskService;
  ingest: Ingest;
  outbox: OutboxStore;
  uplink: UplinkService;
  commands: CommandService;
  ops: StoreOps;
  hqConnection: HqConnection | null;
  feedRecords: HqFeedRecords;
  metrics: Metrics;
  log: Logger;
  now: () => number;
  mono: () => number;
}

/** The stock ledger (stock.db): kiosk sales, exact stockMove records, HQ's report and its signed deliveries feed when HQ has keys. */
export function newStockService(d: StockWiringDeps): StockService {
  const { c, kiosk, hqConnection, feedRecords } = d;
  const dbLog = d.log.child({ module: 'db' });
  return new StockService({ file: path.join(c.data.dir, 'stock.db'), config: c.stock, kiosk: kiosk.stockSource, record: (m) => recordStockMove(d.ingest, m), outbox: d.outbox, report: (p) => d.uplink.report('stock', p), log: d.log, now: d.now,
    // stock.db has its own writer thread (its fsyncs never queue before the outbox's), supervised like the shared one.
    writer: { onExit: ({ error, exits, restartInMs }) => (d.metrics.dbWriterExits.inc(), dbLog.error({ err: error, exits, restartInMs, file: 'stock.db' }, restartInMs === null ? 'stock.db writer thread died; no restart left' : 'stock.db writer thread died; restarting it')), onRestarted: ({ restarts, downMs }) => (d.metrics.dbWriterRestarts.inc(), dbLog.warn({ restarts, downMs: Math.round(downMs), file: 'stock.db' }, 'stock.db writer thread started again')), onGaveUp: ({ error }) => dbLog.fatal({ err: error, file: 'stock.db' }, 'stock.db writer thread keeps dying: stock movements are refused until the gateway restarts') },
    ...(c.hq && c.hq.publicKeys.length > 0 && hqConnection ? { deliveries: { storeId: c.storeId, hq: c.hq, connection: hqConnection, metrics: d.metrics, onRejected: feedRecords.rejected, onStoreFailed: feedRecords.storeFailed, limits: c.prices } } : {}) });
}

/** The exit gates: after the kiosk (its book of sold serials and its catalog). */
export function newExitGates(d: StockWiringDeps): ExitGates {
  const { c, kiosk, commands } = d;
  return new ExitGates({ gates: c.exitGates, book: kiosk.serials.book, itemOf: (g) => kiosk.itemOf(g), command: (k, id, type, data, source) => commands.send(k, id, type, data, { source }), ingest: d.ingest, count: (o) => d.metrics.exitGateReads.labels(o).inc(), observe: (s) => d.metrics.exitGateAlarmSeconds.observe(s), log: d.log, now: d.now, mono: d.mono });
}

/** The shelves: after the kiosk (catalog, sold serials) and the stock ledger (on hand). */
export function newShelves(d: StockWiringDeps, stock: StockService): Shelves {
  const { c, kiosk, ops } = d;
  return new Shelves({ shelves: c.shelves, store: stock.store, itemOf: (g) => kiosk.itemOf(g), nameOf: (g) => kiosk.itemName(g), sold: (g, s) => kiosk.serials.book.soldIn(g, s) !== undefined, alert: (source, code, message) => ops.alerts.raise({ source, code, severity: 'warning', message }), count: (o) => d.metrics.shelfReads.labels(o).inc(), log: d.log, now: d.now, mono: d.mono });
}
