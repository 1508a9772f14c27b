/**
 * `GET /mqtt`: MQTT over WebSocket on the HTTP port, registered only when `mqtt.websocket.enabled`.
 * Before the upgrade (so a refused peer costs no WebSocket): the Origin check, then the broker's
 * gate (per-address connect rate, total connection cap) shared with the TCP listener. After it,
 * the broker's frame guard reads every message before aedes does (broker.handleStream).
 *
 * Origin: a browser always sends `Origin` on a WebSocket upgrade, and a page of another site could
 * otherwise open `/mqtt` from a shopper's or clerk's browser on the store LAN (cross-site WebSocket
 * hijacking). So a request with an Origin must name one of `allowedOrigins` exactly; same-host is
 * not assumed (DNS rebinding makes "same host" a name the attacker controls). A request without
 * Origin is not a browser page (a device, mqtt.js in Node); it is let in and must still
 * authenticate with CONNECT like any TCP client.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { createWebSocketStream } from 'ws';
import type { Duplex } from 'node:stream';
import type { Logger, LogLimiter } from '../log.js';
import type { Metrics } from '../metrics.js';

const TCP_KEEPALIVE_MS = 60_000;

export interface MqttDoor {
  allowedOrigins: readonly string[];
  /** The broker's gate: rate per address, then the connection cap (counted there). */
  admit: (address: string) => 'ok' | 'rate_limited' | 'too_many_connections';
  handle: (stream: Duplex, address: string) => void;
}

export interface MqttWebSocketDeps {
  door: MqttDoor;
  metrics: Metrics;
  limiter: LogLimiter;
  log: Logger;
}

/** Pure: may a request with this Origin header open /mqtt? */
export function originAllowed(origin: string | undefined, allowed: ReadonlySet<string>): boolean {
  return origin === undefined || allowed.has(origin);
}

export const mqttWebSocketRoute: FastifyPluginAsync<MqttWebSocketDeps> = async (app, deps) => {
  const allowed = new Set(deps.door.allowedOrigins);

  const gate = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const origin = req.headers.origin;
    if (!originAllowed(origin, allowed)) {
      deps.metrics.connects.labels('origin_refused').inc();
      if (deps.limiter.take('originRefused') >= 0) deps.log.warn({ address: req.ip, origin: origin?.slice(0, 256) }, '/mqtt refused: Origin not in mqtt.websocket.allowedOrigins');
      return reply.code(403).send({ code: 'SGW_ERR_ORIGIN', message: 'Origin: not allowed to open /mqtt (mqtt.websocket.allowedOrigins)' });
    }
    const a = deps.door.admit(req.ip);
    if (a === 'rate_limited') return reply.code(429).send({ code: 'SGW_ERR_RATE_LIMITED', message: 'too many connects from this address' });
    if (a === 'too_many_connections') return reply.code(503).send({ code: 'SGW_ERR_BUSY', message: 'mqtt.maxConnections reached' });
  };

  app.get('/mqtt', { websocket: true, onRequest: gate }, (socket, req) => {
    // Like a TCP device socket: the kernel finds a peer that lost power.
    req.socket.setKeepAlive(true, TCP_KEEPALIVE_MS);
    deps.door.handle(createWebSocketStream(socket), req.ip);
  });
};
