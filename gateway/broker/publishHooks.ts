/**
 * The broker's PUBLISH and SUBSCRIBE hooks (broker.ts hands them to aedes as `authorizePublish`
 * and `authorizeSubscribe`): the ACL (acl.ts) first, then what each channel of a device topic
 * means: an event goes to ingest, which acknowledges it only once committed, a birth or a state
 * is checked and noted in the registry, and anything refused is quarantined, answered on `rej`
 * and counted. Imports aedes' types only.
 */
import type { Client, PublishPacket, Subscription } from 'aedes';
import type { ErrorCode } from '../errors.js';
import { LogLimiter, type Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { DeviceRegistry, DeviceEntry } from '../devices/registry.js';
import type { Ingest, RejectNotice } from '../ingest/ingest.js';
import { isGatewayRecord } from '../protocol/gatewayRecords.js';
import type { DeviceKind } from '../protocol/topics.js';
import { checkBirth } from '../protocol/validate.js';
import { canPublish, canSubscribe, type Identity } from './acl.js';
import type { ClientBook } from './connectHooks.js';

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

/** Where a rejected event goes instead of its topic: `$` topics are never matched by `#` [MQTT-4.7.2-1]. */
const QUARANTINE = '$storegw/rejected';

const REFUSED_QOS2 = 'QoS 2 is not served: publish with QoS 0 or 1';

export interface PublishHooksOptions {
  registry: DeviceRegistry;
  ingest: Ingest;
  metrics: Metrics;
  log: Logger;
  /** The broker's limiter of lines peers can trigger (shared, so its caps hold over every hook). */
  limiter: LogLimiter;
  now: () => number;
  book: ClientBook;
  maxInflightPerClient: number;
  /** Publishes a reject notice on the device's `rej` topic. */
  sendReject: (kind: DeviceKind, deviceId: string, notice: RejectNotice) => void;
  onGatewayRecord?: (r: GatewayRecordAttempt) => void;
}

export class PublishHooks {
  /** One alert per credential and record type a minute: a forging loop must not fill the outbox with alerts. */
  private readonly recordAlerts: LogLimiter;

  constructor(private readonly o: PublishHooksOptions) {
    this.recordAlerts = new LogLimiter(o.now, 1, 60_000);
  }

  private deny(client: Client | null, action: 'publish' | 'subscribe', topic: string, reason: string): Error {
    this.o.metrics.aclDenied.labels(action).inc();
    const id = client ? this.o.book.identities.get(client) : undefined;
    if (this.o.limiter.take(`acl/${id?.username ?? 'anon'}/${action}`) >= 0) {
      this.o.log.warn({ username: id?.username, clientId: client?.id, action, topic, reason }, `${action} refused by ACL`);
    }
    return new Error(reason);
  }

  authorizePublish(client: Client | null, packet: PublishPacket, cb: (err?: Error | null) => void): void {
    if (!client) return cb(null); // a stored Last Will published by aedes itself
    const id = this.o.book.identities.get(client);
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
        const conn = packet.qos === 1 ? this.o.book.conns.get(client) : undefined;
        if (conn && ++conn.inflight > this.o.maxInflightPerClient) {
          conn.inflight--;
          return cb(this.refuse(client, id, 'inflight', packet.topic, `more than ${this.o.maxInflightPerClient} QoS 1 events waiting for their PUBACK (mqtt.maxInflightPerClient)`));
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
          this.o.sendReject(t.kind, t.deviceId, { topic: packet.topic, reason: b.reason, code: 'SGW_ERR_SCHEMA', seq: null });
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
          this.o.sendReject(t.kind, t.deviceId, { topic: packet.topic, reason, code: 'SGW_ERR_SCHEMA', seq: null });
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
    if (this.o.limiter.take(`refused/${id.username}/${reason}`) >= 0) this.o.log.warn({ username: id.username, clientId: client.id, topic, reason, message }, 'publish refused; connection closed');
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
    this.o.sendReject(device.kind, device.id, { topic, reason, code, seq: null });
    packet.topic = QUARANTINE;
    const suppressed = this.recordAlerts.take(`${id.username}/${device.kind}/${device.id}/${type}`);
    if (suppressed < 0) return;
    this.o.log.warn({ username: id.username, deviceId: device.id, kind: device.kind, type, topic, suppressed }, 'a device wrote a record type only the gateway writes; refused');
    this.o.onGatewayRecord?.({ username: id.username, kind: device.kind, deviceId: device.id, type, topic, bytes, suppressed });
  }

  authorizeSubscribe(client: Client, sub: Subscription, cb: (err: Error | null, sub?: Subscription | null) => void): void {
    const id = this.o.book.identities.get(client);
    const acl: { ok: boolean; reason?: string } = id ? canSubscribe(id, sub.topic) : { ok: false, reason: 'not authenticated' };
    if (!acl.ok) {
      // [MQTT-3.9.3] a refused filter gets return code 0x80 in the SUBACK; the connection stays.
      this.deny(client, 'subscribe', sub.topic, acl.reason ?? 'refused');
      return cb(null, null);
    }
    cb(null, sub);
  }
}
