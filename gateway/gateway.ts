/**
 * The gateway's components, built from one frozen config and started in order; `stop()` undoes
 * them in reverse, and a failing stop is logged while the rest still stop (so one broken part cannot keep the others running).
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import { Metrics } from './metrics.js';
import { INSERT_EVENT, OutboxStore, type NewEvent } from './outbox/store.js';
import { DbOwner, provideSharedOwner } from './db/owner.js';
import { DeviceStore } from './devices/store.js';
import { DeviceRegistry } from './devices/registry.js';
import { Authenticator } from './broker/auth.js';
import { Broker } from './broker/broker.js';
import { StockService } from './stock/stockService.js'; // stock
import { StockActions, searchItemNames } from './stock/stockActions.js'; // stock
import { recordStockMove } from './stock/stockRecords.js'; // stock
import { stockRoutes } from './http/routes/stock.js'; // stock
import { SaleVoids } from './kiosk/saleVoids.js'; // sale void
import { saleVoidRoutes } from './http/routes/saleVoid.js'; // sale void
import { recordKioskEvent } from './kiosk/kioskRecords.js'; // sale void
import { Ingest } from './ingest/ingest.js';
import { SessionManager } from './http/auth.js';
import { HashGate } from './http/hashGate.js';
import { buildServer } from './http/server.js';
import { warmUp } from './protocol/validate.js';
import { SgwError } from './errors.js';
import { demoSecretsIn } from './demoSecrets.js';
import { secureDataDir } from './dataDir.js';
import { plainLanListeners, readTlsFiles } from './tlsConfig.js';
import { UplinkService } from './uplink/uplinkService.js';
import { HqConnection } from './hq/hqConnection.js';
import type { FeedAlert, FeedStoreFailure } from './hq/feedSubscriber.js';
import { uplinkRoutes } from './http/routes/uplink.js';
import { PriceService } from './prices/prices.js'; // prices
import { priceRoutes } from './http/routes/prices.js'; // prices
import { recordStoreFailure } from './hq/feedPolicy.js'; // HQ feeds: storage failure alerts
import { StoreOps } from './kpi/storeOps.js'; // ops
import { LiveFeed } from './http/sse.js';
import { opsRoutes } from './http/routes/ops.js';
import { ExitGates } from './items/exitGates.js'; // exit gates
import { exitGateRoutes } from './http/routes/exitGate.js'; // exit gates
import { Shelves } from './items/shelves.js'; // shelves
import { shelfRoutes } from './http/routes/shelfStock.js'; // shelves
import { adminRoutes } from './http/routes/admin.js';
import { KpiReporter } from './kpi/kpiReporter.js'; // ops: report/kpi to HQ
import { KioskService } from './kiosk/sessions.js'; // kiosk
import { kioskRoutes } from './http/routes/kiosk.js'; // kiosk
import { attendantRoutes } from './http/routes/attendant.js'; // kiosk
import { pickupRoutes } from './http/routes/pickups.js'; // click & collect tasks
import { produceImageRoutes } from './http/routes/produceImages.js'; // kiosk: produce pictures
import { ProduceImageCache } from './kiosk/imageCache.js';
import { CommandService } from './devices/commands.js'; // commands
import { UserStore } from './people/userStore.js'; // ops users
import { UserDirectory } from './people/userDirectory.js'; // ops users
import { opsUserRoutes } from './http/routes/opsUsers.js'; // ops users

export interface GatewayOptions {
  config: Readonly<Config>;
  log: Logger;
  now?: () => number;
  mono?: () => number;
  /** The built pages (dist/kiosk); main.ts passes the folder beside the bundle. */
  pagesDir?: string;
  /** Called at each step boundary of a kiosk sale (the crash test halts the process there). */
  kioskCheckpoint?: (step: string, kioskId: string) => void;
  /** Tests only: the SQLite writer thread exits inside its n-th group commit (the restart test). */
  writerExitAt?: number;
}

/** Reported to HQ in the retained status. */
const GATEWAY_VERSION = '0.1.0';

interface Component {
  name: string;
  stop: () => Promise<void>;
}

export class Gateway {
  readonly metrics = new Metrics();
  readonly bootId = randomUUID();
  outbox!: OutboxStore;
  deviceStore!: DeviceStore;
  registry!: DeviceRegistry;
  ingest!: Ingest;
  broker!: Broker;
  http!: FastifyInstance;
  uplink!: UplinkService;
  prices: PriceService | null = null; // prices
  kiosk!: KioskService; // kiosk
  stock: StockService | null = null; // stock
  commands!: CommandService; // commands
  /** ops: the day's numbers (`ops.kpiSnapshot()` is the report/kpi payload) and the alert book. */
  ops!: StoreOps;
  /** The ops page's live feed (SSE): registry changes, KPIs, alerts, click & collect tasks. */
  live!: LiveFeed;
  private readonly started: Component[] = [];
  private writer!: DbOwner;
  private readonly observers: ((e: NewEvent) => void)[] = [];
  private readonly now: () => number;
  private readonly mono: () => number;
  private readonly log: Logger;

  constructor(private readonly opts: GatewayOptions) {
    this.now = opts.now ?? Date.now;
    this.mono = opts.mono ?? (() => performance.now());
    this.log = opts.log;
  }

  /**
   * Observes every committed device event, in seq order (prices: ESL acks; kiosk sessions; KPIs).
   * A throwing observer is logged and the others still see the event.
   */
  onEvent(fn: (e: NewEvent) => void): void {
    this.observers.push(fn);
  }

  get mqttPort(): number {
    return this.broker.port;
  }

  get httpPort(): number {
    const addr = this.http.server.address();
    return typeof addr === 'object' && addr ? addr.port : 0;
  }

  async start(): Promise<void> {
    const c = this.opts.config;
    if (!c.demo) {
      const demo = await demoSecretsIn(c);
      if (demo.length > 0) throw new SgwError('SGW_ERR_CONFIG', `refusing to start:\n  ${demo.join('\n  ')}`);
    }
    warmUp();
    const tightened = secureDataDir(c.data.dir);
    if (tightened > 0) this.log.warn({ dir: c.data.dir, tightened }, 'data folder: made files 0600 and folders 0700 (they were readable by others)');

    // The one SQLite writer thread of the stores (db/owner.ts): a death is logged and counted, the
    // requests it held fail (their devices get no PUBACK and send again), and it is started again.
    const dbLog = this.log.child({ module: 'db' });
    this.writer = new DbOwner({
      onExit: ({ error, exits, restartInMs }) => {
        this.metrics.dbWriterExits.inc();
        dbLog.error({ err: error, exits, restartInMs }, restartInMs === null ? 'SQLite writer thread died; no restart left' : 'SQLite writer thread died; restarting it');
      },
      onRestarted: ({ restarts, downMs }) => {
        this.metrics.dbWriterRestarts.inc();
        dbLog.warn({ restarts, downMs: Math.round(downMs) }, 'SQLite writer thread started again');
      },
      onGaveUp: ({ error }) => dbLog.fatal({ err: error }, 'SQLite writer thread keeps dying: device events are refused until the gateway restarts'),
      ...(this.opts.writerExitAt ? { testExitAt: { nth: this.opts.writerExitAt, sql: INSERT_EVENT } } : {}),
    });
    const writerHold = provideSharedOwner(this.writer);
    // Another gateway of this process runs the thread already: health reports that thread.
    if (writerHold.joined) this.writer = writerHold.owner;
    this.started.push({ name: 'db writer', stop: () => writerHold.release() });

    this.outbox = new OutboxStore(path.join(c.data.dir, 'outbox.db'), {
      deadLetters: c.data.deadLetters,
      walTruncateBytes: c.data.walTruncateBytes,
      onDeadLettersDropped: (reason, n) => {
        this.metrics.deadLettersDropped.labels(reason).inc(n);
        this.log.child({ module: 'outbox' }).warn({ reason, dropped: n }, 'dead letters dropped by their bound');
      },
      onError: (err) => this.log.child({ module: 'outbox' }).error({ err }, 'pruning dead letters failed'),
    });
    await this.outbox.start();
    this.started.push({ name: 'outbox', stop: () => this.outbox.stop() });

    this.deviceStore = new DeviceStore(path.join(c.data.dir, 'state.db'));
    await this.deviceStore.start();
    this.started.push({ name: 'device store', stop: () => this.deviceStore.stop() });
    const lastWallBeforeStart = await this.deviceStore.lastSeenMax();

    this.registry = new DeviceRegistry({ config: c, store: this.deviceStore, log: this.log.child({ module: 'registry' }), now: this.now });
    await this.registry.start();
    this.started.push({ name: 'registry', stop: () => this.registry.stop() });

    // --- ops: KPIs and alerts, SSE. Before ingest: the KPI counters commit in
    // ingest's own outbox transactions, so they are in place before the first group ---
    const ops = new StoreOps({ config: c, outbox: this.outbox, registry: this.registry, log: this.log, now: this.now });
    this.ops = ops;
    this.onEvent((e) => ops.onEvent(e));
    await ops.start();
    this.started.push({ name: 'ops', stop: () => ops.stop() });
    const live = new LiveFeed({ registry: this.registry, today: () => ops.kpis.today(), onKpiChange: (fn) => ops.kpis.onChange(fn), onAlert: (fn) => ops.alerts.onAlert(fn), log: this.log, now: this.now, healthEveryMs: c.ops.healthEveryMs });
    this.live = live;
    live.start();
    this.started.push({ name: 'live feed', stop: async () => live.stop() });

    let broker: Broker | null = null;
    this.ingest = new Ingest({
      store: this.outbox,
      registry: this.registry,
      metrics: this.metrics,
      log: this.log,
      now: this.now,
      mono: this.mono,
      bootId: this.bootId,
      maxBatch: c.mqtt.maxBatch,
      sendReject: (kind, id, notice) => broker?.sendReject(kind, id, notice),
      onCommitted: (e) => {
        for (const fn of this.observers) {
          try {
            fn(e);
          } catch (err) {
            this.log.error({ err, seq: e.seq, deviceId: e.deviceId }, 'an event observer failed');
          }
        }
      },
    });
    await this.ingest.start();
    this.started.push({ name: 'ingest', stop: () => this.ingest.stop() });

    // --- uplink: compactor, HQ link, disk quota, clock watch; GET /api/uplink below ---
    // One HQ endpoint and one read of its credentials for the uplink and every feed subscriber.
    const hqConnection = c.hq ? new HqConnection(c.hq) : null;
    hqConnection?.start();
    const uplink = new UplinkService({ config: c, outboxFile: path.join(c.data.dir, 'outbox.db'), outboxCounts: this.outbox.counts, outboxWriter: this.outbox.writer, ingest: this.ingest, hqConnection, bootId: this.bootId, version: GATEWAY_VERSION, metrics: this.metrics, log: this.log, now: this.now, mono: this.mono });
    this.uplink = uplink;
    this.onEvent((e) => uplink.onEvent(e));
    await uplink.start();
    this.started.push({ name: 'uplink', stop: () => uplink.stop() });
    // --- end uplink ---

    // --- ops: HQ's KPI report (the counters started before ingest, above) ---
    const kpiReport = new KpiReporter({ snapshot: () => ops.kpiSnapshot(), onChange: (fn) => ops.kpis.onChange(fn), send: (p) => uplink.report('kpi', p), minIntervalMs: c.ops.kpiReportEveryMs, now: this.now });
    kpiReport.start();
    this.started.push({ name: 'kpi report', stop: async () => kpiReport.stop() });
    await uplink.checkBootClock(lastWallBeforeStart); // a record for HQ and the ops alert book
    // --- end ops ---

    // From the counts kept on each commit: a scrape never scans the table on the writer connection.
    this.metrics.probes.outboxDepth = async () => this.outbox.counts.snapshot();
    this.metrics.probes.deadLetters = () => ({ rows: this.outbox.dead.rows, bytes: this.outbox.dead.bytes });
    this.metrics.probes.outboxWalBytes = () => this.outbox.walBytes;

    // One gate for every people-cost hash (logins, own password, costly kiosk tokens, and MQTT
    // credentials hashed at that cost): together they stay within it.
    const hashGate = new HashGate(c.http.passwordChecks);
    broker = new Broker({
      host: c.mqtt.host,
      port: c.mqtt.port ?? 1883,
      maxPacketBytes: c.mqtt.maxPacketBytes,
      drainTimeoutMs: c.mqtt.drainTimeoutMs,
      connectRate: c.mqtt.connectRate,
      maxConnections: c.mqtt.maxConnections,
      peerLogLinesPerMinute: c.log.peerLinesPerMinute,
      auth: new Authenticator({ config: c, registry: this.registry, store: this.deviceStore, gate: hashGate }),
      registry: this.registry,
      ingest: this.ingest,
      metrics: this.metrics,
      log: this.log,
      now: this.now,
      onDeviceSubscribed: (kind, id) => this.commands?.subscribed(kind, id), // commands
      sessions: { maxKeepaliveS: c.mqtt.maxKeepaliveS, maxConnectionsPerCredential: c.mqtt.maxConnectionsPerCredential, maxInflightPerClient: c.mqtt.maxInflightPerClient, clientIdHoldS: c.mqtt.clientIdHoldS },
      // A forged gateway record is an exact alert record: HQ sees it in order, ops in the alert book.
      onGatewayRecord: (r) =>
        void uplink.selfRecords
          .record('FORGED_RECORD', 'critical', `${r.username} wrote a ${r.kind} ${r.type} record for ${r.kind}/${r.deviceId}; only the gateway writes those: refused${r.suppressed ? ` (${r.suppressed} more since the last alert)` : ''}`, { forgedRecord: { username: r.username, kind: r.kind, deviceId: r.deviceId, type: r.type, topic: r.topic, bytes: r.bytes, suppressed: r.suppressed } })
          .catch((err: Error) => this.log.error({ err }, 'could not record a forged record')),
    });
    this.broker = broker;
    await broker.start();
    this.started.push({ name: 'broker', stop: () => broker!.stop() });
    if (c.mqtt.tls) {
      await broker.listenTls({ host: c.mqtt.tls.host ?? c.mqtt.host, port: c.mqtt.tls.port, requireClientCert: c.mqtt.tls.requireClientCert, ...readTlsFiles(c.mqtt.tls) });
      this.started.push({ name: 'mqtt tls', stop: () => broker!.closeTls() });
    }

    // --- commands: device commands recorded in commands.db until acked, re-sent on reconnect;
    // after the broker (it publishes), before the kiosk (which sends light and payment commands) ---
    const commands = new CommandService({ file: path.join(c.data.dir, 'commands.db'), registry: this.registry, publish: (t, p, q) => broker!.publish(t, p, q), metrics: this.metrics, log: this.log, now: this.now });
    this.commands = commands;
    this.onEvent((e) => commands.onEvent(e));
    await commands.start();
    this.started.push({ name: 'commands', stop: () => commands.stop() });
    // --- end commands ---

    // Every HQ feed (prices, orders) is recorded the same way: a rejected feed is an exact alert
    // record, so it reaches HQ in order and lands in the ops alert book; a feed that could not be
    // stored stays unacknowledged, and its streak is recorded on attempts 1, 2, 4, …
    const feedRecords = {
      rejected: (a: FeedAlert) =>
        void uplink.selfRecords
          .record('FEED_REJECTED', 'warning', `${a.feed} feed rejected: ${a.reason}`, { feedRejected: { topic: a.topic, feed: a.feed, scope: a.scope, code: a.code, kid: a.kid ?? null } })
          .catch((err: Error) => this.log.error({ err }, 'could not record a feed rejection')),
      storeFailed: (f: FeedStoreFailure) =>
        void (recordStoreFailure(f.attempt)
          ? uplink.selfRecords
              .record('FEED_STORE_FAILED', 'critical', `${f.feed} feed version ${f.version} could not be stored (${f.error}); not acknowledged, HQ re-delivers it in ${f.retryInMs} ms`, {
                feedStoreFailed: { topic: f.topic, feed: f.feed, scope: f.scope, version: f.version, error: f.error.slice(0, 256), attempt: f.attempt },
              })
              .catch((err: Error) => this.log.error({ err }, 'could not record a feed storage failure'))
          : undefined),
    };

    // --- prices: HQ feeds, catalog, ESL fan-out; after the broker (it sends cmd/show) ---
    let prices: PriceService | null = null;
    if (c.prices.enabled) {
      prices = new PriceService({ config: c, registry: this.registry, metrics: this.metrics, log: this.log, now: this.now, bootId: this.bootId, publish: (t, p, q) => broker!.publish(t, p, q), hqConnection, onFeedRejected: feedRecords.rejected, onFeedStoreFailed: feedRecords.storeFailed });
      this.prices = prices;
      this.onEvent((e) => prices!.onEvent(e));
      await prices.start();
      this.started.push({ name: 'prices', stop: () => prices!.stop() });
      // The produce pictures the catalog names, fetched once and checked against the signed hash.
      const ps = prices;
      const images = new ProduceImageCache({ dir: path.join(c.data.dir, 'produce-images'), catalog: () => ps.currentCatalog(), log: this.log.child({ module: 'kiosk' }), count: (o) => this.metrics.kioskImages.labels(o).inc() });
      const onCatalog = (): void => images.soon();
      ps.changes.on('change', onCatalog);
      images.start();
      this.started.push({ name: 'produce pictures', stop: async () => (ps.changes.off('change', onCatalog), await images.stop()) });
    }
    // --- end prices ---

    // --- kiosk: self-checkout sessions; after prices (it prices from the catalog) ---
    const kiosk = new KioskService({ config: c, ingest: this.ingest, outbox: this.outbox, prices, command: (k, id, type, data, source) => commands.send(k, id, type, data, { source }), log: this.log, now: this.now, mono: this.mono, onRefused: (code) => this.metrics.kioskRefused.labels(code).inc(), onScanRefused: (reason) => this.metrics.kioskScansRefused.labels(reason).inc(), onPromptIgnored: () => this.metrics.kioskPromptsIgnored.inc(), onMemberQrRefused: (reason) => this.metrics.memberQrRefused.labels(reason).inc(), onCouponRefused: (reason) => this.metrics.couponRefused.labels(reason).inc(),
      hqFeeds: { connection: hqConnection, metrics: this.metrics, onRejected: feedRecords.rejected, onStoreFailed: feedRecords.storeFailed },
      // payments reversed and sale writes that failed are counted and raise ops alerts
      alert: (code, severity, message) => ops.alerts.raise({ source: 'kiosk', code, severity, message }),
      count: (what) => (what === 'writeFailed' ? this.metrics.kioskSaleWriteFailures.inc() : this.metrics.kioskPaymentsReversed.labels(what).inc()),
      ...(this.opts.kioskCheckpoint ? { checkpoint: this.opts.kioskCheckpoint } : {}) });
    this.kiosk = kiosk;
    this.onEvent((e) => kiosk.onEvent(e));
    // Stock: started before the kiosk, so the sales its recovery forwards are seen; caught up after.
    const stock = new StockService({ file: path.join(c.data.dir, 'stock.db'), config: c.stock, kiosk: kiosk.stockSource, record: (d) => recordStockMove(this.ingest, d), outbox: this.outbox, report: (p) => uplink.report('stock', p), log: this.log, now: this.now,
      writer: { onExit: ({ error, exits, restartInMs }) => (this.metrics.dbWriterExits.inc(), dbLog.error({ err: error, exits, restartInMs, file: 'stock.db' }, restartInMs === null ? 'stock.db writer thread died; no restart left' : 'stock.db writer thread died; restarting it')), onRestarted: ({ restarts, downMs }) => (this.metrics.dbWriterRestarts.inc(), dbLog.warn({ restarts, downMs: Math.round(downMs), file: 'stock.db' }, 'stock.db writer thread started again')), onGaveUp: ({ error }) => dbLog.fatal({ err: error, file: 'stock.db' }, 'stock.db writer thread keeps dying: stock movements are refused until the gateway restarts') }, // stock writer
      ...(c.hq && c.hq.publicKeys.length > 0 && hqConnection ? { deliveries: { storeId: c.storeId, hq: c.hq, connection: hqConnection, metrics: this.metrics, onRejected: feedRecords.rejected, onStoreFailed: feedRecords.storeFailed, limits: c.prices } } : {}) });
    this.stock = stock;
    await stock.start();
    this.started.push({ name: 'stock', stop: () => stock.stop() });
    this.onEvent((e) => stock.onEvent(e));
    await kiosk.start();
    this.started.push({ name: 'kiosk', stop: () => kiosk.stop() });
    await stock.ready();
    // A completed sale voided on the ops page: after the stock ledger (it gives the stock back).
    const saleVoids = new SaleVoids({ store: kiosk.voidStore, book: kiosk.serials.book, stock: () => (m) => stock.add(m), record: (k, d) => recordKioskEvent(this.ingest, k, 'saleVoided', d), recordKey: (t) => this.outbox.recordKey('saleVoided', t), windowMs: c.kiosk.saleVoidWindowMs, now: this.now, log: this.log, // sale void
      reverse: async (k, data) => void (kiosk.devices(k).payment && (await commands.send('payment', kiosk.devices(k).payment!, 'reverse', data, { source: `void:${k}` }))),
      ...(this.opts.kioskCheckpoint ? { checkpoint: this.opts.kioskCheckpoint } : {}) });
    await saleVoids.recover(); // sale void
    const stockActions = new StockActions({ service: stock, nameOf: (g) => kiosk.itemName(g), searchNames: (t, n) => searchItemNames(prices?.currentCatalog().items, t, n), lowBelow: c.stock.lowBelow, now: this.now });
    // Click & collect tasks on the ops page's live feed: in `hello`, then the whole list on every change.
    live.addHelloPart('pickups', () => [...kiosk.handovers.list()]);
    kiosk.handovers.onChange((tasks) => live.push('pickups', { tasks: [...tasks] }));
    // --- end kiosk ---

    // --- exit gates: after the kiosk (its book of sold serials and its catalog) ---
    const exitGates = new ExitGates({ gates: c.exitGates, book: kiosk.serials.book, itemOf: (g) => kiosk.itemOf(g), command: (k, id, type, data, source) => commands.send(k, id, type, data, { source }), ingest: this.ingest, count: (o) => this.metrics.exitGateReads.labels(o).inc(), observe: (s) => this.metrics.exitGateAlarmSeconds.observe(s), log: this.log, now: this.now, mono: this.mono });
    this.onEvent((e) => exitGates.onEvent(e));
    this.started.push({ name: 'exit gates', stop: async () => exitGates.stop() });
    // --- end exit gates ---

    // --- shelves: after the kiosk (catalog, sold serials) and the stock ledger (on hand) ---
    const shelves = new Shelves({ shelves: c.shelves, store: stock.store, itemOf: (g) => kiosk.itemOf(g), nameOf: (g) => kiosk.itemName(g), sold: (g, s) => kiosk.serials.book.soldIn(g, s) !== undefined, alert: (source, code, message) => ops.alerts.raise({ source, code, severity: 'warning', message }), count: (o) => this.metrics.shelfReads.labels(o).inc(), log: this.log, now: this.now, mono: this.mono });
    await shelves.start();
    this.onEvent((e) => shelves.onEvent(e));
    this.started.push({ name: 'shelves', stop: () => shelves.stop() });
    // --- end shelves ---

    // --- ops users: config users + users.db; sessions look people up here ---
    const userStore = new UserStore(path.join(c.data.dir, 'users.db'), c.opsUsers.map((u) => u.username));
    await userStore.start();
    this.started.push({ name: 'user store', stop: () => userStore.stop() });
    const users = new UserDirectory({ configUsers: c.opsUsers, store: userStore, log: this.log, now: this.now });
    await users.start();
    this.started.push({ name: 'users', stop: async () => users.stop() });
    // --- end ops users ---

    const metrics = this.metrics;
    const sessions = new SessionManager({
      users, // ops users: users from the directory
      ttlS: c.http.sessionTtlS,
      now: this.now,
      gate: hashGate,
      onVerified: () => metrics.passwordVerifications.inc(),
      onRefused: (kind) => metrics.httpRefused.labels(kind).inc(),
    });
    // The live feed ends a stream whose session is gone: a revoked user (disabled, new role or
    // password) must not keep watching the store live.
    live.sessionAlive = (token) => sessions.get(token) !== null;
    sessions.onEnded((tokens) => live.endSessions(tokens));
    this.http = await buildServer({
      log: this.log,
      metrics: this.metrics,
      sessions,
      registry: this.registry,
      outbox: this.outbox,
      commands, // commands
      paymentInFlight: (id) => kiosk.paymentInFlight(id), // a terminal's end of day waits for its kiosk's payment
      // Over HTTPS the session cookie is Secure whatever http.secureCookies says.
      secureCookies: c.http.secureCookies || c.http.tls !== undefined,
      https: c.http.tls ? readTlsFiles(c.http.tls) : undefined,
      trustProxy: c.http.trustProxy,
      allowedOrigins: c.http.allowedOrigins,
      sessionTtlS: c.http.sessionTtlS,
      maxPacketBytes: c.mqtt.maxPacketBytes,
      health: async () => ({
        // Down while the writer thread restarts (events are refused, not lost), and for good once it gave up.
        ok: this.writer.state === 'up',
        checks: { mqttClients: broker!.connectedClients, lastSeq: this.ingest.lastSeq, bootId: this.bootId, dbWriter: { state: this.writer.state, exits: this.writer.exits, restarts: this.writer.restarts }, duplicateStoreId: uplink.uplink?.state.duplicateStoreId ?? null },
      }),
      mqtt: c.mqtt.websocket.enabled ? { allowedOrigins: c.mqtt.websocket.allowedOrigins, admit: (a) => broker!.admit(a), handle: (stream, a) => broker!.handleStream(stream, a) } : undefined,
      maxConnections: c.http.maxConnections,
      requestTimeoutMs: c.http.requestTimeoutMs,
      metricsAccess: c.http.metrics,
      peerLogLinesPerMinute: c.log.peerLinesPerMinute,
      now: this.now,
      pagesDir: this.opts.pagesDir ?? path.resolve('dist/kiosk'),
      plugins: [
        async (app: FastifyInstance) => void (await app.register(uplinkRoutes, { status: () => uplink.status() })), // uplink
        ...(prices ? [async (app: FastifyInstance) => void (await app.register(priceRoutes, { prices: prices! }))] : []), // prices
        async (app: FastifyInstance) => void (await app.register(live.plugin)), // ops: SSE
        async (app: FastifyInstance) => void (await app.register(opsRoutes, { today: () => ops.kpis.today(), day: (d) => ops.kpis.day(d), alerts: (limit, open) => ops.alerts.list(limit, open), ack: (id, by) => ops.alerts.ack(id, by) })), // ops: KPIs and alerts
        async (app: FastifyInstance) => void (await app.register(adminRoutes, { registry: this.registry, store: this.deviceStore, disconnect: (u) => broker!.disconnect(u), now: this.now })), // ops: admin
        async (app: FastifyInstance) => void (await app.register(opsUserRoutes, { users, sessions })), // ops users
        async (app: FastifyInstance) => void (await app.register(kioskRoutes, { kiosks: c.kiosks, service: kiosk, metrics, gate: hashGate, now: this.now })), // kiosk
        async (app: FastifyInstance) => void (await app.register(attendantRoutes, { service: kiosk })), // kiosk
        async (app: FastifyInstance) => void (await app.register(exitGateRoutes, { serials: kiosk.serials, now: this.now })), // exit gates
        async (app: FastifyInstance) => void (await app.register(pickupRoutes, { handovers: kiosk.handovers })), // click & collect tasks
        async (app: FastifyInstance) => void (await app.register(stockRoutes, { actions: stockActions, setThreshold: (g, n) => stock.store.setThreshold(g, n) })), // stock
        async (app: FastifyInstance) => void (await app.register(shelfRoutes, { shelves, actions: stockActions, now: this.now })), // shelves
        async (app: FastifyInstance) => void (await app.register(saleVoidRoutes, { voids: saleVoids })), // sale void
        async (app: FastifyInstance) => void (await app.register(produceImageRoutes, { dir: path.join(c.data.dir, 'produce-images'), nameOf: (g) => kiosk.itemName(g) })), // kiosk: produce pictures
      ],
    });
    await this.http.listen({ host: c.http.host, port: c.http.port ?? 8080 });
    this.started.push({ name: 'http', stop: () => this.http.close() });
    if (!c.demo) for (const w of plainLanListeners(c)) this.log.warn({ setting: w.slice(0, w.indexOf(':')) }, w);
    this.log.info({ storeId: c.storeId, mqttPort: this.mqttPort, mqttTlsPort: broker.tlsPort || undefined, httpPort: this.httpPort, https: c.http.tls !== undefined, bootId: this.bootId, lastSeq: this.ingest.lastSeq }, 'storegw ready');
  }

  async stop(): Promise<void> {
    // Reverse order of start: the doors close first (http, broker), ingest finishes its commits,
    // then the stores close.
    for (const comp of this.started.splice(0).reverse()) {
      try {
        await comp.stop();
      } catch (err) {
        this.log.error({ err, component: comp.name }, 'stopping a component failed; going on');
      }
    }
  }
}
