/**
 * The bridge: one MQTT connection to the gateway with the bridge's one credential (`bridge/{id}`),
 * acting for every device driver it is given (gateway/README.md §Trust: the gateway lets a bridge write only
 * under the devices its config lists with `bridge: {id}`).
 *
 * Per device: retained `birth` and retained `state` online/offline; each driver event validated
 * with the gateway's own `checkEvent` and sent on `evt/{type}` QoS 1 (a payload that fails is a
 * driver bug: logged and counted, never sent); `cmd/#` runs `driver.command` and is answered on
 * `evt/ack {cmdId, ok, error?}`. A port that vanished makes that device `state offline` while the
 * others keep running; the driver reopens it and the device comes back `online`. A driver whose
 * start() fails is retried with backoff. Nothing is ever published for a device the gateway does
 * not let this bridge act for (learnt from the SUBACK of its `cmd/#`): such a publish would close
 * the one connection every device shares.
 *
 * Offline signalling: an MQTT connection has one Last Will, and it can only name one topic, so it
 * cannot say "offline" for every device of the bridge. No Will is set. Instead:
 *  - the gateway marks every device of a bridge offline when the bridge's connection ends (its
 *    broker knows which devices the bridge acts for) — the registry is the source of truth;
 *  - on a clean stop the bridge itself publishes retained `offline` for each device first;
 *  - after a crash, the retained `state` a third-party subscriber sees may still say `online`
 *    until the bridge reconnects and publishes the current state of every device.
 *
 * Check-ins: a device the bridge holds open gets an `evt/heartbeat` every `heartbeatMs` (30 s), so
 * the gateway does not list as stale one that simply has nothing to say: a light tower, an idle
 * scanner. A device whose port is gone sends none.
 */
import type { Logger } from 'pino';
import mqtt, { type MqttClient } from 'mqtt';
import { parseDeviceTopic, topics } from '../gateway/protocol/topics.js';
import { checkEvent } from '../gateway/protocol/validate.js';
import { isoTs, type DeviceEvent } from './devices/deviceDriver.js';
import { RecentCommands, ackData, parseCommand } from './commandLog.js';
import { DEFAULT_BACKOFF, backoffDelay, type BackoffOptions } from './devices/serialLink.js';
import type { DeviceCounters } from './deviceCounters.js';
import type { BridgeOptions, DeviceEntry as Entry } from './bridgeOptions.js';

export type { DeviceCounters } from './deviceCounters.js';
export type { BridgeOptions } from './bridgeOptions.js';

const LOG_EVERY_MS = 10_000;
const DEFAULT_HEARTBEAT_MS = 30_000;
const STOP_GRACE_MS = 2000;

function withTimeout(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p.then(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]).finally(() => clearTimeout(timer));
}

export class Bridge {
  private client: MqttClient | null = null;
  private readonly entries = new Map<string, Entry>();
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly backoff: BackoffOptions;
  private readonly maxQueued: number;
  private attempt = 0;
  private inFlight = 0;
  private heldCount = 0;
  private stopping = false;
  private readonly lastLog = new Map<string, number>();
  private statsTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private startedAt = 0;
  private connects = 0;

  constructor(private readonly o: BridgeOptions) {
    if (!/^bridge\/[^/#+]+$/.test(o.username)) throw new TypeError('username: must be bridge/{id}');
    if (o.drivers.length === 0) throw new TypeError('drivers: the bridge needs at least one device');
    this.log = o.logger.child({ module: 'bridge' });
    this.now = o.now ?? Date.now;
    this.backoff = o.reconnect ?? DEFAULT_BACKOFF;
    this.maxQueued = o.maxQueued ?? 10_000;
    for (const driver of o.drivers) {
      const key = `${driver.kind}/${driver.id}`;
      if (this.entries.has(key)) throw new TypeError(`drivers: ${key} is listed twice`);
      const e: Entry = {
        driver,
        key,
        counters: { events: 0, acked: 0, invalid: 0, dropped: 0, commands: 0, rejects: 0, refused: 0 },
        recent: new RecentCommands(),
        allowed: null,
        held: [],
        startTimer: null,
        onEvent: (ev) => this.onDriverEvent(e, ev),
        onOnline: () => this.publishState(e),
        onOffline: (reason) => {
          this.log.warn({ deviceId: driver.id, kind: driver.kind, reason }, 'device offline');
          this.publishState(e);
        },
      };
      this.entries.set(key, e);
    }
  }

  /** How many times the MQTT connection came up (1 = never lost). */
  get connections(): number {
    return this.connects;
  }

  /** True while the MQTT connection to the gateway is up. */
  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** Counters per device (`kind/id`). */
  stats(): DeviceCounters[] {
    return [...this.entries.values()].map((e) => ({
      kind: e.driver.kind,
      id: e.driver.id,
      online: e.driver.online,
      ...e.counters,
      badFrames: e.driver.stats.badFrames,
      garbageBytes: e.driver.stats.garbageBytes,
      reconnects: e.driver.stats.reconnects,
    }));
  }

  /** Connects (in the background: the gateway may be down) and starts every driver. */
  async start(): Promise<void> {
    this.stopping = false;
    for (const e of this.entries.values()) {
      e.driver.on('event', e.onEvent);
      e.driver.on('online', e.onOnline);
      e.driver.on('offline', e.onOffline);
    }
    const client = mqtt.connect(this.o.url, {
      username: this.o.username,
      password: this.o.password,
      clientId: `storegw-${this.o.username.replace('/', '-')}`,
      protocolVersion: 4,
      clean: true,
      keepalive: this.o.keepaliveS ?? 30,
      // Subscriptions are made again on every connect (below), with the state of every device.
      resubscribe: false,
      reconnectPeriod: this.backoff.initialMs,
      reconnectOnConnackError: true,
      connectTimeout: 10_000,
      ...this.o.mqttOptions,
    });
    this.client = client;
    client.on('connect', () => {
      // Events are small and each waits for its PUBACK: Nagle's algorithm would hold one behind the
      // gateway's delayed ACK of the last (~40 ms). mqtt.js leaves the TCP socket at Node's default.
      (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
      this.onConnect(client);
    });
    client.on('close', () => {
      if (this.stopping) return;
      // mqtt.js reads reconnectPeriod each time it schedules a reconnect: that makes it a backoff.
      client.options.reconnectPeriod = backoffDelay(this.attempt++, this.backoff);
      this.rateLog('mqtt-close', () => this.log.warn({ retryInMs: client.options.reconnectPeriod }, 'gateway connection lost'));
    });
    client.on('error', (err) => this.rateLog('mqtt-error', () => this.log.warn({ err: err.message }, 'gateway connection error')));
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    const every = this.o.statsEveryMs ?? 0;
    if (every > 0) this.statsTimer = setInterval(() => this.log.info({ connected: this.connected, devices: this.stats() }, 'device counters'), every);
    this.startedAt = this.now();
    const beat = this.o.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    if (beat > 0) this.heartbeatTimer = setInterval(() => this.heartbeats(), beat);
    for (const e of this.entries.values()) await this.startDriver(e, 0);
  }

  /**
   * Starts one driver. One that cannot start (a GPIO line not exported yet, a HID permission being
   * fixed) must not stop the others: it is logged and tried again with the port backoff.
   */
  private async startDriver(e: Entry, attempt: number): Promise<void> {
    e.startTimer = null;
    if (this.stopping) return;
    try {
      await e.driver.start();
    } catch (err) {
      const delay = backoffDelay(attempt, this.o.startBackoff ?? DEFAULT_BACKOFF);
      const fields = { err: (err as Error).message, deviceId: e.driver.id, kind: e.driver.kind, retryInMs: delay };
      if (attempt === 0) this.log.error(fields, 'device failed to start');
      else this.rateLog(`start/${e.key}`, () => this.log.warn(fields, 'device still fails to start'));
      if (!this.stopping) e.startTimer = setTimeout(() => void this.startDriver(e, attempt + 1), delay);
    }
  }

  /** Stops every driver (reverse order), says `offline` for each device, then disconnects. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.statsTimer) clearInterval(this.statsTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.statsTimer = this.heartbeatTimer = null;
    for (const e of [...this.entries.values()].reverse()) {
      if (e.startTimer) clearTimeout(e.startTimer);
      e.startTimer = null;
      e.driver.off('event', e.onEvent);
      e.driver.off('online', e.onOnline);
      e.driver.off('offline', e.onOffline);
      await e.driver.stop().catch((err: Error) => this.log.warn({ err: err.message, deviceId: e.driver.id }, 'stopping a device failed'));
    }
    const client = this.client;
    this.client = null;
    if (!client) return;
    if (client.connected) {
      const said = Promise.all(
        [...this.entries.values()].filter((e) => e.allowed === true).map(
          (e) => new Promise<void>((resolve) => client.publish(topics.state(e.driver.kind, e.driver.id), 'offline', { qos: 1, retain: true }, () => resolve())),
        ),
      );
      await withTimeout(said, STOP_GRACE_MS);
    }
    // A graceful end waits for in-flight PUBACKs; a gateway that is gone must not hold the stop up.
    const graceful = client.connected;
    await withTimeout(new Promise<void>((resolve) => client.end(!graceful, {}, () => resolve())), STOP_GRACE_MS);
    if (graceful && !client.disconnected) client.end(true);
  }

  private onConnect(client: MqttClient): void {
    this.attempt = 0;
    this.connects++;
    client.options.reconnectPeriod = this.backoff.initialMs;
    this.log.info({ url: this.o.url, devices: this.entries.size }, 'connected to the gateway');
    const filters: Record<string, { qos: 1 }> = {};
    for (const e of this.entries.values()) {
      const { kind, id } = e.driver;
      filters[`${topics.deviceBase(kind, id)}/cmd/#`] = { qos: 1 };
      filters[topics.rej(kind, id)] = { qos: 1 };
    }
    // Subscribe first: the SUBACK says which devices the gateway lets this bridge act for.
    client.subscribe(filters, (err, subs, suback) => {
      // mqtt.js reports a refused filter as an error; the SUBACK's return codes follow `subs` in order.
      const codes = suback?.granted as number[] | undefined;
      if (!subs || !codes || codes.length !== subs.length) {
        return this.log.error({ err: err?.message }, 'subscribing to commands failed');
      }
      // [MQTT-3.9.3] return code 0x80 = failure.
      const refused = new Set(subs.filter((_, i) => (codes[i] & 0x80) !== 0).map((g) => g.topic));
      for (const e of this.entries.values()) {
        const { kind, id } = e.driver;
        e.allowed = !refused.has(`${topics.deviceBase(kind, id)}/cmd/#`);
        if (!e.allowed) {
          e.counters.refused += e.held.length;
          this.heldCount -= e.held.length;
          for (const h of e.held) h.onDelivered?.(new Error('the gateway does not let this bridge act for the device'));
          e.held = [];
          this.log.error({ deviceId: id, kind }, 'the gateway does not let this bridge act for the device (is it listed with this bridge in the gateway config?); nothing is sent for it');
          continue;
        }
        const birth = { ts: isoTs(this.now()), ...e.driver.birth(), bridge: this.o.username.slice('bridge/'.length) };
        client.publish(topics.birth(kind, id), JSON.stringify(birth), { qos: 1, retain: true });
        this.publishState(e);
        const held = e.held;
        e.held = [];
        this.heldCount -= held.length;
        for (const h of held) this.publish(e, h.type, h.json, h.onDelivered);
      }
    });
  }

  private publishState(e: Entry): void {
    const c = this.client;
    // While disconnected nothing is queued: the next connect publishes the current state of every device.
    if (!c?.connected || this.stopping || e.allowed !== true) return;
    c.publish(topics.state(e.driver.kind, e.driver.id), e.driver.online ? 'online' : 'offline', { qos: 1, retain: true });
  }

  /** One heartbeat per device that is up; only while connected (a heartbeat is news only when fresh). */
  private heartbeats(): void {
    if (!this.client?.connected) return;
    const t = this.now();
    const uptimeS = Math.max(0, Math.round((t - this.startedAt) / 1000));
    for (const e of this.entries.values()) {
      if (e.driver.online && e.allowed === true) this.send(e, 'heartbeat', { ts: isoTs(t), uptimeS });
    }
  }

  private onDriverEvent(e: Entry, ev: DeviceEvent): void {
    e.counters.events++;
    this.send(e, ev.type, ev.data, ev.onDelivered);
  }

  /** Validates and publishes one event of a device. */
  private send(e: Entry, type: string, data: Record<string, unknown>, onDelivered?: (err?: Error) => void): void {
    const { kind, id } = e.driver;
    const notSent = (reason: string) => onDelivered?.(new Error(reason));
    let json: string;
    try {
      json = JSON.stringify(data);
    } catch (err) {
      json = '';
      this.invalid(e, type, `not serialisable: ${(err as Error).message}`);
      return notSent('not serialisable');
    }
    const check = checkEvent(kind, type, json);
    if (!check.ok) {
      this.invalid(e, type, check.reason);
      return notSent(check.reason);
    }
    if (this.stopping) return notSent('the bridge is stopping');
    if (e.allowed === false) {
      e.counters.refused++;
      return notSent('the gateway does not let this bridge act for the device');
    }
    if (this.inFlight + this.heldCount >= this.maxQueued) {
      e.counters.dropped++;
      this.rateLog(`dropped/${e.key}`, () => this.log.warn({ deviceId: id, kind, dropped: e.counters.dropped, queued: this.inFlight }, 'event dropped: too many queued for the gateway'));
      return notSent('too many events queued for the gateway');
    }
    if (e.allowed === null) {
      e.held.push({ type, json, onDelivered });
      this.heldCount++;
      return;
    }
    this.publish(e, type, json, onDelivered);
  }

  private publish(e: Entry, type: string, json: string, onDelivered?: (err?: Error) => void): void {
    const c = this.client;
    if (!c) return onDelivered?.(new Error('not connected'));
    const { kind, id } = e.driver;
    this.inFlight++;
    c.publish(topics.evt(kind, id, type), json, { qos: 1 }, (err) => {
      this.inFlight--;
      if (!err) e.counters.acked++;
      else this.rateLog(`publish/${e.key}`, () => this.log.warn({ deviceId: id, kind, type, err: err.message }, 'event not delivered'));
      this.o.onPublished?.(id, type, err ?? undefined);
      try {
        onDelivered?.(err ?? undefined);
      } catch (cbErr) {
        this.log.error({ deviceId: id, kind, type, err: (cbErr as Error).message }, 'a driver failed to take note of a delivered event');
      }
    });
  }

  private invalid(e: Entry, type: string, reason: string): void {
    e.counters.invalid++;
    this.rateLog(`invalid/${e.key}`, () =>
      this.log.error({ deviceId: e.driver.id, kind: e.driver.kind, type, reason, invalid: e.counters.invalid }, 'driver produced an event the gateway would reject; not sent'),
    );
  }

  private onMessage(topic: string, payload: Buffer): void {
    const t = parseDeviceTopic(topic);
    if (!t.ok) return;
    const e = this.entries.get(`${t.topic.kind}/${t.topic.deviceId}`);
    if (!e) return;
    if (t.topic.channel === 'rej') {
      e.counters.rejects++;
      this.rateLog(`rej/${e.key}`, () => this.log.warn({ deviceId: e.driver.id, kind: e.driver.kind, notice: payload.toString('utf8').slice(0, 512) }, 'the gateway rejected an event'));
      return;
    }
    if (t.topic.channel === 'cmd') void this.runCommand(e, t.topic.type, payload);
  }

  private async runCommand(e: Entry, type: string, payload: Buffer): Promise<void> {
    const cmd = parseCommand(payload);
    if (!cmd.ok) {
      // Without a cmdId there is nothing to answer; the gateway validates commands before sending.
      this.rateLog(`badcmd/${e.key}`, () => this.log.warn({ deviceId: e.driver.id, type, reason: cmd.reason }, 'command ignored'));
      return;
    }
    const { result, fresh } = e.recent.run(cmd.cmdId, () => e.driver.command(type, cmd.body));
    if (fresh) {
      e.counters.commands++;
      this.log.info({ deviceId: e.driver.id, kind: e.driver.kind, type, cmdId: cmd.cmdId }, 'command');
    }
    this.send(e, 'ack', ackData(cmd.cmdId, await result, isoTs(this.now())));
  }

  private rateLog(key: string, fn: () => void): void {
    const t = this.now();
    const last = this.lastLog.get(key);
    if (last !== undefined && t - last < LOG_EVERY_MS) return;
    this.lastLog.set(key, t);
    fn();
  }
}
