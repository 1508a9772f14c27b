/**
 * The broker's CONNECT hooks (broker.ts hands them to aedes as `preConnect` and `authenticate`):
 * a CONNECT's flags are kept and checked before any password is hashed, the credentials (a
 * password, or a client certificate the store CA signed) are checked, the client id is bound to
 * its credential for as long as the connection lives, and the connection's identity is recorded
 * for the publish and subscribe hooks (publishHooks.ts). Imports aedes' types only.
 */
import type { Duplex } from 'node:stream';
import type { Client, ConnectPacket } from 'aedes';
import type { LogLimiter, Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { DeviceRegistry } from '../devices/registry.js';
import type { Identity } from './acl.js';
import type { Authenticator, AuthResult } from './auth.js';
import { checkConnectFlags, ClientIdBook, type ConnectFlags, type ConnectRefusal } from './sessionPolicy.js';

/** One connection's session state: its CONNECT flags, the client id it is bound to, events in flight. */
export interface Conn extends ConnectFlags {
  boundId: string | null;
  inflight: number;
}

/** What the hooks know of each connection, by aedes client: shared with publishHooks.ts and broker.ts. */
export interface ClientBook {
  identities: WeakMap<Client, Identity>;
  conns: WeakMap<Client, Conn>;
}

/**
 * [MQTT-3.9.3-2] a server may grant a lower QoS than a SUBSCRIBE asks: at most 1, so no QoS 2
 * delivery state is ever kept. aedes fixes the granted QoS before authorizeSubscribe runs, so the
 * request is lowered as it leaves the client's parser (aedes' `_parser`, a listener shared by
 * every connection; `this` is the parser).
 */
function grantAtMostQos1(this: unknown, packet: { cmd: string; subscriptions?: { qos: number }[] }): void {
  if (packet.cmd !== 'subscribe' || !packet.subscriptions) return;
  for (const s of packet.subscriptions) if (s.qos > 1) s.qos = 1;
}

class AuthError extends Error {
  constructor(
    message: string,
    readonly returnCode: number,
  ) {
    super(message);
  }
}

export interface ConnectHooksOptions {
  auth: Authenticator;
  registry: DeviceRegistry;
  metrics: Metrics;
  log: Logger;
  /** The broker's limiter of lines peers can trigger (shared, so its caps hold over every hook). */
  limiter: LogLimiter;
  now: () => number;
  book: ClientBook;
  maxKeepaliveS: number;
  maxConnectionsPerCredential: number;
  clientIdHoldS: number;
}

export class ConnectHooks {
  private readonly clientIds: ClientIdBook;
  /** Releases a connection's client id when its stream closes; shared by every connection (no closure per socket). */
  private readonly unbind: (this: Duplex) => void;
  /** The username each verified client certificate names, by TLS socket. */
  private readonly certNames = new WeakMap<object, string>();

  constructor(private readonly o: ConnectHooksOptions) {
    this.clientIds = new ClientIdBook({ holdMs: o.clientIdHoldS * 1000, maxPerCredential: o.maxConnectionsPerCredential, now: o.now });
    const conns = o.book.conns;
    const clientIds = this.clientIds;
    this.unbind = function unbind(this: Duplex) {
      // aedes links its Client to the connection as `conn.client` (untyped in its .d.ts).
      const client = (this as unknown as { client?: Client }).client;
      const c = client ? conns.get(client) : undefined;
      if (c?.boundId == null) return;
      clientIds.release(c.boundId);
      c.boundId = null;
    };
  }

  /** A TLS socket's client certificate, signed by the store CA, names this user. */
  noteCertificate(socket: object, username: string): void {
    this.certNames.set(socket, username);
  }

  /**
   * Password, or a verified client certificate: with a certificate the CONNECT username, if any,
   * must be the certificate's, and a password, if any, must be that user's.
   */
  private credentials(client: Client, username: string | undefined, password: Buffer | undefined): Promise<AuthResult> {
    const cert = this.certNames.get((client as unknown as { conn?: object }).conn ?? {});
    if (cert === undefined) return this.o.auth.authenticate(username, password);
    if (username && username !== cert) return Promise.resolve({ ok: false, result: 'bad_credentials', reason: `username ${username} is not the client certificate's (${cert})` });
    return password && password.length > 0 ? this.o.auth.authenticate(cert, password) : this.o.auth.authenticateCertified(cert);
  }

  /**
   * aedes has parsed a CONNECT and not acted on it yet: remember its flags, and end every session
   * with its connection.
   * The broker is no message store (gateway/README.md §Commands to devices): the command store keeps what a device must
   * get and re-sends it when the device subscribes, so a persistent session would only be
   * unbounded state in aedes' memory (queued QoS 1 messages for a client that may never return).
   * A client that asked for clean session 0 sees sessionPresent 0 on every CONNACK, which a 3.1.1
   * client must handle by subscribing again [MQTT-3.2.2-2].
   */
  preConnect(client: Client, packet: ConnectPacket, cb: (err: Error | null, ok: boolean) => void): void {
    const clientId = typeof packet.clientId === 'string' ? packet.clientId : '';
    this.o.book.conns.set(client, { emptyClientId: clientId.length === 0, askedClean: packet.clean !== false, keepalive: packet.keepalive ?? 0, boundId: null, inflight: 0 });
    packet.clean = true;
    (client as unknown as { _parser?: { prependListener(e: 'packet', fn: typeof grantAtMostQos1): void } })._parser?.prependListener('packet', grantAtMostQos1);
    cb(null, true);
  }

  private refuseConnect(client: Client, username: string | undefined, r: ConnectRefusal): AuthError {
    this.o.metrics.connects.labels(r.result).inc();
    const address = this.addressOf(client);
    if (this.o.limiter.take(`connect/${r.result}/${username ?? address}`) >= 0) this.o.log.warn({ username, address, clientId: client.id, result: r.result, reason: r.reason }, 'connection refused');
    return new AuthError(r.reason, r.code);
  }

  authenticate(client: Client, username: string | undefined, password: Buffer | undefined, cb: (err: AuthError | null, ok: boolean) => void): void {
    const conn = this.o.book.conns.get(client);
    // [MQTT-3.1.3-8] and keep-alive: refused before any password is hashed.
    const flags = conn ? checkConnectFlags(conn, this.o.maxKeepaliveS) : null;
    if (flags) return cb(this.refuseConnect(client, username, flags), false);
    this.credentials(client, username, password).then(
      (res) => {
        if (res.ok) {
          // aedes drops the answer of a client that closed meanwhile; bind nothing for it.
          if ((client as unknown as { closed?: boolean }).closed) return cb(null, false);
          // [MQTT-3.1.3-6] aedes assigned the id of a zero-length client id: unique, not the client's.
          const refused = this.clientIds.bind(client.id, res.identity.username, conn?.emptyClientId ?? false);
          if (refused) return cb(this.refuseConnect(client, username, refused), false);
          if (conn) {
            conn.boundId = client.id;
            (client as unknown as { conn: Duplex }).conn.once('close', this.unbind);
          }
          this.o.book.identities.set(client, res.identity);
          this.o.metrics.connects.labels('ok').inc();
          cb(null, true);
          return;
        }
        this.o.metrics.connects.labels(res.result).inc();
        const address = this.addressOf(client);
        if (res.result === 'unknown_user' && username) this.o.registry.noteRefused(username, address, res.reason);
        if (this.o.limiter.take(`auth/${username ?? address}`) >= 0) this.o.log.warn({ username, address, result: res.result, reason: res.reason }, 'connection refused');
        // [MQTT-3.2.2-6] CONNACK 3 = server unavailable (no slot for a costly hash now), 4 = bad user name or password, 5 = not authorized
        cb(new AuthError(res.reason, res.result === 'bad_credentials' || res.result === 'no_credentials' ? 4 : res.result === 'busy' ? 3 : 5), false);
      },
      (err: Error) => {
        this.o.log.error({ err }, 'authentication failed internally');
        cb(new AuthError('internal error', 3), false);
      },
    );
  }

  private addressOf(client: Client): string {
    const conn = (client as unknown as { conn?: { remoteAddress?: string } }).conn;
    return conn?.remoteAddress ?? 'unknown';
  }
}
