/**
 * The store's MQTT broker: aedes with policy injected as hooks (the only file that imports aedes).
 * TCP with TCP_NODELAY (aedes and mqtt.js leave Nagle on; a PUBACK would wait ~40 ms for a delayed
 * ACK) and TCP keepalive, a frame guard, a per-address connect rate limit and a total connection
 * cap in front, and MQTT over WebSocket on the HTTP port through `admit` + `handleStream` behind
 * the same gate and guard.
 */
import net from 'node:net';
import type tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { Aedes, type Client, type AedesPublishPacket, type ConnectPacket, type PublishPacket, type Subscription } from 'aedes';
import type { ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { LogLimiter } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { DeviceRegistry, DeviceEntry } from '../devices/registry.js';
import type { Ingest, RejectNotice } from '../ingest/ingest.js';
import { isGatewayRecord } from '../protocol/gatewayRecords.js';
import { topics, type DeviceKind } from '../protocol/topics.js';
import { checkBirth } from '../protocol/validate.js';
import { canPublish, canSubscribe, type Identity } from './acl.js';
import type { Authenticator, AuthResult } from './auth.js';
import { checkConnectFlags, ClientIdBook, type ConnectFlags, type ConnectRefusal } from './sessionPolicy.js';
import { ConnectionGate, SocketGuard, type Admission, type FrameViolation, type GuardedStream } from './limits.js';
import { guardedEmitter } from './mqGuard.js';
import { listenTls } from './tlsListener.js';

export interface BrokerOptions {
  host: string;
  port: number;
  maxPacketBytes: number;
  drainTimeoutMs: number;
  connectRate: { perSecond: number; burst: number };
  /** Most connections at once, TCP and WebSocket together. */
  maxConnections: number;
  /** Log lines of one kind that peers can trigger per minute, all peers together. */
  peerLogLinesPerMinute: number;
  auth: Authenticator;
  registry: DeviceRegistry;
  ingest: Ingest;
  metrics: Metrics;
  log: Logger;
  now: () => number;
  /** A directly connected device subscribed (its SUBACK is on the way): it listens for commands now. */
  onDeviceSubscribed?: (kind: DeviceKind, id: string) => void;
  /** Session bounds (config `mqtt.*`, sessionPolicy.ts). */
  sessions: { maxKeepaliveS: number; maxConnectionsPerCredential: number; maxInflightPerClient: number; clientIdHoldS: number };
  /** A credential tried to write a record type only the gateway writes (rate-limited per credential and type). */
  onGatewayRecord?: (r: GatewayRecordAttempt) => void;
}

export interface GatewayRecordAttempt {
  username: string;
  kind: DeviceKind;
  deviceId: string;
  type: string;
  topic: string;
  bytes: number;
  /** Attempts of this credential and type not reported since the last report. */
  suppressed: number;
}

/** One connection's session state: its CONNECT flags, the client id it is bound to, events in flight. */
interface Conn extends ConnectFlags {
  boundId: string | null;
  inflight: number;
}

/** Where a rejected event goes instead of its topic: `$` topics are never matched by `#` [MQTT-4.7.2-1]. */
const QUARANTINE = '$storegw/rejected';

const REFUSED_QOS2 = 'QoS 2 is not served: publish with QoS 0 or 1';

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

function noop(): void {}

/** Probes TCP keepalive from here after this much idle time: a device that lost power is found even when it set keepalive 0. */
const TCP_KEEPALIVE_MS = 60_000;

export class Broker {
  private aedes!: Aedes;
  private server: net.Server | null = null;
  private readonly identities = new WeakMap<Client, Identity>();
  private readonly conns = new WeakMap<Client, Conn>();
  private readonly clientIds: ClientIdBook;
  /** Releases a connection's client id when its stream closes; shared by every connection like `forget`. */
  private readonly unbind: (this: Duplex) => void;
  /** One alert per credential and record type a minute: a forging loop must not fill the outbox with alerts. */
  private readonly recordAlerts: LogLimiter;
  private readonly sockets = new Set<Duplex>();
  private readonly gate: ConnectionGate;
  private readonly guard: SocketGuard;
  /** A 'close' listener shared by every connection (one closure per socket is heap per idle client). */
  private readonly forget: (this: Duplex) => void;
  private readonly limiter: LogLimiter;
  private readonly log: Logger;
  private boundPort = 0;
  /** MQTT over TLS (`listenTls`): its server, and the username each verified client certificate names. */
  private tlsServer: tls.Server | null = null;
  private readonly certNames = new WeakMap<object, string>();

  constructor(private readonly o: BrokerOptions) {
    this.log = o.log.child({ module: 'broker' });
    this.gate = new ConnectionGate(o.connectRate, o.maxConnections, o.now);
    // Peers choose client ids, user names and (on a LAN) addresses: every kind of line is also
    // capped over all keys, then summed up in one line.
    this.limiter = new LogLimiter(o.now, 5, 10_000, {
      lines: o.peerLogLinesPerMinute,
      windowMs: 60_000,
      onSuppressed: (kind, suppressed) => {
        o.metrics.logSuppressed.labels(kind).inc(suppressed);
        this.log.warn({ kind, suppressed }, 'log lines suppressed');
      },
    });
    this.guard = new SocketGuard(o.maxPacketBytes, (v, stream) => this.violation(v, stream));
    const sockets = this.sockets;
    this.forget = function forget(this: Duplex) {
      sockets.delete(this);
    };
    this.clientIds = new ClientIdBook({ holdMs: o.sessions.clientIdHoldS * 1000, maxPerCredential: o.sessions.maxConnectionsPerCredential, now: o.now });
    this.recordAlerts = new LogLimiter(o.now, 1, 60_000);
    const conns = this.conns;
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

  get port(): number {
    return this.boundPort;
  }

  /** The bound MQTT-over-TLS port (0 when there is no TLS listener). */
  get tlsPort(): number {
    const a = this.tlsServer?.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  get connectedClients(): number {
    return this.aedes?.connectedClients ?? 0;
  }

  async start(): Promise<void> {
    this.aedes = await Aedes.createBroker({
      mq: guardedEmitter({ concurrency: 100 }),
      connectTimeout: 10_000,
      drainTimeout: this.o.drainTimeoutMs,
      heartbeatInterval: 60_000,
      preConnect: (client, packet, cb) => this.preConnect(client, packet, cb),
      authenticate: (client, username, password, cb) => this.authenticate(client, username, password, cb),
      authorizePublish: (client, packet, cb) => this.authorizePublish(client, packet, cb),
      authorizeSubscribe: (client, sub, cb) => this.authorizeSubscribe(client, sub, cb),
    });
    this.wireEvents();
    this.o.metrics.probes.connections = () => this.aedes.connectedClients;
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.o.port, this.o.host, () => resolve());
    });
    // Permanent from here on: an 'error' without a listener kills the process, and `accept EMFILE`
    // (descriptors exhausted) is one; the server keeps listening after it.
    this.server.removeAllListeners('error');
    this.server.on('error', (err: NodeJS.ErrnoException) => this.listenerError('mqtt', err));
    this.boundPort = (this.server.address() as net.AddressInfo).port;
    this.log.info({ host: this.o.host, port: this.boundPort }, 'MQTT listening');
  }

  async stop(): Promise<void> {
    if (this.server) {
      const s = this.server;
      this.server = null;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        for (const c of this.sockets) c.destroy();
      });
    }
    if (this.aedes) await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
  }

  /** A listening server's error (MQTT here, HTTP through the server): counted, logged within bounds. */
  listenerError(listener: string, err: NodeJS.ErrnoException): void {
    this.o.metrics.listenerErrors.labels(listener, err.code ?? 'unknown').inc();
    if (this.limiter.take(`listenerError/${listener}/${err.code}`) >= 0) this.log.error({ listener, code: err.code, err: err.message }, 'listener error; still listening');
  }

  /**
   * The gate every connection passes, TCP or WebSocket: the per-address connect rate, then the
   * total cap. Counted and logged (bounded) when refused.
   */
  admit(address: string): Admission {
    const a = this.gate.admit(address, this.sockets.size);
    if (a === 'ok') return a;
    this.o.metrics.connects.labels(a).inc();
    if (a === 'rate_limited') {
      if (this.limiter.take(`rate/${address}`) >= 0) this.log.warn({ address }, 'connection refused: too many connects from this address');
    } else if (this.limiter.take('full') >= 0) this.log.warn({ address, open: this.sockets.size, maxConnections: this.o.maxConnections }, 'connection refused: mqtt.maxConnections reached');
    return a;
  }

  private accept(socket: net.Socket): void {
    socket.on('error', noop);
    if (this.admit(socket.remoteAddress ?? 'unknown') !== 'ok') {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    socket.setKeepAlive(true, TCP_KEEPALIVE_MS);
    // aedes reads and writes the socket itself; the guard sits on its read path (limits.ts).
    this.guard.install(socket);
    this.track(socket);
    this.aedes.handle(socket);
  }

  /**
   * MQTT over TLS beside the plain listener (call after `start`; tlsListener.ts): connections whose
   * handshake is done enter through `accept`, like TCP. A client certificate the store CA signed
   * names its user (subject CN = the MQTT username; see `credentials`).
   */
  async listenTls(o: { host: string; port: number; cert: Buffer; key: Buffer; ca?: Buffer; crl?: Buffer; requireClientCert: boolean }): Promise<void> {
    this.tlsServer = await listenTls({
      ...o,
      connectRate: this.o.connectRate,
      now: this.o.now,
      metrics: this.o.metrics,
      log: this.log,
      limiter: this.limiter,
      onSecure: (socket, certName) => {
        if (certName !== undefined) this.certNames.set(socket, certName);
        this.accept(socket);
      },
    });
    // The same permanent listener and total cap as the plain listener (a TLS socket counts in
    // `sockets` only once its handshake is done, so the server's own cap bounds handshakes too).
    this.tlsServer.removeAllListeners('error');
    this.tlsServer.on('error', (err: NodeJS.ErrnoException) => this.listenerError('mqtts', err));
    this.tlsServer.maxConnections = this.o.maxConnections;
    this.log.info({ host: o.host, port: this.tlsPort, clientCerts: o.ca ? (o.requireClientCert ? 'required' : 'optional') : 'off' }, 'MQTT over TLS listening');
  }

  /** Stops accepting TLS connections; the open ones go with `stop()`. */
  async closeTls(): Promise<void> {
    this.tlsServer?.close();
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

  private track(stream: Duplex): void {
    this.sockets.add(stream);
    stream.on('close', this.forget);
  }

  /**
   * MQTT over WebSocket (the HTTP port's /mqtt), after `admit` let its upgrade through. The frame
   * guard sees each message's bytes before aedes: the WebSocket's maxPayload bounds one message,
   * not one MQTT packet spread over many messages.
   */
  handleStream(stream: Duplex, address: string): void {
    const s = stream as GuardedStream;
    s.on('error', noop);
    if (this.gate.full(this.sockets.size)) {
      // Upgrades admitted at the same moment: the cap holds for the streams themselves too.
      this.o.metrics.connects.labels('too_many_connections').inc();
      s.destroy();
      return;
    }
    s.remoteAddress = address;
    this.guard.install(s);
    this.track(s);
    this.aedes.handle(s);
  }

  private violation(v: FrameViolation, socket: GuardedStream): void {
    this.o.metrics.protocolErrors.labels(v.code).inc();
    const address = socket.remoteAddress ?? 'unknown';
    // aedes links its Client to the connection as `conn.client` (untyped in its .d.ts).
    const client = (socket as unknown as { client?: Client }).client;
    const clientId = client?.id ?? null;
    const identity = client ? this.identities.get(client) : undefined;
    if (this.limiter.take(`violation/${address}/${v.code}`) >= 0) {
      this.log.warn({ address, clientId, deviceId: identity?.type === 'device' ? identity.deviceId : undefined, code: v.code, reason: v.reason }, 'connection dropped');
    }
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
  private preConnect(client: Client, packet: ConnectPacket, cb: (err: Error | null, ok: boolean) => void): void {
    const clientId = typeof packet.clientId === 'string' ? packet.clientId : '';
    this.conns.set(client, { emptyClientId: clientId.length === 0, askedClean: packet.clean !== false, keepalive: packet.keepalive ?? 0, boundId: null, inflight: 0 });
    packet.clean = true;
    (client as unknown as { _parser?: { prependListener(e: 'packet', fn: typeof grantAtMostQos1): void } })._parser?.prependListener('packet', grantAtMostQos1);
    cb(null, true);
  }

  private refuseConnect(client: Client, username: string | undefined, r: ConnectRefusal): AuthError {
    this.o.metrics.connects.labels(r.result).inc();
    const address = this.addressOf(client);
    if (this.limiter.take(`connect/${r.result}/${username ?? address}`) >= 0) this.log.warn({ username, address, clientId: client.id, result: r.result, reason: r.reason }, 'connection refused');
    return new AuthError(r.reason, r.code);
  }

  private authenticate(client: Client, username: string | undefined, password: Buffer | undefined, cb: (err: AuthError | null, ok: boolean) => void): void {
    const conn = this.conns.get(client);
    // [MQTT-3.1.3-8] and keep-alive: refused before any password is hashed.
    const flags = conn ? checkConnectFlags(conn, this.o.sessions.maxKeepaliveS) : null;
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
          this.identities.set(client, res.identity);
          this.o.metrics.connects.labels('ok').inc();
          cb(null, true);
          return;
        }
        this.o.metrics.connects.labels(res.result).inc();
        const address = this.addressOf(client);
        if (res.result === 'unknown_user' && username) this.o.registry.noteRefused(username, address, res.reason);
        if (this.limiter.take(`auth/${username ?? address}`) >= 0) this.log.warn({ username, address, result: res.result, reason: res.reason }, 'connection refused');
        // [MQTT-3.2.2-6] CONNACK 3 = server unavailable (no slot for a costly hash now), 4 = bad user name or password, 5 = not authorized
        cb(new AuthError(res.reason, res.result === 'bad_credentials' || res.result === 'no_credentials' ? 4 : res.result === 'busy' ? 3 : 5), false);
      },
      (err: Error) => {
        this.log.error({ err }, 'authentication failed internally');
        cb(new AuthError('internal error', 3), false);
      },
    );
  }

  private addressOf(client: Client): string {
    const conn = (client as unknown as { conn?: { remoteAddress?: string } }).conn;
    return conn?.remoteAddress ?? 'unknown';
  }

  private deny(client: Client | null, action: 'publish' | 'subscribe', topic: string, reason: string): Error {
    this.o.metrics.aclDenied.labels(action).inc();
    const id = client ? this.identities.get(client) : undefined;
    if (this.limiter.take(`acl/${id?.username ?? 'anon'}/${action}`) >= 0) {
      this.log.warn({ username: id?.username, clientId: client?.id, action, topic, reason }, `${action} refused by ACL`);
    }
    return new Error(reason);
  }

  private authorizePublish(client: Client | null, packet: PublishPacket, cb: (err?: Error | null) => void): void {
    if (!client) return cb(null); // a stored Last Will published by aedes itself
    const id = this.identities.get(client);
    if (!id) return cb(this.deny(client, 'publish', packet.topic, 'not authenticated'));
    // QoS 2 would keep per-client state until PUBREL; 3.1.1 cannot downgrade an inbound publish, so
    // the connection closes (before aedes stores the packet or sends PUBREC).
    if (packet.qos === 2) return cb(this.refuse(client, id, 'qos2', packet.topic, REFUSED_QOS2));
    const acl = canPublish(id, packet.topic, packet.retain);
    // [MQTT-3.3.5-2] MQTT 3.1.1 has no negative PUBACK: a forbidden publish closes the connection.
    if (!acl.ok) {
      if (acl.refused) this.o.metrics.mqttRefused.labels(acl.refused).inc();
      return cb(this.deny(client, 'publish', packet.topic, acl.reason));
    }
    if (id.type === 'service' || !acl.topic) return cb(null);
    const t = acl.topic;
    const device = this.o.registry.get(t.kind, t.deviceId);
    if (!device) return cb(this.deny(client, 'publish', packet.topic, `${t.kind}/${t.deviceId} is not provisioned`));
    const via = id.type === 'bridge' ? 'bridge' : 'direct';
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);

    switch (t.channel) {
      case 'evt': {
        if (packet.retain) packet.retain = false; // events are never retained
        if (isGatewayRecord(t.kind, t.deviceId, t.type)) {
          this.gatewayRecord(id, device, t.type, packet, payload.length);
          return cb(null);
        }
        // In flight = QoS 1 events sent and not yet PUBACKed [MQTT-4.4]. aedes parses a whole socket
        // read at once, so a client pipelining thousands of them holds that many commits in memory.
        const conn = packet.qos === 1 ? this.conns.get(client) : undefined;
        if (conn && ++conn.inflight > this.o.sessions.maxInflightPerClient) {
          conn.inflight--;
          return cb(this.refuse(client, id, 'inflight', packet.topic, `more than ${this.o.sessions.maxInflightPerClient} QoS 1 events waiting for their PUBACK (mqtt.maxInflightPerClient)`));
        }
        if (!device.online) this.o.registry.setOnline(device, true, via);
        this.o.ingest.handle(device, t.type, packet.topic, payload, (err, rejected) => {
          if (conn) conn.inflight--;
          if (err) return cb(err);
          if (rejected) packet.topic = QUARANTINE;
          cb(null);
        });
        return;
      }
      case 'birth': {
        const b = checkBirth(payload);
        if (!b.ok) {
          this.sendReject(t.kind, t.deviceId, { topic: packet.topic, reason: b.reason, code: 'SGW_ERR_SCHEMA', seq: null });
          this.o.registry.noteReject(device, 'SGW_ERR_SCHEMA', b.reason);
          packet.topic = QUARANTINE;
          packet.retain = false;
          return cb(null);
        }
        this.o.registry.noteBirth(device, b.data);
        return cb(null);
      }
      case 'state': {
        const s = payload.toString('utf8').trim();
        if (s !== 'online' && s !== 'offline') {
          const reason = 'state: must be "online" or "offline"';
          this.sendReject(t.kind, t.deviceId, { topic: packet.topic, reason, code: 'SGW_ERR_SCHEMA', seq: null });
          this.o.registry.noteReject(device, 'SGW_ERR_SCHEMA', reason);
          packet.topic = QUARANTINE;
          packet.retain = false;
          return cb(null);
        }
        this.o.registry.setOnline(device, s === 'online', via);
        return cb(null);
      }
      default:
        return cb(this.deny(client, 'publish', packet.topic, `${t.channel} is not writable by devices`));
    }
  }

  /** A policy refusal that closes the connection: counted by reason, logged rate-limited. */
  private refuse(client: Client, id: Identity, reason: string, topic: string, message: string): Error {
    this.o.metrics.mqttRefused.labels(reason).inc();
    if (this.limiter.take(`refused/${id.username}/${reason}`) >= 0) this.log.warn({ username: id.username, clientId: client.id, topic, reason, message }, 'publish refused; connection closed');
    return new Error(message);
  }

  /**
   * A device or bridge wrote a record type only the gateway writes (protocol/gatewayRecords.ts):
   * acknowledged (so it is not retried forever) but never stored nor forwarded; the device hears
   * why on `rej`, ops get an alert, the metric counts every attempt.
   */
  private gatewayRecord(id: Identity, device: DeviceEntry, type: string, packet: PublishPacket, bytes: number): void {
    const topic = packet.topic;
    const code: ErrorCode = 'SGW_ERR_GATEWAY_RECORD';
    const reason = `topic.type: ${device.kind} ${type} records are written only by the gateway itself, never by a device`;
    this.o.metrics.mqttRefused.labels('gateway_record').inc();
    this.o.registry.noteReject(device, code, reason);
    this.sendReject(device.kind, device.id, { topic, reason, code, seq: null });
    packet.topic = QUARANTINE;
    const suppressed = this.recordAlerts.take(`${id.username}/${device.kind}/${device.id}/${type}`);
    if (suppressed < 0) return;
    this.log.warn({ username: id.username, deviceId: device.id, kind: device.kind, type, topic, suppressed }, 'a device wrote a record type only the gateway writes; refused');
    this.o.onGatewayRecord?.({ username: id.username, kind: device.kind, deviceId: device.id, type, topic, bytes, suppressed });
  }

  private authorizeSubscribe(client: Client, sub: Subscription, cb: (err: Error | null, sub?: Subscription | null) => void): void {
    const id = this.identities.get(client);
    const acl: { ok: boolean; reason?: string } = id ? canSubscribe(id, sub.topic) : { ok: false, reason: 'not authenticated' };
    if (!acl.ok) {
      // [MQTT-3.9.3] a refused filter gets return code 0x80 in the SUBACK; the connection stays.
      this.deny(client, 'subscribe', sub.topic, acl.reason ?? 'refused');
      return cb(null, null);
    }
    cb(null, sub);
  }

  private wireEvents(): void {
    this.aedes.on('subscribe', (_subs, client) => {
      const id = client ? this.identities.get(client) : undefined;
      if (id?.type === 'device') this.o.onDeviceSubscribed?.(id.kind, id.deviceId);
    });
    this.aedes.on('client', (client) => {
      const id = this.identities.get(client);
      if (id?.type === 'device') {
        const d = this.o.registry.get(id.kind, id.deviceId);
        if (d) this.o.registry.setOnline(d, true, 'direct');
      }
    });
    this.aedes.on('clientDisconnect', (client) => this.offline(client));
    this.aedes.on('clientError', (client, err) => {
      const id = this.identities.get(client);
      if (this.limiter.take(`clientError/${client.id}`) >= 0) this.log.info({ clientId: client.id, username: id?.username, err: err.message }, 'client error');
    });
    this.aedes.on('connectionError', (client, err) => {
      this.o.metrics.protocolErrors.labels('connection').inc();
      if (this.limiter.take('connectionError') >= 0) this.log.info({ clientId: client?.id, err: err.message }, 'connection error');
    });
  }

  /** A connection ended: its device (or every device of a bridge) is offline now. */
  private offline(client: Client): void {
    const id = this.identities.get(client);
    if (!id) return;
    const devices: DeviceEntry[] = [];
    if (id.type === 'device') {
      const d = this.o.registry.get(id.kind, id.deviceId);
      if (d) devices.push(d);
    } else if (id.type === 'bridge') {
      for (const key of id.devices) {
        const d = this.o.registry.byUsername(key);
        if (d) devices.push(d);
      }
    }
    for (const d of devices) this.o.registry.setOnline(d, false, id.type === 'bridge' ? 'bridge' : 'direct');
  }

  sendReject(kind: DeviceKind, deviceId: string, notice: RejectNotice): void {
    this.publish(topics.rej(kind, deviceId), JSON.stringify(notice), 1);
  }

  /**
   * Closes every connection authenticated as `username` (ops: a disabled device or a
   * rotated secret must not stay connected). aedes keeps its clients in `clients` by client id
   * (untyped in its .d.ts). Returns how many were closed.
   */
  disconnect(username: string): number {
    const all = (this.aedes as unknown as { clients: Record<string, Client> }).clients;
    let n = 0;
    for (const c of Object.values(all)) {
      if (this.identities.get(c)?.username !== username) continue;
      c.close();
      n++;
    }
    return n;
  }

  /** Publishes on behalf of the gateway (commands, rejects); bypasses authorizePublish. */
  publish(topic: string, payload: string | Buffer, qos: 0 | 1, retain = false): Promise<void> {
    return new Promise((resolve, reject) => {
      const packet = { cmd: 'publish', topic, payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload), qos, retain, dup: false } as PublishPacket;
      this.aedes.publish(packet, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Lets in-process components listen on the bus (e.g. kiosk sessions, the compactor). */
  subscribe(filter: string, fn: (packet: AedesPublishPacket) => void): void {
    this.aedes.subscribe(
      filter,
      (packet, cb) => {
        try {
          fn(packet);
        } finally {
          cb();
        }
      },
      () => undefined,
    );
  }
}
