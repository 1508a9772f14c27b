/**
 * The HTTP face of the gateway: fastify, schema first; routes are plugins that receive their
 * dependencies as options. `buildServer` never listens, so tests use `inject()`.
 */
import Fastify, { LogController, type FastifyInstance, type FastifyError, type FastifyBaseLogger, type FastifyServerOptions } from 'fastify';
import cookie from '@fastify/cookie';
import websocket from '@fastify/websocket';
import type { Logger } from '../log.js';
import { LogLimiter } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { DeviceRegistry } from '../devices/registry.js';
import type { OutboxStore } from '../outbox/store.js';
import { formatErrors } from '../protocol/validate.js';
import { SESSION_COOKIE, type SessionManager } from './auth.js';
import { systemRoutes, type MetricsAccess } from './routes/system.js';
import { mqttWebSocketRoute, type MqttDoor } from './mqttWebSocket.js';
import { answerMalformed, refuseCrossOrigin } from './requestGuards.js';
import { lazySerializers } from './lazySerializers.js';
import { lazyValidators } from './lazyValidators.js';
import { loginRoutes } from './routes/login.js';
import { deviceRoutes, type DeviceRouteDeps } from './routes/devices.js';
import { pageRoutes } from './routes/pages.js';

export interface ServerDeps {
  log: Logger;
  metrics: Metrics;
  sessions: SessionManager;
  registry: DeviceRegistry;
  /** The device detail shows a device's recent rejects. */
  outbox: Pick<OutboxStore, 'recentDeadLetters'>;
  secureCookies: boolean;
  /** HTTPS instead of HTTP: the PEM certificate (chain) and key (http.tls). */
  https?: { cert: Buffer; key: Buffer };
  sessionTtlS: number;
  maxPacketBytes: number;
  /** Reverse-proxy addresses whose X-Forwarded-* headers are believed (config `http.trustProxy`). */
  trustProxy?: readonly string[];
  /** Origins besides the page's own allowed to change state (config `http.allowedOrigins`). */
  allowedOrigins?: readonly string[];
  health: () => Promise<{ ok: boolean; checks: Record<string, unknown> }>;
  /** MQTT over WebSocket on `/mqtt` goes to the broker; no `/mqtt` route when absent. */
  mqtt?: MqttDoor;
  /** Most HTTP connections at once (http.maxConnections). */
  maxConnections?: number;
  /** A request must arrive within this long (http.requestTimeoutMs). */
  requestTimeoutMs?: number;
  /** Who may read /metrics (http.metrics); loopback and admins when absent. */
  metricsAccess?: MetricsAccess;
  /** Log lines of one kind that peers can trigger per minute (log.peerLinesPerMinute). */
  peerLogLinesPerMinute?: number;
  now?: () => number;
  /** Where the built pages are (dist/kiosk); no pages are served when absent. */
  pagesDir?: string;
  /** The device command store: commands in the device detail and `POST …/commands`. */
  commands?: DeviceRouteDeps['commands'];
  /** A payment terminal's kiosk payment under way: its end of day is refused meanwhile. */
  paymentInFlight?: DeviceRouteDeps['paymentInFlight'];
  /** Further route plugins registered by later components (uplink, prices, kiosk, ops). */
  plugins?: ((app: FastifyInstance) => Promise<void>)[];
}

type BuildValidatorOption = NonNullable<NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildValidator']>;

/** Per server: compiles the request validators its routes have not needed yet (lazyValidators.ts). */
const pendingValidators = new WeakMap<FastifyInstance, () => number>();
export function compileAllValidators(app: FastifyInstance): number {
  return pendingValidators.get(app)?.() ?? 0;
}

export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const log = deps.log.child({ module: 'http' });
  const validators = lazyValidators();
  const app = Fastify({
    loggerInstance: log as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    // fastify's default 0 lets a peer that sends a body byte now and then hold a connection for
    // ever; Node checks the deadline every `connectionsCheckingInterval`.
    requestTimeout: deps.requestTimeoutMs ?? 30_000,
    http: { connectionsCheckingInterval: Math.min(1000, deps.requestTimeoutMs ?? 30_000) },
    ajv: { customOptions: { allErrors: true, removeAdditional: false, coerceTypes: 'array' } },
    // fastify calls the validator compiler with the route ({schema, method, url, httpPart}), as
    // lazyValidators.ts types it; @fastify/ajv-compiler's declaration says a bare schema.
    schemaController: { compilersFactory: { buildSerializer: lazySerializers(), buildValidator: validators.build as unknown as BuildValidatorOption } },
    // Only the configured proxies: `true` would let anyone on the LAN pick the address the login limits count.
    trustProxy: deps.trustProxy && deps.trustProxy.length > 0 ? [...deps.trustProxy] : false,
    clientErrorHandler: answerMalformed,
    // Node's TLS handshake timeout is 120 s by default: a peer that opens and stalls holds a socket that long.
    ...(deps.https ? { https: { ...deps.https, minVersion: 'TLSv1.2' as const, handshakeTimeout: 10_000 } } : {}),
  }) as unknown as FastifyInstance;
  pendingValidators.set(app, validators.compileAll);
  const now = deps.now ?? Date.now;
  // Lines any peer can trigger (bad requests, WebSocket errors, refused connections) are capped per
  // kind over all peers, then summed up in one line.
  const limiter = new LogLimiter(now, 5, 10_000, {
    lines: deps.peerLogLinesPerMinute ?? 20,
    windowMs: 60_000,
    onSuppressed: (kind, suppressed) => {
      deps.metrics.logSuppressed.labels(kind).inc(suppressed);
      log.warn({ kind, suppressed }, 'log lines suppressed');
    },
  });
  // Permanent 'error' listener: without one, `accept EMFILE` kills the process. Node keeps
  // listening after it. Extra connections over maxConnections are closed at accept ('drop').
  app.server.on('error', (err: NodeJS.ErrnoException) => {
    deps.metrics.listenerErrors.labels('http', err.code ?? 'unknown').inc();
    if (limiter.take(`listenerError/${err.code}`) >= 0) log.error({ listener: 'http', code: err.code, err: err.message }, 'listener error; still listening');
  });
  app.server.maxConnections = deps.maxConnections ?? 1024;
  app.server.headersTimeout = Math.min(app.server.headersTimeout, deps.requestTimeoutMs ?? 30_000);
  app.server.on('drop', (d?: { remoteAddress?: string }) => {
    deps.metrics.httpDropped.inc();
    if (limiter.take('drop') >= 0) log.warn({ address: d?.remoteAddress, maxConnections: app.server.maxConnections }, 'connection refused: http.maxConnections reached');
  });
  await app.register(cookie);
  refuseCrossOrigin(app, { metrics: deps.metrics, allowedOrigins: deps.allowedOrigins ?? [] });
  app.decorateRequest('session', null);
  app.addHook('onRequest', async (req) => {
    req.session = deps.sessions.get(req.cookies[SESSION_COOKIE]);
  });

  // A bad body names the field and is counted; every error has a stable code.
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.validation) {
      deps.metrics.httpBadRequests.inc();
      const where = err.validationContext ?? 'body';
      const message = formatErrors(err.validation as never, where).join('; ');
      if (limiter.take('badRequest') >= 0) req.log.warn({ url: req.url, reason: message }, 'bad request');
      return reply.code(400).send({ code: 'SGW_ERR_SCHEMA', message });
    }
    if (err.statusCode && err.statusCode < 500) {
      if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || (err as { code?: string }).code === 'FST_ERR_CTP_INVALID_JSON_BODY') deps.metrics.httpBadRequests.inc();
      if (limiter.take('badRequest') >= 0) req.log.warn({ url: req.url, code: err.code, reason: err.message }, 'bad request');
      return reply.code(err.statusCode).send({ code: err.code === undefined ? 'SGW_ERR_SCHEMA' : `SGW_ERR_HTTP_${err.code}`, message: err.message });
    }
    req.log.error({ err, url: req.url }, 'request failed');
    return reply.code(500).send({ code: 'SGW_ERR_INTERNAL', message: 'internal error' });
  });

  // The WebSocket server of every WebSocket route (/ws/kiosk, /mqtt). One message is at most one
  // MQTT packet's worth; /mqtt's frame guard bounds a packet spread over many messages.
  await app.register(websocket, {
    options: { maxPayload: deps.maxPacketBytes },
    // A peer's bad frame (too large, not masked, bad UTF-8) ends its socket; the line is bounded.
    errorHandler: (err, socket) => {
      deps.metrics.protocolErrors.labels('websocket').inc();
      if (limiter.take('websocketError') >= 0) log.info({ err: err.message }, 'websocket error');
      socket.terminate();
    },
  });
  app.websocketServer.on('error', (err: NodeJS.ErrnoException) => {
    deps.metrics.listenerErrors.labels('websocket', err.code ?? 'unknown').inc();
    if (limiter.take(`listenerError/ws`) >= 0) log.error({ listener: 'websocket', err: err.message }, 'listener error; still listening');
  });
  // @fastify/websocket upgrades a request to any GET route, then closes it with an info line when
  // the route has no WebSocket handler: one line per attempt. Refuse those before the upgrade.
  const wsRoutes = new Set<string>();
  app.addHook('onRoute', (r) => {
    if ((r as { websocket?: boolean }).websocket) wsRoutes.add(r.url);
  });
  app.addHook('onRequest', async (req, reply) => {
    if (req.ws && !wsRoutes.has(req.routeOptions.url ?? '')) return reply.code(404).send({ code: 'SGW_ERR_NOT_FOUND', message: 'no WebSocket here' });
  });
  if (deps.mqtt) await app.register(mqttWebSocketRoute, { door: deps.mqtt, metrics: deps.metrics, limiter, log });

  await app.register(systemRoutes, { metrics: deps.metrics, health: deps.health, access: deps.metricsAccess ?? { allow: ['127.0.0.0/8', '::1/128'], admins: true } });
  await app.register(loginRoutes, { sessions: deps.sessions, metrics: deps.metrics, secureCookies: deps.secureCookies, ttlS: deps.sessionTtlS });
  await app.register(deviceRoutes, { registry: deps.registry, outbox: deps.outbox, commands: deps.commands, ...(deps.paymentInFlight ? { paymentInFlight: deps.paymentInFlight } : {}) });
  if (deps.pagesDir) await app.register(pageRoutes, { pagesDir: deps.pagesDir });
  app.get('/', async (_req, reply) => reply.redirect('/ops/'));
  for (const p of deps.plugins ?? []) await p(app);
  return app;
}

