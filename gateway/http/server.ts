/**
 * The HTTP face of the gateway: fastify, schema first; routes are plugins that receive their
 * dependencies as options. `buildServer` never listens, so tests use `inject()`.
 */
import Fastify, { LogController, type FastifyInstance, type FastifyError, type FastifyBaseLogger } from 'fastify';
import cookie from '@fastify/cookie';
import websocket from '@fastify/websocket';
import { createWebSocketStream } from 'ws';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { DeviceRegistry } from '../devices/registry.js';
import type { OutboxStore } from '../outbox/store.js';
import { formatErrors } from '../protocol/validate.js';
import { SESSION_COOKIE, type SessionManager } from './auth.js';
import { answerMalformed, refuseCrossOrigin } from './requestGuards.js';
import { systemRoutes } from './routes/system.js';
import { loginRoutes } from './routes/login.js';
import { deviceRoutes, type DeviceRouteDeps } from './routes/devices.js';
import { pageRoutes } from './routes/pages.js';

export interface ServerDeps {
  log: Logger;
  metrics: Metrics;
  sessions: SessionManager;
  registry: DeviceRegistry;
  outbox: OutboxStore;
  secureCookies: boolean;
  sessionTtlS: number;
  maxPacketBytes: number;
  /** Reverse-proxy addresses whose X-Forwarded-* headers are believed (config `http.trustProxy`). */
  trustProxy?: readonly string[];
  /** Origins besides the page's own allowed to change state (config `http.allowedOrigins`). */
  allowedOrigins?: readonly string[];
  health: () => Promise<{ ok: boolean; checks: Record<string, unknown> }>;
  /** MQTT over WebSocket on `/mqtt` goes to the broker. */
  mqttStream?: (stream: Duplex) => void;
  /** Where the built pages are (dist/kiosk); no pages are served when absent. */
  pagesDir?: string;
  /** The device command store (issue 8): commands in the device detail and `POST …/commands`. */
  commands?: DeviceRouteDeps['commands'];
  /** Further route plugins registered by later components (uplink, prices, kiosk, ops). */
  plugins?: ((app: FastifyInstance) => Promise<void>)[];
}

export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log.child({ module: 'http' }) as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    ajv: { customOptions: { allErrors: true, removeAdditional: false, coerceTypes: 'array' } },
    // Only the configured proxies: `true` would let anyone on the LAN pick the address the login limits count.
    trustProxy: deps.trustProxy && deps.trustProxy.length > 0 ? [...deps.trustProxy] : false,
    clientErrorHandler: answerMalformed,
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
      req.log.warn({ url: req.url, reason: message }, 'bad request');
      return reply.code(400).send({ code: 'SGW_ERR_SCHEMA', message });
    }
    if (err.statusCode && err.statusCode < 500) {
      if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || (err as { code?: string }).code === 'FST_ERR_CTP_INVALID_JSON_BODY') deps.metrics.httpBadRequests.inc();
      req.log.warn({ url: req.url, code: err.code, reason: err.message }, 'bad request');
      return reply.code(err.statusCode).send({ code: err.code === undefined ? 'SGW_ERR_SCHEMA' : `SGW_ERR_HTTP_${err.code}`, message: err.message });
    }
    req.log.error({ err, url: req.url }, 'request failed');
    return reply.code(500).send({ code: 'SGW_ERR_INTERNAL', message: 'internal error' });
  });

  if (deps.mqttStream) {
    await app.register(websocket, { options: { maxPayload: deps.maxPacketBytes } });
    const handle = deps.mqttStream;
    app.get('/mqtt', { websocket: true }, (socket) => {
      handle(createWebSocketStream(socket));
    });
  }

  await app.register(systemRoutes, { metrics: deps.metrics, health: deps.health });
  await app.register(loginRoutes, { sessions: deps.sessions, metrics: deps.metrics, secureCookies: deps.secureCookies, ttlS: deps.sessionTtlS });
  await app.register(deviceRoutes, { registry: deps.registry, outbox: deps.outbox, commands: deps.commands });
  if (deps.pagesDir) await app.register(pageRoutes, { pagesDir: deps.pagesDir });
  app.get('/', async (_req, reply) => reply.redirect('/ops/'));
  for (const p of deps.plugins ?? []) await p(app);
  return app;
}

