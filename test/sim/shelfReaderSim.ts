/**
 * A fixed RFID shelf reader for the demo: MQTT-native (`rfid/<id>`), it reports every tag on its
 * shelf once per read cycle as `read` events (SGTIN-96 EPCs of catalog items, encoded as the real
 * reader would see them). Now and then a shopper takes a unit (its tag is no longer read), and
 * now and then one item's units are all missing for a while (a gap the staff have to refill): the
 * ops Stock view then lists it as "in stock, not on the shelf". Units sold at the kiosk leave the
 * shelf on the gateway's side (it knows the serials sold).
 */
import mqtt, { type MqttClient } from 'mqtt';
import { encodeSgtin96, sgtinFieldsFromGtin } from '../../gateway/kiosk/sgtin.js';
import { topics } from '../../gateway/protocol/topics.js';

export interface ShelfReaderSimOptions {
  url: string;
  id: string;
  password: string;
  /** GTIN-13 → the serials on the shelf at the start. */
  stock: ReadonlyMap<string, readonly number[]>;
  cycleMs: number;
  /** A shopper takes one unit every this often. */
  takeEveryMs: number;
  /** One item's units go missing every this often, for `gapForMs`. */
  gapEveryMs: number;
  gapForMs: number;
  /** Deterministic choices: the same demo run each time. */
  seed?: number;
}

export function sgtinEpc(gtin13: string, serial: number): string {
  const f = sgtinFieldsFromGtin(`0${gtin13}`, 7);
  if (!f.ok) throw new Error(`shelf tag ${gtin13}: ${f.reason}`);
  const e = encodeSgtin96({ filter: 1, companyPrefix: f.companyPrefix, itemReference: f.itemReference, serial });
  if (!e.ok) throw new Error(`shelf tag ${gtin13}: ${e.reason}`);
  return e.hex;
}

export class ShelfReaderSim {
  private client: MqttClient | null = null;
  private readonly onShelf = new Map<string, number[]>();
  private readonly timers: NodeJS.Timeout[] = [];
  private gap: { gtin: string; until: number } | null = null;
  private rnd: number;

  constructor(private readonly o: ShelfReaderSimOptions) {
    for (const [g, serials] of o.stock) this.onShelf.set(g, [...serials]);
    this.rnd = o.seed ?? 19;
  }

  /** A small LCG: enough to vary the demo, the same on every run. */
  private next(n: number): number {
    this.rnd = (this.rnd * 1103515245 + 12345) % 2 ** 31;
    return this.rnd % n;
  }

  async start(): Promise<void> {
    this.client = await mqtt.connectAsync(this.o.url, { username: `rfid/${this.o.id}`, password: this.o.password, reconnectPeriod: 1000, clientId: `sim-shelf-${this.o.id}` });
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(fn, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.o.cycleMs, () => void this.cycle());
    every(this.o.takeEveryMs, () => this.take());
    every(this.o.gapEveryMs, () => {
      const gtins = [...this.onShelf.keys()];
      if (gtins.length) this.gap = { gtin: gtins[this.next(gtins.length)]!, until: Date.now() + this.o.gapForMs };
    });
    void this.cycle();
  }

  /** A shopper takes a unit; once an item is down to one, staff put the start's units back. */
  private take(): void {
    const gtins = [...this.onShelf.keys()];
    const g = gtins[this.next(gtins.length)]!;
    const serials = this.onShelf.get(g)!;
    if (serials.length > 1) serials.splice(this.next(serials.length), 1);
    else this.onShelf.set(g, [...(this.o.stock.get(g) ?? [])]);
  }

  private async cycle(): Promise<void> {
    const c = this.client;
    if (!c?.connected) return;
    if (this.gap && this.gap.until <= Date.now()) this.gap = null;
    for (const [g, serials] of this.onShelf) {
      if (this.gap?.gtin === g) continue;
      for (const s of serials) {
        await c.publishAsync(topics.evt('rfid', this.o.id, 'read'), JSON.stringify({ ts: new Date().toISOString(), epc: sgtinEpc(g, s), antenna: 1 + (s % 2), rssi: -55 - (s % 10) }), { qos: 1 }).catch(() => undefined);
      }
    }
  }

  async stop(): Promise<void> {
    for (const t of this.timers.splice(0)) clearInterval(t);
    await this.client?.endAsync(true).catch(() => undefined);
  }
}
