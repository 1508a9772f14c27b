/**
 * MQTT-native device simulators for the demo and tests: a device connects with its own credential,
 * announces itself (retained birth, state online, Last Will offline) and sends heartbeats; kinds
 * add their own events (footfall counts here; ESL APs, payment terminals in their own sims).
 */
import mqtt, { type MqttClient } from 'mqtt';
import { topics, type DeviceKind } from '../../gateway/protocol/topics.js';

export interface SimOptions {
  url: string;
  kind: DeviceKind;
  id: string;
  password: string;
  heartbeatMs?: number;
  model?: string;
}

export class DeviceSim {
  protected client: MqttClient | null = null;
  private hb: NodeJS.Timeout | null = null;
  private readonly started = Date.now();
  sent = 0;

  constructor(protected readonly o: SimOptions) {}

  async start(): Promise<void> {
    const { kind, id } = this.o;
    this.client = mqtt.connect(this.o.url, {
      username: `${kind}/${id}`,
      password: this.o.password,
      clientId: `sim-${kind}-${id}`,
      reconnectPeriod: 1000,
      will: { topic: topics.state(kind, id), payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    this.client.on('error', () => undefined);
    this.client.on('connect', () => {
      void this.client!.publishAsync(topics.birth(kind, id), JSON.stringify({ ts: new Date().toISOString(), model: this.o.model ?? `sim-${kind}`, firmware: '1.0.0', capabilities: [] }), { qos: 1, retain: true });
      void this.client!.publishAsync(topics.state(kind, id), 'online', { qos: 1, retain: true });
    });
    await new Promise<void>((resolve) => this.client!.once('connect', () => resolve()));
    this.hb = setInterval(() => this.event('heartbeat', { uptimeS: Math.round((Date.now() - this.started) / 1000) }), this.o.heartbeatMs ?? 15_000);
    this.event('heartbeat', { uptimeS: 0 });
  }

  /** Publishes one event (QoS 1) with the device's time stamp. */
  event(type: string, data: Record<string, unknown>): void {
    if (!this.client?.connected) return;
    this.sent++;
    this.client.publish(topics.evt(this.o.kind, this.o.id, type), JSON.stringify({ ts: new Date().toISOString(), ...data }), { qos: 1 });
  }

  async stop(): Promise<void> {
    if (this.hb) clearInterval(this.hb);
    this.hb = null;
    if (this.client) {
      // Say goodbye if the gateway is still there; never wait long for a gateway that is gone.
      const bye = this.client.publishAsync(topics.state(this.o.kind, this.o.id), 'offline', { qos: 1, retain: true }).catch(() => undefined);
      await Promise.race([bye, new Promise((r) => setTimeout(r, 500))]);
      this.client.end(true);
    }
    this.client = null;
  }
}

/** A door counter: reports the people who came in and went out since its last report. */
export class FootfallSim extends DeviceSim {
  private timer: NodeJS.Timeout | null = null;
  totalIn = 0;
  totalOut = 0;

  constructor(o: Omit<SimOptions, 'kind'>, private readonly everyMs = 5000, private readonly rnd: () => number = Math.random) {
    super({ ...o, kind: 'footfall', model: 'sim-door-counter' });
  }

  override async start(): Promise<void> {
    await super.start();
    this.timer = setInterval(() => {
      const inn = Math.floor(this.rnd() * 4);
      const out = Math.floor(this.rnd() * 4);
      this.totalIn += inn;
      this.totalOut += out;
      this.event('count', { in: inn, out });
    }, this.everyMs);
  }

  override async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await super.stop();
  }
}
