/**
 * End to end, real parts only: simulators → socat ptys → bridge drivers → one MQTT connection with
 * the bridge credential → the real gateway (aedes, ACL, ingest) → the SQLite outbox. HID and GPIO
 * go through the memory transports with the exact reports and edges the hardware produces. The
 * unplug is real: socat is killed and started again, and the bridge is never restarted.
 */
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { connectDevice, startGateway, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';
import type { NewEvent } from '../../../gateway/outbox/store.js';
import type { DeviceKind } from '../../../gateway/protocol/topics.js';
import { parseBridgeConfig, type BridgeConfig } from '../../../firmware-bridge/config.js';
import { createDrivers, type Transports } from '../../../firmware-bridge/driverFactory.js';
import { Bridge } from '../../../firmware-bridge/bridge.js';
import { startSerialSimulators, type SerialSimulators } from '../../../firmware-bridge/simulators.js';
import { SerialTransport } from '../../../firmware-bridge/transports/serial.js';
import { TcpTransport } from '../../../firmware-bridge/transports/tcp.js';
import { MemoryGpioInput, MemoryGpioOutput, MemoryHidTransport } from '../../../firmware-bridge/transports/memory.js';
import { newStats, type DeviceDriver, type DriverEvents } from '../../../firmware-bridge/devices/deviceDriver.js';
import type { MtsicsSim } from '../../../firmware-bridge/devices/mtsics/sim.js';
import type { ToledoSim } from '../../../firmware-bridge/devices/toledoContinuous/sim.js';
import type { ChafonSim } from '../../../firmware-bridge/devices/chafon/sim.js';
import { DEFAULT_FORMAT, encodeFrame } from '../../../firmware-bridge/devices/toledoContinuous/codec.js';
import type { ByteTransport } from '../../../firmware-bridge/transports/transport.js';

const DEVICES: { kind: DeviceKind; id: string }[] = [
  { kind: 'scale', id: 'k1-produce' },
  { kind: 'scale', id: 'k1-bagging' },
  { kind: 'rfid', id: 'k1-basket' },
  { kind: 'scanner', id: 'k1-scanner' },
  { kind: 'footfall', id: 'door-1' },
  { kind: 'light', id: 'k1-light' },
  { kind: 'scale', id: 'buggy' },
];

/** A scale driver the test drives by hand (a driver bug, a device the gateway does not list). */
class FakeScale extends EventEmitter<DriverEvents> implements DeviceDriver {
  readonly kind = 'scale' as const;
  readonly stats = newStats();
  online = false;
  constructor(readonly id: string) {
    super();
  }
  birth() {
    return { model: 'fake', firmware: '0', capabilities: [] };
  }
  async start() {
    this.online = true;
    this.emit('online');
  }
  async stop() {
    this.online = false;
  }
  async command() {
    return { ok: false, error: 'no commands' };
  }
  weigh(data: Record<string, unknown>): void {
    this.emit('event', { type: 'weight', data: { ts: new Date().toISOString(), stable: true, ...data } });
  }
}

let gw: RunningGateway;
let tmp: { dir: string; remove: () => void };
let sims: SerialSimulators;
let bridge: Bridge;
const buggy = new FakeScale('buggy');
/** Listed in the bridge, not under this bridge in the gateway config. */
const stranger = new FakeScale('stranger');
const hid = new MemoryHidTransport('hid-k1');
const gpioIn = new Map<number, MemoryGpioInput>();
const gpioOut = new Map<number, MemoryGpioOutput>();
/** The simulators' ends of the ptys, to write bad bytes as a broken device would. */
const simPorts = new Map<string, ByteTransport>();
const committed: NewEvent[] = [];
const waiters = new Set<() => void>();

/** Resolves when a committed event matches (checked on each commit, no polling). */
function committedEvent(match: (e: NewEvent) => boolean, from = 0): Promise<NewEvent> {
  return new Promise((resolve) => {
    const check = () => {
      const hit = committed.slice(from).find(match);
      if (!hit) return false;
      waiters.delete(w);
      resolve(hit);
      return true;
    };
    const w = () => void check();
    if (!check()) waiters.add(w);
  });
}
const data = (e: NewEvent) => JSON.parse(e.data) as Record<string, unknown>;

/** Resolves when the bridge's counters for a device match (checked on each commit and PUBACK). */
function bridgeStats(id: string, match: (s: ReturnType<Bridge['stats']>[number]) => boolean): Promise<ReturnType<Bridge['stats']>[number]> {
  return new Promise((resolve) => {
    const check = () => {
      const s = bridge.stats().find((d) => d.id === id)!;
      if (!match(s)) return false;
      waiters.delete(w);
      resolve(s);
      return true;
    };
    const w = () => void check();
    if (!check()) waiters.add(w);
  });
}

/** The retained message a fresh subscriber gets on a topic (as a local integration would see it). */
async function retained(topic: string): Promise<string> {
  const c = await connectDevice(gw.mqttUrl, 'watcher', TEST_SECRET);
  try {
    return await new Promise<string>((resolve, reject) => {
      c.on('message', (t, payload, packet) => {
        if (t === topic && packet.retain) resolve(payload.toString('utf8'));
      });
      c.subscribe(topic, { qos: 1 }, (err) => err && reject(err));
    });
  } finally {
    c.end(true);
  }
}

/** Resolves when the gateway's registry says the device is (not) online. */
function registryOnline(kind: DeviceKind, id: string, online: boolean): Promise<void> {
  return new Promise((resolve) => {
    if (gw.gw.registry.get(kind, id)!.online === online) return resolve();
    const off = gw.gw.registry.onChange((d) => {
      if (d.kind === kind && d.id === id && d.online === online) {
        off();
        resolve();
      }
    });
  });
}

beforeAll(async () => {
  tmp = tempDir('sgw-bridge-e2e-');
  gw = await startGateway({
    devices: DEVICES.map((d) => ({ ...d, bridge: 'kb' })),
    bridges: ['kb'],
    serviceUsers: [{ username: 'watcher', read: ['store/v1/dev/+/+/state', 'store/v1/dev/+/+/birth'] }],
  });
  gw.gw.onEvent((e) => {
    committed.push(e);
    for (const w of [...waiters]) w();
  });
  const pty = (id: string) => path.join(tmp.dir, 'pty', id);
  const raw = {
    log: { level: 'silent' },
    mqtt: { url: gw.mqttUrl, username: 'bridge/kb', password: TEST_SECRET, reconnect: { initialMs: 50, maxMs: 500 } },
    portBackoff: { initialMs: 50, maxMs: 400 },
    devices: [
      { kind: 'scale', id: 'k1-produce', protocol: 'mtsics', serial: { path: pty('k1-produce'), presenceCheckMs: 100 }, options: { mode: 'stream' } },
      { kind: 'scale', id: 'k1-bagging', protocol: 'toledoContinuous', serial: { path: pty('k1-bagging'), presenceCheckMs: 100 } },
      { kind: 'rfid', id: 'k1-basket', protocol: 'chafon', serial: { path: pty('k1-basket'), baudRate: 57600, presenceCheckMs: 100 }, options: { roundIntervalMs: 20 } },
      { kind: 'scanner', id: 'k1-scanner', protocol: 'hidScanner', hid: { vendorId: 0x05e0, productId: 0x1200 }, options: { mode: 'keyboard', keyboard: { aimPrefix: true } } },
      { kind: 'footfall', id: 'door-1', protocol: 'beams', gpio: { beamA: 17, beamB: 27 } },
      { kind: 'light', id: 'k1-light', protocol: 'lightTower', gpio: { green: 5, amber: 6, red: 13 } },
    ],
  };
  const parsed = parseBridgeConfig(stringify(raw));
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  const config: Readonly<BridgeConfig> = parsed.config;
  sims = await startSerialSimulators(config, {
    mtsics: { streamIntervalMs: 50 },
    toledoContinuous: { intervalMs: 50 },
    grams: 0,
    tags: [],
    wrapTransport: (t, id) => {
      simPorts.set(id, t);
      return t;
    },
  });
  const transports: Transports = {
    serial: (o) => new SerialTransport(o),
    hid: () => hid,
    gpioIn: (line) => gpioIn.get(line) ?? gpioIn.set(line, new MemoryGpioInput(`gpio${line}`)).get(line)!,
    gpioOut: (line) => gpioOut.get(line) ?? gpioOut.set(line, new MemoryGpioOutput(`gpio${line}`)).get(line)!,
    tcp: (o) => new TcpTransport(o),
  };
  const logger = pino({ level: 'silent' });
  const drivers = [...createDrivers(config, { transports, logger }), buggy, stranger];
  bridge = new Bridge({
    url: gw.mqttUrl,
    username: 'bridge/kb',
    password: TEST_SECRET,
    drivers,
    logger,
    reconnect: config.mqtt.reconnect,
    onPublished: () => {
      for (const w of [...waiters]) w();
    },
  });
  const allOnline = Promise.all(DEVICES.map((d) => registryOnline(d.kind, d.id, true)));
  await bridge.start();
  await allOnline;
}, 30_000);

afterAll(async () => {
  await bridge?.stop();
  await sims?.stop();
  await gw?.stop();
  tmp?.remove();
});

describe('bridge end to end: simulator → pty → bridge → gateway → outbox', () => {
  it('publishes a retained birth per device that the gateway accepts', () => {
    expect(gw.gw.registry.get('scale', 'k1-produce')!.birth).toMatchObject({ model: 'MT-SICS balance', capabilities: ['weight', 'tare', 'zero'], bridge: 'kb' });
    expect(gw.gw.registry.get('light', 'k1-light')!.birth).toMatchObject({ model: 'GPIO light tower' });
    expect(gw.gw.registry.get('rfid', 'k1-basket')!.via).toBe('bridge');
  });

  it('MT-SICS (SIR stream): weights reach the outbox as sampled scale events', async () => {
    (sims.sims.get('k1-produce') as MtsicsSim).setWeight(1234);
    const e = await committedEvent((x) => x.deviceId === 'k1-produce' && data(x).grams === 1234);
    expect(e).toMatchObject({ kind: 'scale', type: 'weight', cls: 'sampled' });
    expect(data(e)).toEqual({ ts: expect.any(String), grams: 1234, stable: true, range: 'ok' });
    const rows = await gw.gw.outbox.read(e.seq, 1);
    expect(rows[0]).toMatchObject({ seq: e.seq, kind: 'scale', deviceId: 'k1-produce', type: 'weight', data: { grams: 1234 } });
  });

  it('Toledo continuous: weights, and tare from the gateway answered with an ack', async () => {
    (sims.sims.get('k1-bagging') as ToledoSim).setWeight(2500);
    await committedEvent((x) => x.deviceId === 'k1-bagging' && data(x).grams === 2500);
    const from = committed.length;
    await gw.gw.broker.publish('store/v1/dev/scale/k1-bagging/cmd/tare', JSON.stringify({ cmdId: 'tare-1' }), 1);
    const ack = await committedEvent((x) => x.deviceId === 'k1-bagging' && x.type === 'ack', from);
    expect(data(ack)).toEqual({ ts: expect.any(String), cmdId: 'tare-1', ok: true });
    expect(ack.cls).toBe('exact');
    const net = await committedEvent((x) => x.deviceId === 'k1-bagging' && data(x).tareGrams === 2500, from);
    expect(data(net).grams).toBe(0);
  });

  it('Chafon: inventory started by a command, tag reads reach the outbox', async () => {
    const sim = sims.sims.get('k1-basket') as ChafonSim;
    sim.tags = [
      { epc: '3074257BF7194E4000001A85', rssi: 0x6b, antenna: 1 },
      { epc: 'E2801160600002084F6E0001', rssi: 0x50, antenna: 1 },
      { epc: 'E2801160600002084F6E0002', rssi: 0x48, antenna: 1 },
    ];
    const from = committed.length;
    await gw.gw.broker.publish('store/v1/dev/rfid/k1-basket/cmd/inventory', JSON.stringify({ cmdId: 'inv-1', action: 'start' }), 1);
    const ack = await committedEvent((x) => x.deviceId === 'k1-basket' && x.type === 'ack', from);
    expect(data(ack)).toMatchObject({ cmdId: 'inv-1', ok: true });
    for (const t of sim.tags) {
      const r = await committedEvent((x) => x.deviceId === 'k1-basket' && x.type === 'read' && data(x).epc === t.epc, from);
      expect(r.cls).toBe('presence');
      expect(data(r)).toEqual({ ts: expect.any(String), epc: t.epc, antenna: 1, rssi: t.rssi });
    }
  });

  it('HID scanner: exact boot-keyboard reports of "]E05901234123457⏎" become one scan', async () => {
    const Z = [0, 0, 0, 0, 0, 0, 0, 0];
    const keys: [number, number][] = [
      [0x00, 0x30], // ]
      [0x02, 0x08], // shift E
      [0x00, 0x27], // 0
      ...[0x22, 0x26, 0x27, 0x1e, 0x1f, 0x20, 0x21, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x24].map((k): [number, number] => [0, k]),
      [0x00, 0x28], // Enter
    ];
    for (const [mod, key] of keys) {
      hid.feed([mod, 0, key, 0, 0, 0, 0, 0]);
      hid.feed(Z);
    }
    const e = await committedEvent((x) => x.deviceId === 'k1-scanner' && x.type === 'scan');
    expect(data(e)).toEqual({ ts: expect.any(String), code: '5901234123457', symbology: ']E0' });
    expect(e.cls).toBe('exact');
  });

  it('beams: A then B breaks through memory GPIO count one footfall "in"', async () => {
    const t0 = Date.now();
    gpioIn.get(17)!.edge(1, t0);
    gpioIn.get(27)!.edge(1, t0 + 100);
    const e = await committedEvent((x) => x.deviceId === 'door-1' && x.type === 'cross');
    // The clear edges are stamped now or later: an edge stamped before the beam machine's last tick is a bad frame.
    const t1 = Math.max(Date.now(), t0 + 300);
    gpioIn.get(17)!.edge(0, t1);
    gpioIn.get(27)!.edge(0, t1 + 50);
    expect(data(e)).toEqual({ ts: new Date(t0 + 125).toISOString(), direction: 'in' });
    expect(e.cls).toBe('aggregate');
  });

  it('light tower: cmd/set from the gateway drives the GPIO lines and is acked', async () => {
    const from = committed.length;
    await gw.gw.broker.publish('store/v1/dev/light/k1-light/cmd/set', JSON.stringify({ cmdId: 'set-1', color: 'red', mode: 'steady' }), 1);
    const ack = await committedEvent((x) => x.deviceId === 'k1-light' && x.type === 'ack', from);
    expect(data(ack)).toEqual({ ts: expect.any(String), cmdId: 'set-1', ok: true });
    expect([gpioOut.get(5)!.value, gpioOut.get(6)!.value, gpioOut.get(13)!.value]).toEqual([0, 0, 1]);
    expect(gpioOut.get(13)!.writes.at(-1)).toBe(1);
    // A bad command is answered, not thrown; a re-sent cmdId is answered again without running twice.
    const writes = gpioOut.get(13)!.writes.length;
    await gw.gw.broker.publish('store/v1/dev/light/k1-light/cmd/set', JSON.stringify({ cmdId: 'set-1', color: 'red', mode: 'steady' }), 1);
    await gw.gw.broker.publish('store/v1/dev/light/k1-light/cmd/set', JSON.stringify({ cmdId: 'set-2', color: 'blue', mode: 'steady' }), 1);
    const bad = await committedEvent((x) => x.deviceId === 'k1-light' && x.type === 'ack' && data(x).cmdId === 'set-2', from);
    expect(data(bad)).toMatchObject({ ok: false, error: 'color: must be one of off, green, amber, red' });
    expect(committed.filter((x) => x.deviceId === 'k1-light' && x.type === 'ack' && data(x).cmdId === 'set-1')).toHaveLength(2);
    expect(gpioOut.get(13)!.writes.length).toBe(writes);
  });

  it('garbage and a bad checksum on the wire are counted for that device id, and nothing bad is sent', async () => {
    const frame = encodeFrame({ weightCount: 1500, decimals: 3, unit: 'kg' }, DEFAULT_FORMAT);
    frame[frame.length - 1] ^= 0x55; // Toledo continuous: the checksum byte no longer adds up
    await simPorts.get('k1-bagging')!.write(Buffer.concat([Buffer.from('noise!!'), frame]));
    const s = await bridgeStats('k1-bagging', (x) => x.badFrames === 1);
    expect(s.garbageBytes).toBeGreaterThanOrEqual(7);
    expect(s.invalid).toBe(0);
    expect(committed.some((x) => x.deviceId === 'k1-bagging' && data(x).grams === 1500)).toBe(false);
  });

  it('a driver bug is counted and never sent; the good event after it is', async () => {
    buggy.weigh({ grams: '12' });
    buggy.weigh({ grams: 12 });
    await committedEvent((x) => x.deviceId === 'buggy' && data(x).grams === 12);
    const s = await bridgeStats('buggy', (x) => x.acked === 1);
    expect(s).toMatchObject({ events: 2, invalid: 1, acked: 1 });
    expect(committed.filter((x) => x.deviceId === 'buggy')).toHaveLength(1);
  });

  it('a device the gateway does not list under this bridge: nothing is sent for it, the connection stays', async () => {
    stranger.weigh({ grams: 5 });
    stranger.weigh({ grams: 6 });
    expect(bridge.stats().find((d) => d.id === 'stranger')).toMatchObject({ events: 2, refused: 2, acked: 0 });
    // The others still get through on the same connection.
    (sims.sims.get('k1-produce') as MtsicsSim).setWeight(4321);
    await committedEvent((x) => x.deviceId === 'k1-produce' && data(x).grams === 4321);
    expect(bridge.connections).toBe(1);
  });

  it('HID scanner unplugged → offline; reopened with backoff → online again', async () => {
    const offline = registryOnline('scanner', 'k1-scanner', false);
    hid.unplug();
    await offline;
    await registryOnline('scanner', 'k1-scanner', true);
    hid.feed([0, 0, 0x1e, 0, 0, 0, 0, 0]);
    hid.feed([0, 0, 0, 0, 0, 0, 0, 0]);
    hid.feed([0, 0, 0x28, 0, 0, 0, 0, 0]);
    const e = await committedEvent((x) => x.deviceId === 'k1-scanner' && data(x).code === '1');
    expect(e.type).toBe('scan');
  });

  it('unplug (socat killed) → that device goes offline, the others keep running; replug → back online, no restart', async () => {
    const offline = registryOnline('scale', 'k1-produce', false);
    await sims.unplug('k1-produce');
    await offline;
    // The rest keep running: the bagging scale streams on, the produce scale is still offline.
    const from = committed.length;
    await committedEvent((x) => x.deviceId === 'k1-bagging' && x.type === 'weight', from);
    expect(gw.gw.registry.get('scale', 'k1-produce')!.online).toBe(false);
    expect(gw.gw.registry.get('scale', 'k1-bagging')!.online).toBe(true);
    expect(bridge.connected).toBe(true);
    expect(await retained('store/v1/dev/scale/k1-produce/state')).toBe('offline');
    expect(await retained('store/v1/dev/scale/k1-bagging/state')).toBe('online');

    const online = registryOnline('scale', 'k1-produce', true);
    const sim = (await sims.replug('k1-produce')) as MtsicsSim;
    sim.setWeight(777);
    await online;
    const e = await committedEvent((x) => x.deviceId === 'k1-produce' && data(x).grams === 777, from);
    expect(e.type).toBe('weight');
    expect(bridge.stats().find((d) => d.id === 'k1-produce')!.reconnects).toBe(1);
    expect(await retained('store/v1/dev/scale/k1-produce/state')).toBe('online');
    expect(JSON.parse(await retained('store/v1/dev/scale/k1-produce/birth'))).toMatchObject({ model: 'MT-SICS balance', bridge: 'kb' });
  });

  it('the gateway rejected nothing: no reject counters, no dead letters, no bad frames', async () => {
    for (const d of DEVICES) {
      const entry = gw.gw.registry.get(d.kind, d.id)!;
      expect({ id: d.id, rejects: entry.rejects }).toEqual({ id: d.id, rejects: {} });
      expect(await gw.gw.outbox.recentDeadLetters(d.id)).toEqual([]);
    }
    for (const s of bridge.stats()) {
      const bad = s.id === 'k1-bagging' ? 1 : 0;
      expect({ id: s.id, rejects: s.rejects, badFrames: s.badFrames, dropped: s.dropped }).toEqual({ id: s.id, rejects: 0, badFrames: bad, dropped: 0 });
      if (s.id !== 'stranger') expect({ id: s.id, refused: s.refused }).toEqual({ id: s.id, refused: 0 });
      if (s.id !== 'buggy' && s.id !== 'stranger') expect({ id: s.id, invalid: s.invalid }).toEqual({ id: s.id, invalid: 0 });
    }
    // Nothing above made the gateway drop the bridge's one connection.
    expect(bridge.connections).toBe(1);
    // The outbox holds exactly what was committed (the simulators stream on: compare up to a seq).
    const upto = committed.at(-1)!.seq;
    const ids = new Set(DEVICES.map((d) => d.id));
    const rows = (await gw.gw.outbox.read(0, 100_000)).filter((r) => r.seq <= upto && ids.has(r.deviceId));
    expect(rows.map((r) => r.seq)).toEqual(committed.filter((c) => c.seq <= upto).map((c) => c.seq));
    expect(new Set(rows.map((r) => r.deviceId))).toEqual(ids);
    expect(gw.gw.registry.get('scale', 'stranger')).toBeUndefined();
  });
});
