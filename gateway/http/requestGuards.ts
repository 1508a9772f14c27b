/**
 * Guards every HTTP request passes before any route: the Origin check of state-changing requests
 * (the rule is originCheck.ts), and the answer to requests the HTTP parser refused.
 */
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { LogLimiter } from '../log.js';
import type { Metrics } from '../metrics.js';
import { normalOrigin, originRefusal } from './originCheck.js';

/** 403 `SGW_ERR_ORIGIN` for a state-changing request or kiosk socket from another origin; counted, logged with a limit. */
export function refuseCrossOrigin(app: FastifyInstance, o: { metrics: Metrics; allowedOrigins: readonly string[] }): void {
  const originLogLimit = new LogLimiter(Date.now);
  const allowedOrigins = new Set(o.allowedOrigins.map((a) => normalOrigin(a) ?? a));
  app.addHook('onRequest', async (req, reply) => {
    const h = req.headers;
    // /mqtt has its own Origin rule (the broker's WebSocket listener); the kiosk socket is covered here.
    const upgrade = String(h.upgrade ?? '').toLowerCase() === 'websocket' && !req.url.startsWith('/mqtt');
    const why = originRefusal({ method: req.method, origin: h.origin, fetchSite: h['sec-fetch-site'] as string | undefined, protocol: req.protocol, host: req.host, upgrade }, allowedOrigins);
    if (why === null) return;
    o.metrics.httpRefused.labels('origin').inc();
    const suppressed = originLogLimit.take(`origin:${req.ip}`);
    if (suppressed >= 0) req.log.warn({ url: req.url.slice(0, 200), method: req.method, address: req.ip, reason: why, suppressed }, 'cross-origin request refused');
    // A refused upgrade never reaches the WebSocket plugin, which would end its socket after the answer.
    if (upgrade) reply.raw.once('finish', () => req.raw.socket?.destroy());
    return reply.code(403).send({ code: 'SGW_ERR_ORIGIN', message: `header.origin: ${why}; allowed are this page's origin and http.allowedOrigins` });
  });
}

/**
 * A request the HTTP parser refused (bad request line, header overflow, broken chunking) is
 * answered in the API's own error shape, naming the parser's reason, instead of fastify's
 * `{"error","message":"Client Error"}`; then the connection is closed, as Node does.
 */
export function answerMalformed(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, text] = err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large'] : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request Timeout'] : [400, 'Bad Request'];
  const body = JSON.stringify({ code: 'SGW_ERR_BAD_HTTP', message: `malformed HTTP request (${String(err.code ?? 'parse error').slice(0, 40)})` });
  // A response already under way on this socket (a 400 for a bad URL before the body was read) is not followed by a second one.
  const answered = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (socket.writable && !answered) socket.write(`HTTP/1.1 ${status} ${text}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
  socket.destroy();
}
