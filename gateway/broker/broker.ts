/**
 * The store's MQTT broker: aedes with policy injected as hooks (the only file that imports aedes).
 * TCP with TCP_NODELAY (aedes and mqtt.js leave Nagle on; a PUBACK would wait ~40 ms for a delayed
 * ACK), a frame guard and a per-address connect rate limit in front, and MQTT over WebSocket on the
 * HTTP port through `handleStream`.
 */
import net from 'node:net';
import type tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { Aedes, type Client, type AedesPublishPacket, type PublishPacket, type Subscription } from 'aedes';
import type { Logger } from '../log.js';
import { LogLimiter } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { DeviceRegistry, DeviceEntry } from '../devices/registry.js';
import type { Ingest, RejectNotice } from '../ingest/ingest.js';
import { topics, type DeviceKind } from '../protocol/topics.js';
import { checkBirth } from '../protocol/validate.js';
import { canPublish, canSubscribe, type Identity } from './acl.js';
import type { Authenticator, AuthResult } from './auth.js';
import { SocketGuard, TokenBucket, type FrameViolation } from './limits.js';
import { guardedEmitter } from './mqGuard.js';
import { listenTls } from './tlsListener.js';

export interface BrokerOptions {
  host: string;
  port: number;
  maxPacketBytes: number;
  drainTimeoutMs: number;
  connectRate: { perSecond: number; burst: number };
  auth: Authenticator;
  registry: DeviceRegistry;
  ingest: Ingest;
  metrics: Metrics;
  log: Logger;
  now: () => number;
  /** A directly connected device subscribed (its SUBACK is on the way): it listens for commands now. */
  onDeviceSubscribed?: (kind: DeviceKind, id: string) => void;
}

/** Where a rejected event goes instead of its topic: `$` topics are never matched by `#` [MQTT-4.7.2-1]. */
const QUARANTINE = '$storegw/rejected';

class AuthError extends Error {
  constructor(
    message: string,
    readonly returnCode: number,
  ) {
    super(message);
  }
}

function noop(): void {}

export class Broker {
  private aedes!: Aedes;
  private server: net.Server | null = null;
  private readonly identities = new WeakMap<Client, Identity>();
  private readonly sockets = new Set<Duplex>();
  private readonly bucket: TokenBucket;
  private readonly guard: SocketGuard;
  /** A 'close' listener shared by every connection (one closure per socket is heap per idle client, issue 3). */
  private readonly forget: (this: Duplex) => void;
  private readonly limiter: LogLimiter;
  private readonly log: Logger;
  private boundPort = 0;
  /** MQTT over TLS (`listenTls`): its server, and the username each verified client certificate names. */
  private tlsServer: tls.Server | null = null;
  private readonly certNames = new WeakMap<object, string>();

  constructor(private readonly o: BrokerOptions) {
    this.log = o.log.child({ module: 'broker' });
    this.bucket = new TokenBucket(o.connectRate.perSecond, o.connectRate.burst, o.now);
    this.limiter = new LogLimiter(o.now);
    this.guard = new SocketGuard(o.maxPacketBytes, (v, socket) => this.violation(v, socket));
    const sockets = this.sockets;
    this.forget = function forget(this: Duplex) {
      sockets.delete(this);
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

  private accept(socket: net.Socket): void {
    const address = socket.remoteAddress ?? 'unknown';
    if (!this.bucket.take(address)) {
      this.o.metrics.connects.labels('rate_limited').inc();
      if (this.limiter.take(`rate/${address}`) >= 0) this.log.warn({ address }, 'connection refused: too many connects from this address');
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    // aedes reads and writes the socket itself; the guard sits on its read path (limits.ts).
    this.guard.install(socket);
    socket.on('error', noop);
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

  /** MQTT over WebSocket (the HTTP port's /mqtt); the WebSocket's own maxPayload bounds packets. */
  handleStream(stream: Duplex): void {
    this.track(stream);
    this.aedes.handle(stream);
  }

  private violation(v: FrameViolation, socket: net.Socket): void {
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

  private authenticate(client: Client, username: string | undefined, password: Buffer | undefined, cb: (err: AuthError | null, ok: boolean) => void): void {
    this.credentials(client, username, password).then(
      (res) => {
        if (res.ok) {
          this.identities.set(client, res.identity);
          this.o.metrics.connects.labels('ok').inc();
          cb(null, true);
          return;
        }
        this.o.metrics.connects.labels(res.result).inc();
        const address = this.addressOf(client);
        if (res.result === 'unknown_user' && username) this.o.registry.noteRefused(username, address, res.reason);
        if (this.limiter.take(`auth/${username ?? address}`) >= 0) this.log.warn({ username, address, result: res.result, reason: res.reason }, 'connection refused');
        // [MQTT-3.2.2-6] CONNACK 4 = bad user name or password, 5 = not authorized
        cb(new AuthError(res.reason, res.result === 'bad_credentials' || res.result === 'no_credentials' ? 4 : 5), false);
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
    const acl = canPublish(id, packet.topic);
    // [MQTT-3.3.5-2] MQTT 3.1.1 has no negative PUBACK: a forbidden publish closes the connection.
    if (!acl.ok) return cb(this.deny(client, 'publish', packet.topic, acl.reason));
    if (id.type === 'service' || !acl.topic) return cb(null);
    const t = acl.topic;
    const device = this.o.registry.get(t.kind, t.deviceId);
    if (!device) return cb(this.deny(client, 'publish', packet.topic, `${t.kind}/${t.deviceId} is not provisioned`));
    const via = id.type === 'bridge' ? 'bridge' : 'direct';
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);

    switch (t.channel) {
      case 'evt':
        if (packet.retain) packet.retain = false; // events are never retained
        if (!device.online) this.o.registry.setOnline(device, true, via);
        this.o.ingest.handle(device, t.type, packet.topic, payload, (err, rejected) => {
          if (err) return cb(err);
          if (rejected) packet.topic = QUARANTINE;
          cb(null);
        });
        return;
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
   * Closes every connection authenticated as `username` (ops, issue 8: a disabled device or a
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
