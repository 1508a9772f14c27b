/**
 * The route plugins the gateway registers beside the core routes of buildServer (http/server.ts):
 * one line per area, each handing its routes only the components they need. The composition
 * root (gateway.ts) builds the components and passes them in here.
 */
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import type { Broker } from '../broker/broker.js';
import type { DeviceRegistry } from '../devices/registry.js';
import type { DeviceStore } from '../devices/store.js';
import type { Metrics } from '../metrics.js';
import type { HashGate } from '../http/hashGate.js';
import type { SessionManager } from '../http/auth.js';
import type { LiveFeed } from '../http/sse.js';
import type { UplinkService } from '../uplink/uplinkService.js';
import type { PriceService } from '../prices/prices.js';
import type { StoreOps } from '../kpi/storeOps.js';
import type { UserDirectory } from '../people/userDirectory.js';
import type { KioskService } from '../kiosk/sessions.js';
import type { StockService } from '../stock/stockService.js';
import type { StockActions } from '../stock/stockActions.js';
import type { Shelves } from '../items/shelves.js';
import type { SaleVoids } from '../kiosk/saleVoids.js';
import { uplinkRoutes } from '../http/routes/uplink.js';
import { priceRoutes } from '../http/routes/prices.js'; // prices
import { opsRoutes } from '../http/routes/ops.js';
import { adminRoutes } from '../http/routes/admin.js';
import { opsUserRoutes } from '../http/routes/opsUsers.js'; // ops users
import { kioskRoutes } from '../http/routes/kiosk.js'; // kiosk
import { attendantRoutes } from '../http/routes/attendant.js'; // kiosk
import { exitGateRoutes } from '../http/routes/exitGate.js'; // exit gates
import { pickupRoutes } from '../http/routes/pickups.js'; // click & collect tasks
import { stockRoutes } from '../http/routes/stock.js'; // stock
import { shelfRoutes } from '../http/routes/shelfStock.js'; // shelves
import { saleVoidRoutes } from '../http/routes/saleVoid.js'; // sale void
import { produceImageRoutes } from '../http/routes/produceImages.js'; // kiosk: produce pictures

export interface RoutePluginDeps {
  c: Readonly<Config>;
  uplink: UplinkService;
  prices: PriceService | null;
  live: LiveFeed;
  ops: StoreOps;
  registry: DeviceRegistry;
  deviceStore: DeviceStore;
  broker: Broker;
  users: UserDirectory;
  sessions: SessionManager;
  kiosk: KioskService;
  metrics: Metrics;
  hashGate: HashGate;
  stock: StockService;
  stockActions: StockActions;
  shelves: Shelves;
  saleVoids: SaleVoids;
  now: () => number;
}

/** The area route plugins, in registration order. */
export function routePlugins(deps: RoutePluginDeps): ((app: FastifyInstance) => Promise<void>)[] {
  const { c, uplink, prices, live, ops, registry, deviceStore, broker, users, sessions, kiosk, metrics, hashGate, stock, stockActions, shelves, saleVoids, now } = deps;
  return [
    async (app: FastifyInstance) => void (await app.register(uplinkRoutes, { status: () => uplink.status() })), // uplink
    ...(prices ? [async (app: FastifyInstance) => void (await app.register(priceRoutes, { prices }))] : []), // prices
    async (app: FastifyInstance) => void (await app.register(live.plugin)), // ops: SSE
    async (app: FastifyInstance) => void (await app.register(opsRoutes, { today: () => ops.kpis.today(), day: (d) => ops.kpis.day(d), alerts: (limit, open) => ops.alerts.list(limit, open), ack: (id, by) => ops.alerts.ack(id, by) })), // ops: KPIs and alerts
    async (app: FastifyInstance) => void (await app.register(adminRoutes, { registry, store: deviceStore, disconnect: (u) => broker.disconnect(u), now })), // ops: admin
    async (app: FastifyInstance) => void (await app.register(opsUserRoutes, { users, sessions })), // ops users
    async (app: FastifyInstance) => void (await app.register(kioskRoutes, { kiosks: c.kiosks, service: kiosk, metrics, gate: hashGate, now })), // kiosk
    async (app: FastifyInstance) => void (await app.register(attendantRoutes, { service: kiosk })), // kiosk
    async (app: FastifyInstance) => void (await app.register(exitGateRoutes, { serials: kiosk.serials, now })), // exit gates
    async (app: FastifyInstance) => void (await app.register(pickupRoutes, { handovers: kiosk.handovers })), // click & collect tasks
    async (app: FastifyInstance) => void (await app.register(stockRoutes, { actions: stockActions, setThreshold: (g, n) => stock.store.setThreshold(g, n) })), // stock
    async (app: FastifyInstance) => void (await app.register(shelfRoutes, { shelves, actions: stockActions, now })), // shelves
    async (app: FastifyInstance) => void (await app.register(saleVoidRoutes, { voids: saleVoids })), // sale void
    async (app: FastifyInstance) => void (await app.register(produceImageRoutes, { dir: path.join(c.data.dir, 'produce-images'), nameOf: (g) => kiosk.itemName(g) })), // kiosk: produce pictures
  ];
}
