/**
 * The MQTT-over-TLS listener's transport: a node:tls server whose connections, once their
 * handshake is done, go to the broker's ordinary accept path (rate limit, frame guard,
 * CONNECT-first, caps). This file holds only what TLS adds in front of it:
 * - the per-address connect rate limit before the handshake as well (a handshake costs a key
 *   exchange, so a flood from one address must not get that far);
 * - a 10 s handshake timeout (Node's default is 120 s: a peer that opens and stalls holds a socket);
 * - client certificates: one the store CA signed names its user by its subject CN; one it did not
 *   sign (or revoked in `crl`, or without a single CN) is refused before MQTT starts.
 * Failures are the peer's: counted, logged at a bounded rate, never thrown.
 */
import type net from 'node:net';
import tls from 'node:tls';
import type { LogLimiter, Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { TokenBucket } from './limits.js';

export interface TlsListenerOptions {
  host: string;
  port: number;
  cert: Buffer;
  key: Buffer;
  /** The store CA: client certificates are requested (and verified against it) only when given. */
  ca?: Buffer;
  crl?: Buffer;
  requireClientCert: boolean;
  connectRate: { perSecond: number; burst: number };
  now: () => number;
  metrics: Metrics;
  log: Logger;
  limiter: LogLimiter;
  /** A connection whose handshake is done; `certName` is the verified certificate's CN, if any. */
  onSecure: (socket: tls.TLSSocket, certName: string | undefined) => void;
}

export async function listenTls(o: TlsListenerOptions): Promise<tls.Server> {
  const server = tls.createServer(
    {
      cert: o.cert,
      key: o.key,
      ca: o.ca,
      crl: o.crl,
      requestCert: o.ca !== undefined,
      rejectUnauthorized: o.requireClientCert,
      minVersion: 'TLSv1.2',
      handshakeTimeout: 10_000,
      noDelay: true,
    },
    (socket) => secured(o, socket),
  );
  const handshakes = new TokenBucket(o.connectRate.perSecond, o.connectRate.burst, o.now);
  server.on('connection', (raw: net.Socket) => {
    const address = raw.remoteAddress ?? 'unknown';
    if (handshakes.take(address)) return;
    o.metrics.connects.labels('rate_limited').inc();
    if (o.limiter.take(`rate/${address}`) >= 0) o.log.warn({ address }, 'TLS connection refused: too many connects from this address');
    raw.destroy();
  });
  // Plain TCP on this port, a wrong CA, no certificate when one is required, a stalled handshake.
  server.on('tlsClientError', (err, socket) => {
    o.metrics.protocolErrors.labels('tls_handshake').inc();
    const address = socket.remoteAddress ?? 'unknown';
    if (o.limiter.take(`tls/${address}`) >= 0) o.log.warn({ address, reason: err.message }, 'TLS handshake failed');
    socket.destroy();
  });
  server.on('error', (err) => o.log.error({ err }, 'MQTT TLS listener error'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

function secured(o: TlsListenerOptions, socket: tls.TLSSocket): void {
  const peer = socket.getPeerCertificate();
  if (!peer || Object.keys(peer).length === 0) return o.onSecure(socket, undefined);
  const cn = peer.subject?.CN;
  if (socket.authorized && typeof cn === 'string') return o.onSecure(socket, cn);
  o.metrics.protocolErrors.labels('tls_bad_cert').inc();
  const address = socket.remoteAddress ?? 'unknown';
  if (o.limiter.take(`tlscert/${address}`) >= 0) o.log.warn({ address, reason: socket.authorizationError ?? 'no single subject CN' }, 'client certificate refused');
  socket.destroy();
}
