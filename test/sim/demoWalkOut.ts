/**
 * The demo's exit gate: its RFID reader and its alarm light as MQTT-native devices, and a shopper
 * who now and then walks an unpaid serialised item out through it.
 *
 * A gate reader reports a passing tag many times (UHF readers repeat an inventoried tag several
 * times a second while it is in the field; a walk through a 1–2 m read zone takes about a second),
 * so a walk-out is a burst of reads of one SGTIN-96: the gateway must make one alarm of it.
 * The item is a catalog item with a serial no till ever sold (a fresh one per walk-out, from a
 * range the kiosk basket's tags never use), so nothing but the alarm explains it.
 */
import { DeviceSim, type SimOptions } from './deviceSim.js';
import { gtinOf } from './hqFeeds.js';
import { DEMO_NAMED, demoItemName } from './demoCatalog.js';
import { encodeSgtin96, sgtinFieldsFromGtin } from '../../gateway/kiosk/sgtin.js';
import { topics } from '../../gateway/protocol/topics.js';

/** The first shelf item whose name has `word`, as its demo item number (GTIN `gtinOf(n)`). */
function demoItemNamed(word: string): number {
  for (let i = DEMO_NAMED.length; i < 5000; i++) if (demoItemName(i, DEMO_NAMED.length).name.includes(word)) return i + 1;
  throw new Error(`no demo item named like ${word}`);
}
/** The item walked out: a shampoo (the kind of small, dear item retailers tag). */
export const WALK_OUT_ITEM = demoItemNamed('Shampoo');
const WALK_OUT_NAME = demoItemName(WALK_OUT_ITEM - 1, DEMO_NAMED.length).name;
/** Serials of walk-outs start here: far from the basket tags' 40001… and 50001…. */
const FIRST_SERIAL = 700_000;
/** Reads of one passage, and their spacing: ~1 s in the field. */
const READS = 12;
const READ_EVERY_MS = 80;

/** The SGTIN-96 of demo catalog item `item` with `serial`. */
export function demoSgtin(item: number, serial: number): string {
  const f = sgtinFieldsFromGtin(`0${gtinOf(item)}`, 7);
  if (!f.ok) throw new Error(`demo SGTIN of item ${item}: ${f.reason}`);
  const e = encodeSgtin96({ filter: 1, companyPrefix: f.companyPrefix, itemReference: f.itemReference, serial });
  if (!e.ok) throw new Error(`demo SGTIN of item ${item}: ${e.reason}`);
  return e.hex;
}

export interface GateRead {
  epc: string;
  antenna: number;
  rssi: number;
}

/** One passage of `epc` past a gate reader: a burst of reads over about a second; resolves after the last. */
export async function passage(read: (r: GateRead) => unknown, epc: string, reads = READS, everyMs = READ_EVERY_MS): Promise<void> {
  for (let i = 0; i < reads; i++) {
    await read({ epc, antenna: 1 + (i % 2), rssi: -60 + (i % 5) });
    if (i < reads - 1) await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The exit gate's reader: heartbeats, and the reads of a tag carried through it. */
export class ExitGateSim extends DeviceSim {
  private walks = 0;
  constructor(o: Omit<SimOptions, 'kind'>) {
    super({ ...o, kind: 'rfid', model: 'sim-uhf-gate' });
  }

  /** A shopper walks an unpaid item out: the next fresh serial of the walk-out item. */
  async walkOut(): Promise<{ epc: string; serial: number }> {
    const serial = FIRST_SERIAL + this.walks++;
    const epc = demoSgtin(WALK_OUT_ITEM, serial);
    await passage((read) => this.event('read', { ...read }), epc);
    return { epc, serial };
  }
}

/** The alarm light: takes every `set` command (acked, so the command store sees it done) and tells `onSet`. */
export class AlarmLightSim extends DeviceSim {
  constructor(
    o: Omit<SimOptions, 'kind'>,
    private readonly onSet: (m: { color: string; mode: string }) => void = () => undefined,
  ) {
    super({ ...o, kind: 'light', model: 'sim-alarm-light' });
  }

  override async start(): Promise<void> {
    await super.start();
    const c = this.client!;
    const { id } = this.o;
    c.on('message', (_t, p) => {
      let m: { cmdId?: string; color?: string; mode?: string };
      try {
        m = JSON.parse(p.toString('utf8')) as typeof m;
      } catch {
        return;
      }
      if (typeof m.cmdId !== 'string') return;
      void c.publishAsync(topics.evt('light', id, 'ack'), JSON.stringify({ ts: new Date().toISOString(), cmdId: m.cmdId, ok: true }), { qos: 1 }).catch(() => undefined);
      this.onSet({ color: String(m.color), mode: String(m.mode) });
    });
    await c.subscribeAsync(topics.cmd('light', id, 'set'), { qos: 1 });
  }
}

/** A walk-out at the gate a quarter of `everyMs` after the start (a newcomer sees one soon), then every `everyMs`; `say` narrates. Returns the stop. */
export function scheduleWalkOuts(gate: ExitGateSim, everyMs: number, say: (s: string) => void): () => void {
  const walk = (): void => {
    void gate.walkOut().then(
      (w) => say(`a shopper walked an unpaid ${WALK_OUT_NAME} (GTIN ${gtinOf(WALK_OUT_ITEM)}, serial ${w.serial}) out through the exit gate`),
      () => undefined,
    );
  };
  let every: NodeJS.Timeout | null = null;
  const first = setTimeout(() => {
    walk();
    every = setInterval(walk, everyMs);
  }, everyMs / 4);
  return () => {
    clearTimeout(first);
    if (every) clearInterval(every);
  };
}
