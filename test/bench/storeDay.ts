/**
 * A simulated day of the demo store (config/demo.yaml's devices) as device publishes, step by
 * step on an injected clock, for the uplink bench (its targets are in BENCHMARKS.md). Deterministic (seeded PRNG).
 *
 * The mix, per 5 s step (open 08:00–21:00 UTC, closed otherwise):
 * - footfall: both door counters report `count {in,out}` every 5 s, all day (zeros when closed);
 *   ~3,000 visitors a day, 70 % through the main door;
 * - heartbeat: every device every 15 s (staggered);
 * - esl: 2 APs × 1,000 labels, `status` every minute (2 messages of 500 labels per AP, under the
 *   gateway's 64 KiB packet limit); RSSI jitters ±3 dB around a per-label base, temperature
 *   follows the day by ±1.5 °C, battery falls a few mV a day (a label is not a random number
 *   generator, so the deadbands hold it);
 * - transactions: ~1,000 a day, alternating kiosk k1 / k2. At k1 every item is a scanner `scan`
 *   (exact) and a bagging-scale placement streamed at 10 Hz (1 s unstable, 2 s stable); 40 % of
 *   k1 transactions weigh produce (10 Hz, 2 s unstable, 6 s stable). Each ends with a payment
 *   `result` (exact) on pay-k1 / pay-k2;
 * - exit gate (rfid): a quarter of the leaving visitors carry 1–3 tagged items, each read 10–30
 *   times on antennas 1–2; two display tags next to the gate are read every 5 s while open;
 * - alerts (exact): about ten a day.
 */
import { mulberry32 } from '../helpers/prng.js';

export interface Pub {
  /** `{kind}/{id}`: the publishing device. */
  dev: string;
  topic: string;
  payload: string;
  cls: 'exact' | 'aggregate' | 'presence' | 'latest' | 'sampled';
}

export interface StoreDevice {
  kind: string;
  id: string;
}

export const STEP_MS = 5000;

const GTINS = Array.from({ length: 400 }, (_, i) => ean13(`400638${String(100000 + i * 37).slice(-6)}`));
function ean13(first12: string): string {
  let s = 0;
  for (let i = 0; i < 12; i++) s += Number(first12[i]) * (i % 2 === 0 ? 1 : 3);
  return first12 + ((10 - (s % 10)) % 10);
}

interface Tx {
  id: string;
  kiosk: 'k1' | 'k2';
  items: number;
  produce: boolean;
  step: number;
}

export class StoreDay {
  private readonly rnd: () => number;
  private readonly labels: { ap: string; id: string; rssi: number; mv: number; hash: string }[] = [];
  private readonly queues: Record<'k1' | 'k2', Tx[]> = { k1: [], k2: [] };
  private txNo = 0;
  private nextKiosk: 'k1' | 'k2' = 'k1';
  private scanNo = 0;
  private alertNo = 0;
  private epcNo = 0;
  /** Exact payloads sent, in publish order per device: `${kind}/${id}/${type}` → payloads. */
  readonly footfall = { in: 0, out: 0 };
  readonly exactSent: { key: string; payload: string }[] = [];

  constructor(
    readonly devices: StoreDevice[],
    readonly t0: number,
    seed = 7,
    labelsPerAp = 1000,
  ) {
    this.rnd = mulberry32(seed);
    for (const ap of devices.filter((d) => d.kind === 'esl')) {
      for (let i = 0; i < labelsPerAp; i++) {
        this.labels.push({ ap: ap.id, id: `L${ap.id.replace(/\W/g, '')}-${String(i).padStart(5, '0')}`, rssi: -55 - Math.round(this.rnd() * 25), mv: 2900 + Math.round(this.rnd() * 200), hash: Math.floor(this.rnd() * 0xffffffff).toString(16).padStart(8, '0') });
      }
    }
  }

  private has(kind: string, id: string): boolean {
    return this.devices.some((d) => d.kind === kind && d.id === id);
  }

  /** Every publish of one step (time `t0 + step * STEP_MS`), in order per device. */
  step(step: number): Pub[] {
    const t = this.t0 + step * STEP_MS;
    const ts = new Date(t).toISOString();
    const hour = new Date(t).getUTCHours();
    const open = hour >= 8 && hour < 21;
    const out: Pub[] = [];
    const add = (kind: string, id: string, type: string, cls: Pub['cls'], data: Record<string, unknown>): void => {
      const payload = JSON.stringify({ ts, ...data });
      out.push({ dev: `${kind}/${id}`, topic: `store/v1/dev/${kind}/${id}/evt/${type}`, payload, cls });
      if (cls === 'exact') this.exactSent.push({ key: `${kind}/${id}/${type}`, payload });
    };
    const r = this.rnd;
    const poisson = (lambda: number): number => {
      let n = 0;
      let p = Math.exp(-lambda);
      let s = p;
      const u = r();
      while (u > s && n < 50) {
        n++;
        p *= lambda / n;
        s += p;
      }
      return n;
    };

    // Footfall: ~3,000 visitors over 13 open hours (9,360 steps), peaks at midday and evening.
    const peak = open ? 1 + 0.6 * Math.sin(((hour - 8) / 13) * Math.PI * 2) ** 2 : 0;
    const lambda = open ? (3000 / 9360) * peak : 0;
    let leaving = 0;
    for (const [door, share] of [['door-main', 0.7], ['door-side', 0.3]] as const) {
      if (!this.has('footfall', door)) continue;
      const i = poisson(lambda * share);
      const o = poisson(lambda * share);
      leaving += o;
      this.footfall.in += i;
      this.footfall.out += o;
      add('footfall', door, 'count', 'aggregate', { in: i, out: o });
    }

    // Heartbeats: every device every 15 s, staggered over the three steps.
    this.devices.forEach((d, i) => {
      if ((step + i) % 3 === 0) add(d.kind, d.id, 'heartbeat', 'latest', { uptimeS: Math.floor((step * STEP_MS) / 1000) + 3600 });
    });

    // ESL status every minute: 500 labels per message.
    if (step % 12 === 0) {
      const tempC = Math.round((21 + 1.5 * Math.sin(((hour - 6) / 24) * Math.PI * 2)) * 2) / 2;
      for (const ap of this.devices.filter((d) => d.kind === 'esl')) {
        const mine = this.labels.filter((l) => l.ap === ap.id);
        for (let i = 0; i < mine.length; i += 500) {
          const labels = mine.slice(i, i + 500).map((l) => {
            if (r() < 0.002) l.mv -= 1;
            return { labelId: l.id, batteryMv: l.mv, rssi: l.rssi + Math.round(r() * 6 - 3), temperatureC: tempC, shownHash: l.hash };
          });
          add('esl', ap.id, 'status', 'latest', { labels });
        }
      }
    }

    // Transactions: ~1,000 a day.
    if (open && r() < 1000 / 9360) {
      const kiosk = this.nextKiosk;
      this.nextKiosk = kiosk === 'k1' ? 'k2' : 'k1';
      this.queues[kiosk].push({ id: `tx-${kiosk}-${String(++this.txNo).padStart(5, '0')}`, kiosk, items: 2 + Math.floor(r() * 8), produce: r() < 0.4, step });
    }
    for (const kiosk of ['k1', 'k2'] as const) {
      const tx = this.queues[kiosk][0];
      if (!tx || tx.step > step) continue;
      if (tx.items > 0) {
        tx.items--;
        if (kiosk === 'k1') this.item(add, tx);
        continue;
      }
      this.queues[kiosk].shift();
      const pay = kiosk === 'k1' ? 'pay-k1' : 'pay-k2';
      if (this.has('payment', pay)) {
        const approved = r() > 0.04;
        add('payment', pay, 'result', 'exact', { requestId: tx.id, status: approved ? 'approved' : 'declined', amount: 199 + Math.floor(r() * 8000), currency: 'EUR', ...(approved ? { authCode: Math.floor(r() * 1e6).toString().padStart(6, '0') } : {}) });
      }
      if (this.queues[kiosk][0]) this.queues[kiosk][0].step = Math.max(this.queues[kiosk][0].step, step + 1);
    }

    // Exit gate.
    if (this.has('rfid', 'exit-gate') && open) {
      for (let v = 0; v < leaving; v++) {
        if (r() >= 0.25) continue;
        const tags = 1 + Math.floor(r() * 3);
        for (let k = 0; k < tags; k++) {
          const epc = `3074257BF7194E4000${(++this.epcNo).toString(16).toUpperCase().padStart(6, '0')}`;
          const reads = 10 + Math.floor(r() * 21);
          for (let n = 0; n < reads; n++) add('rfid', 'exit-gate', 'read', 'presence', { epc, antenna: 1 + (n % 2), rssi: -45 - Math.floor(r() * 25) });
        }
      }
      for (const epc of ['3074257BF7194E4000FFFF01', '3074257BF7194E4000FFFF02']) add('rfid', 'exit-gate', 'read', 'presence', { epc, antenna: 2, rssi: -70 - Math.floor(r() * 5) });
    }

    // Alerts: about ten a day.
    if (r() < 10 / 17280) {
      const codes = [['kiosk', 'k1', 'PAPER_LOW'], ['kiosk', 'k2', 'PAPER_LOW'], ['footfall', 'door-main', 'DOOR_AJAR'], ['scale', 'k1-bagging', 'SCALE_OVERLOAD']] as const;
      const [kind, id, code] = codes[Math.floor(r() * codes.length)];
      if (this.has(kind, id)) add(kind, id, 'alert', 'exact', { code, severity: 'warning', message: `${code.toLowerCase().replace('_', ' ')} (#${++this.alertNo})` });
    }
    return out;
  }

  /** One item at kiosk k1: a scan, a bagging placement, maybe produce on the scale first. */
  private item(add: (kind: string, id: string, type: string, cls: Pub['cls'], data: Record<string, unknown>) => void, tx: Tx): void {
    const r = this.rnd;
    if (tx.produce && tx.items === 0 && this.has('scale', 'k1-produce')) {
      const g = 150 + Math.floor(r() * 1500);
      for (let n = 0; n < 80; n++) add('scale', 'k1-produce', 'weight', 'sampled', n < 20 ? { grams: Math.round(g * (0.5 + n / 40) + r() * 30), stable: false } : { grams: g, stable: true });
    }
    if (this.has('scanner', 'k1-scanner')) add('scanner', 'k1-scanner', 'scan', 'exact', { code: GTINS[Math.floor(r() * GTINS.length)], symbology: ']E0', n: ++this.scanNo });
    if (this.has('scale', 'k1-bagging')) {
      const base = 1000 + tx.items * 300;
      const g = base + 100 + Math.floor(r() * 900);
      for (let n = 0; n < 30; n++) add('scale', 'k1-bagging', 'weight', 'sampled', n < 10 ? { grams: Math.round(base + ((g - base) * n) / 10 + r() * 40), stable: false } : { grams: g, stable: true });
    }
  }
}
