/**
 * The store's MQTT broker: aedes with policy injected as hooks (the only file that loads aedes; the
 * hooks are in connectHooks.ts and publishHooks.ts, which import its types only).
 * TCP with TCP_NODELAY (aedes and mqtt.js leave Nagle on; a PUBACK would wait ~40 ms for a delayed
 * ACK) and TCP keepalive, a frame guard, a per-address connect rate limit and a total connection
 * cap in front, and MQTT over WebSocket on the HTTP port through `admit` + `handleStream` behind
 * the same gate and guard.
 */
import net from 'node:net';
import type tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { Aedes, type Client, type AedesPublishPacket, type PublishPacket } from 'aedes';
import type { Logger } from '../log.js';
import { LogLimiter } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { DeviceRegistry, DeviceEntry } from '../devices/registry.js';
import type { Ingest, RejectNotice } from '../ingest/ingest.js';
import { topics, type DeviceKind } from '../protocol/topics.js';
import type { Identity } from './acl.js';
import type { Authenticator } from './auth.js';
import { ConnectHooks, type ClientBook } from './connectHooks.js';
import { PublishHooks, type GatewayRecordAttempt } from './publishHooks.js';
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

export type { GatewayRecordAttempt };

function noop(): void {}

/** Probes TCP keepalive from here after this much idle time: a device that lost power is found even when it set keepalive 0. */
const TCP_KEEPALIVE_MS = 60_000;

export class Broker {
  private aedes!: Aedes;
  private server: net.Server | null = null;
  private readonly identities = new WeakMap<Client, Identity>();
  private readonly connectHooks: ConnectHooks;
  private readonly publishHooks: PublishHooks;
  private readonly sockets = new Set<Duplex>();
  private readonly gate: ConnectionGate;
  private readonly guard: SocketGuard;
  /** A 'close' listener shared by every connection (one closure per socket is heap per idle client). */
  private readonly forget: (this: Duplex) => void;
  private readonly limiter: LogLimiter;
  private readonly log: Logger;
  private boundPort = 0;
  /** MQTT over TLS (`listenTls`). */
  private tlsServer: tls.Server | null = null;

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
    const book: ClientBook = { identities: this.identities, conns: new WeakMap() };
    const shared = { registry: o.registry, metrics: o.metrics, log: this.log, limiter: this.limiter, now: o.now, book };
    this.connectHooks = new ConnectHooks({ ...shared, auth: o.auth, maxKeepaliveS: o.sessions.maxKeepaliveS, maxConnectionsPerCredential: o.sessions.maxConnectionsPerCredential, clientIdHoldS: o.sessions.clientIdHoldS });
    this.publishHooks = new PublishHooks({
      ...shared,
      ingest: o.ingest,
      maxInflightPerClient: o.sessions.maxInflightPerClient,
      sendReject: (kind, deviceId, notice) => this.sendReject(kind, deviceId, notice),
      ...(o.onGatewayRecord ? { onGatewayRecord: o.onGatewayRecord } : {}),
    });
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
      preConnect: (client, packet, cb) => this.connectHooks.preConnect(client, packet, cb),
      authenticate: (client, username, password, cb) => this.connectHooks.authenticate(client, username, password, cb),
      authorizePublish: (client, packet, cb) => this.publishHooks.authorizePublish(client, packet, cb),
      authorizeSubscribe: (client, sub, cb) => this.publishHooks.authorizeSubscribe(client, sub, cb),
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
        if (certName !== undefined) this.connectHooks.noteCertificate(socket, certName);
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
