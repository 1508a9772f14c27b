/**
 * ESL access point simulator over MQTT: device `esl/{id}`, serving N labels.
 *
 * What it models (the common behaviour of ESL access points, e.g. OpenEPaperLink's):
 * - one radio per AP: labels are updated one after another at a fixed rate (`radioRate` labels/s),
 *   commands in the order they arrived (FIFO);
 * - an ack delay: a label's ack leaves `ackDelayMs` after its transfer, batched per command in
 *   `evt/ack {cmdId, ok, acks:[{labelId, ok, shownHash}]}` messages of at most `ackBatch` labels;
 * - command loss: a `cmd/show` is dropped whole with probability `commandLossRate` (nothing shown,
 *   nothing acked), and single label transfers fail (`ok:false`) with `labelFailRate`;
 * - battery: every transfer costs `transferMv` mV (about a hundred check-ins); status reports
 *   (`evt/status` per label: battery, RSSI, temperature, shown hash) every `statusEveryMs`, split
 *   into messages that fit the gateway's packet limit (`maxPacketBytes`);
 * - a lost connection: with `reconnectMs` > 0 the AP connects again by itself, as a real one does
 *   (the demo's APs fell off for good after one refused packet).
 * Randomness comes from a seeded generator, so a run can be repeated.
 */
import { EventEmitter } from 'node:events';
import mqtt, { type MqttClient } from 'mqtt';
import { topics } from '../../gateway/protocol/topics.js';
import { mulberry32 } from '../helpers/prng.js';

export interface EslSimOptions {
  url: string;
  apId: string;
  password: string;
  labels: string[];
  /** Label transfers per second over the radio (fixed). Default 200. */
  radioRate?: number;
  ackDelayMs?: number;
  ackBatch?: number;
  commandLossRate?: number;
  labelFailRate?: number;
  transferMv?: number;
  /** 0 = no periodic status (send one with `sendStatus()`). */
  statusEveryMs?: number;
  /** Largest MQTT packet one status message may make (the gateway's `mqtt.maxPacketBytes`). Default 65536. */
  maxPacketBytes?: number;
  /** Reconnect this long after the connection was lost (0 = stay away until `connect()`). Default 0. */
  reconnectMs?: number;
  seed?: number;
}

/** Room kept in a packet for the fixed header, the topic and the JSON around the labels. */
const STATUS_OVERHEAD_BYTES = 512;

interface Job {
  cmdId: string;
  labelId: string;
  hash: string;
  flash: boolean;
  last: boolean;
}


export class EslApSim extends EventEmitter {
  client: MqttClient | null = null;
  readonly shown = new Map<string, string | undefined>();
  readonly battery = new Map<string, number>();
  readonly transfers = new Map<string, number>();
  readonly flashes: { labelId: string; cmdId: string }[] = [];
  /** Every command received: its cmdId, labels and arrival time (ms, Date.now). */
  readonly commands: { cmdId: string; labels: { labelId: string; contentHash: string; price: number; promo?: { price: number } }[]; at: number }[] = [];
  commandsDropped = 0;
  labelsFailed = 0;
  private queue: Job[] = [];
  private qHead = 0;
  private radioTimer: NodeJS.Timeout | null = null;
  private statusTimer: NodeJS.Timeout | null = null;
  private credit = 0;
  private lastRadio = 0;
  private lastAckAt = 0;
  private pendingAcks = new Map<string, { labelId: string; ok: boolean; shownHash?: string; error?: string }[]>();
  private readonly rnd: () => number;
  private readonly labelSet: Set<string>;
  private readonly o: Required<EslSimOptions>;

  constructor(opts: EslSimOptions) {
    super();
    this.o = { radioRate: 200, ackDelayMs: 20, ackBatch: 200, commandLossRate: 0, labelFailRate: 0, transferMv: 2, statusEveryMs: 0, maxPacketBytes: 65536, reconnectMs: 0, seed: 1, ...opts };
    this.rnd = mulberry32(this.o.seed);
    this.labelSet = new Set(opts.labels);
    for (const l of opts.labels) {
      this.shown.set(l, undefined);
      this.battery.set(l, 3000);
      this.transfers.set(l, 0);
    }
  }

  get apId(): string {
    return this.o.apId;
  }

  /** Connects (again) as `esl/{apId}`, subscribes to its commands, and starts the radio. */
  async connect(): Promise<void> {
    // clean: true, so mqtt.js subscribes again itself after a reconnect (resubscribe).
    const c = mqtt.connect(this.o.url, { username: `esl/${this.o.apId}`, password: this.o.password, clientId: `esl-${this.o.apId}`, reconnectPeriod: this.o.reconnectMs, clean: true });
    await new Promise<void>((resolve, reject) => {
      c.once('connect', () => resolve());
      c.once('error', reject);
    });
    // From here on a connection error (the gateway going away) is the reconnect's business, never an uncaught 'error'.
    c.on('error', () => undefined);
    this.client = c;
    c.on('message', (topic, payload) => this.onCommand(payload));
    await c.subscribeAsync(topics.cmd('esl', this.o.apId, 'show'), { qos: 1 });
    this.lastRadio = performance.now();
    this.radioTimer = setInterval(() => this.radio(), 10);
    if (this.o.statusEveryMs > 0) this.statusTimer = setInterval(() => this.sendStatus().catch(() => undefined), this.o.statusEveryMs);
  }

  /** Drops the connection (the AP goes away); the queue and what labels show stay. */
  async disconnect(): Promise<void> {
    if (this.radioTimer) clearInterval(this.radioTimer);
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.radioTimer = this.statusTimer = null;
    const c = this.client;
    this.client = null;
    // An AP that loses power loses its queue too: what was queued and not transferred is gone.
    this.queue = [];
    this.qHead = 0;
    this.pendingAcks.clear();
    if (c) await c.endAsync(true);
  }

  private onCommand(payload: Buffer): void {
    const cmd = JSON.parse(payload.toString('utf8')) as { cmdId: string; labels: { labelId: string; contentHash: string; price: number; promo?: { price: number }; flash?: unknown }[] };
    this.commands.push({ cmdId: cmd.cmdId, labels: cmd.labels, at: Date.now() });
    this.emit('command', cmd);
    if (this.rnd() < this.o.commandLossRate) {
      this.commandsDropped++;
      return;
    }
    cmd.labels.forEach((l, i) => this.queue.push({ cmdId: cmd.cmdId, labelId: l.labelId, hash: l.contentHash, flash: l.flash !== undefined, last: i === cmd.labels.length - 1 }));
  }

  private radio(): void {
    const t = performance.now();
    this.credit = Math.min(this.credit + ((t - this.lastRadio) / 1000) * this.o.radioRate, this.o.radioRate);
    this.lastRadio = t;
    let lastCmd: string | null = null;
    while (this.credit >= 1 && this.qHead < this.queue.length) {
      this.credit--;
      const j = this.queue[this.qHead++];
      let entry: { labelId: string; ok: boolean; shownHash?: string; error?: string };
      if (!this.labelSet.has(j.labelId)) entry = { labelId: j.labelId, ok: false, error: 'unknown label' };
      else if (this.rnd() < this.o.labelFailRate) {
        this.labelsFailed++;
        entry = { labelId: j.labelId, ok: false, error: 'no answer from label' };
      } else {
        this.shown.set(j.labelId, j.hash);
        this.transfers.set(j.labelId, (this.transfers.get(j.labelId) ?? 0) + 1);
        this.battery.set(j.labelId, (this.battery.get(j.labelId) ?? 3000) - this.o.transferMv);
        if (j.flash) this.flashes.push({ labelId: j.labelId, cmdId: j.cmdId });
        entry = { labelId: j.labelId, ok: true, shownHash: j.hash };
      }
      let list = this.pendingAcks.get(j.cmdId);
      if (!list) this.pendingAcks.set(j.cmdId, (list = []));
      list.push(entry);
      if (list.length >= this.o.ackBatch || j.last) this.flushAck(j.cmdId);
      lastCmd = j.cmdId;
    }
    if (this.qHead === this.queue.length && this.qHead > 0) {
      this.queue = [];
      this.qHead = 0;
    }
    // A command still being worked on reports its progress about ten times a second.
    if (lastCmd && this.pendingAcks.has(lastCmd) && t - this.lastAckAt >= 100) this.flushAck(lastCmd);
    if (this.qHead === 0 && this.queue.length === 0) this.credit = Math.min(this.credit, 1);
  }

  private flushAck(cmdId: string): void {
    const acks = this.pendingAcks.get(cmdId);
    this.pendingAcks.delete(cmdId);
    if (!acks || acks.length === 0) return;
    this.lastAckAt = performance.now();
    const c = this.client;
    const send = () => {
      if (!c || c !== this.client) return;
      const payload = JSON.stringify({ ts: new Date().toISOString(), cmdId, ok: acks.every((a) => a.ok), acks });
      // A publish cut off by a disconnect is the gateway's to re-send (its command stays unacked).
      c.publish(topics.evt('esl', this.o.apId, 'ack'), payload, { qos: 1 }, () => undefined);
    };
    if (this.o.ackDelayMs > 0) setTimeout(send, this.o.ackDelayMs);
    else send();
  }

  /**
   * One `evt/status` round with every label, in as many messages as needed to keep each under
   * `maxPacketBytes` (a bigger packet makes the gateway close the connection) and ≤ 2000 labels
   * (the schema's limit). Rejects when a message cannot be sent (connection lost).
   */
  async sendStatus(): Promise<void> {
    const c = this.client;
    if (!c) return;
    const topic = topics.evt('esl', this.o.apId, 'status');
    const room = this.o.maxPacketBytes - STATUS_OVERHEAD_BYTES - Buffer.byteLength(topic);
    let batch: string[] = [];
    let bytes = 0;
    const send = async () => {
      if (batch.length === 0) return;
      const payload = `{"ts":${JSON.stringify(new Date().toISOString())},"labels":[${batch.join(',')}]}`;
      batch = [];
      bytes = 0;
      await c.publishAsync(topic, payload, { qos: 1 });
    };
    for (const [labelId, shownHash] of this.shown) {
      const json = JSON.stringify({
        labelId,
        batteryMv: this.battery.get(labelId) ?? 0,
        rssi: -60 - Math.round(this.rnd() * 20),
        temperatureC: 21,
        ...(shownHash !== undefined ? { shownHash } : {}),
      });
      if (batch.length >= 2000 || bytes + json.length + 1 > room) await send();
      batch.push(json);
      bytes += json.length + 1;
    }
    await send();
  }

  /** Changes the radio rate and the loss rates on the fly (bench phases). */
  setRadio(o: { radioRate?: number; commandLossRate?: number; labelFailRate?: number }): void {
    if (o.radioRate !== undefined) this.o.radioRate = o.radioRate;
    if (o.commandLossRate !== undefined) this.o.commandLossRate = o.commandLossRate;
    if (o.labelFailRate !== undefined) this.o.labelFailRate = o.labelFailRate;
  }

  /** Labels waiting for the radio. */
  get queued(): number {
    return this.queue.length - this.qHead;
  }
}
