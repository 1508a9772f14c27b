/**
 * The ZVT driver against the simulated terminal over real TCP sockets (and once over a socat pty
 * with RS-232 framing): every outcome by amount rule, cancel, reversal, end-of-day, the drops at
 * each step with the recovery that follows, and a restart of the driver on the same journal.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ZvtDriver } from '../../../firmware-bridge/devices/zvt/driver.js';
import { ZvtSim } from '../../../firmware-bridge/devices/zvt/sim.js';
import { TcpTransport } from '../../../firmware-bridge/transports/tcp.js';
import { SerialTransport } from '../../../firmware-bridge/transports/serial.js';
import { ZvtSerialTransport } from '../../../firmware-bridge/devices/zvt/serialTransport.js';
import { startSocat } from '../../../firmware-bridge/simulators.js';
import type { DeviceEvent } from '../../../firmware-bridge/devices/deviceDriver.js';
import { checkEvent } from '../../../gateway/protocol/validate.js';
import { tempDir } from '../../helpers/tmp.js';

let tmp: { dir: string; remove: () => void };
let sim: ZvtSim;
const drivers: ZvtDriver[] = [];

class Events {
  readonly all: DeviceEvent[] = [];
  private waiters: (() => void)[] = [];
  constructor(d: ZvtDriver) {
    d.on('event', (e) => {
      this.all.push(e);
      // As the bridge does on the gateway's PUBACK.
      e.onDelivered?.();
      for (const w of this.waiters.splice(0)) w();
    });
  }
  async next(type: string, pred: (d: Record<string, unknown>) => boolean = () => true): Promise<Record<string, unknown>> {
    for (;;) {
      const hit = this.all.find((e) => e.type === type && pred(e.data));
      if (hit) return hit.data;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }
}

function online(d: ZvtDriver): Promise<void> {
  return d.online ? Promise.resolve() : new Promise((r) => d.once('online', () => r()));
}

async function driver(o: Partial<ConstructorParameters<typeof ZvtDriver>[0]> = {}): Promise<{ d: ZvtDriver; ev: Events }> {
  const d = new ZvtDriver({
    id: 'pt-1',
    transport: new TcpTransport({ host: '127.0.0.1', port: sim.port }),
    stateDir: tmp.dir,
    t3Ms: 2000,
    t4Ms: 3000,
    statusIntervalMs: 0,
    backoff: { initialMs: 20, maxMs: 100, factor: 2 },
    ...o,
  });
  const ev = new Events(d);
  drivers.push(d);
  await d.start();
  await online(d);
  return { d, ev };
}

/** Every event must pass the gateway's own schema check, as the bridge checks it before publishing. */
function valid(type: string, data: Record<string, unknown>): Record<string, unknown> {
  const r = checkEvent('payment', type, JSON.stringify(data));
  expect(r.ok ? 'ok' : r).toBe('ok');
  return data;
}

beforeAll(async () => {
  tmp = tempDir('zvt-driver-');
  sim = new ZvtSim({ seed: 7 });
  await sim.start();
});
afterEach(async () => {
  for (const d of drivers.splice(0)) await d.stop();
});
afterAll(async () => {
  await sim.stop();
  tmp.remove();
});

describe('zvt driver ↔ simulated terminal (TCP)', () => {
  it('registers on connect with the self-checkout bytes and learns the terminal id', async () => {
    const { d } = await driver();
    expect(sim.books.commands.find((c) => c.type === 'registration')).toMatchObject({ password: '000000', config: 0xbe, currency: '978', serviceByte: 1 });
    expect(d.birth()).toMatchObject({ model: 'ZVT terminal', terminalId: '29001006' });
  });

  it('approves a charge: ack after 80 00 00, prompts, then the result with the receipt', async () => {
    const { d, ev } = await driver();
    expect(await d.command('charge', { cmdId: 'c1', requestId: 'r-ok', amount: 2040, currency: 'EUR' })).toEqual({ ok: true });
    const res = valid('result', await ev.next('result', (x) => x.requestId === 'r-ok'));
    expect(res).toMatchObject({ status: 'approved', amount: 2040, currency: 'EUR', resultCode: 0, terminalId: '29001006', cardType: 'Debit Mastercard', maskedPan: '************4771' });
    expect(res.receiptNo).toMatch(/^[0-9]{4}$/);
    expect(res.receipt).toContain('Kundenbeleg');
    expect(res.receipt).not.toContain('Händlerbeleg');
    const prompts = ev.all.filter((e) => e.type === 'status').map((e) => valid('status', e.data).prompt);
    expect(prompts).toEqual(['insertCard', 'pleaseWait']);
    const tx = sim.books.transactions.find((t) => t.info.receiptNo === res.receiptNo)!;
    expect(tx).toMatchObject({ committed: true, reversed: false });
  });

  it('declines (amount ending 13) and cancels at the terminal (66 timeout, 67 customer)', async () => {
    const { d, ev } = await driver();
    await d.command('charge', { cmdId: 'c2', requestId: 'r-dec', amount: 1013, currency: 'EUR' });
    expect(valid('result', await ev.next('result', (x) => x.requestId === 'r-dec'))).toMatchObject({ status: 'declined', resultCode: 5 });
    await d.command('charge', { cmdId: 'c3', requestId: 'r-to', amount: 1066, currency: 'EUR' });
    expect(await ev.next('result', (x) => x.requestId === 'r-to')).toMatchObject({ status: 'cancelled', resultCode: 0x6c });
  });

  it('refuses a currency the terminal is not registered for, naming the field', async () => {
    const { d } = await driver();
    expect(await d.command('charge', { cmdId: 'c4', requestId: 'r-usd', amount: 100, currency: 'USD' })).toEqual({ ok: false, error: expect.stringMatching(/^currency: .*EUR.*USD/) });
  });

  it('cancel aborts a charge waiting for the card; after the commit it is refused', async () => {
    const { d, ev } = await driver();
    expect(await d.command('charge', { cmdId: 'c5', requestId: 'r-wait', amount: 1055, currency: 'EUR' })).toEqual({ ok: true });
    await ev.next('status', (x) => x.requestId === 'r-wait');
    expect(await d.command('cancel', { cmdId: 'c6', requestId: 'r-wait' })).toEqual({ ok: true });
    expect(await ev.next('result', (x) => x.requestId === 'r-wait')).toMatchObject({ status: 'cancelled', resultCode: 0x6c });
    expect(sim.books.commands.some((c) => c.type === 'abort')).toBe(true);
    expect(await d.command('cancel', { cmdId: 'c7', requestId: 'r-ok' })).toMatchObject({ ok: false });
  });

  it('reverses by receipt number (result cancelled), and refuses a second reversal with the terminal error', async () => {
    const { d, ev } = await driver();
    await d.command('charge', { cmdId: 'c8', requestId: 'r-rev', amount: 500, currency: 'EUR' });
    const paid = await ev.next('result', (x) => x.requestId === 'r-rev' && x.status === 'approved');
    expect(await d.command('reverse', { cmdId: 'c9', requestId: 'r-rev', amount: 500, currency: 'EUR', receiptNo: paid.receiptNo })).toEqual({ ok: true });
    expect(valid('result', await ev.next('result', (x) => x.requestId === 'r-rev' && x.status === 'cancelled'))).toMatchObject({ resultCode: 0, amount: 500 });
    expect(await d.command('reverse', { cmdId: 'c10', requestId: 'r-rev', amount: 500, currency: 'EUR' })).toEqual({ ok: false, error: expect.stringContaining('0xb4') });
  });

  it('a partial approval (amount ending 77) reports the approved amount', async () => {
    const { d, ev } = await driver();
    await d.command('charge', { cmdId: 'c11', requestId: 'r-part', amount: 1077, currency: 'EUR' });
    expect(await ev.next('result', (x) => x.requestId === 'r-part')).toMatchObject({ status: 'approved', amount: 538 });
  });

  it('end-of-day: totals, count and the receipt', async () => {
    const { d, ev } = await driver();
    expect(await d.command('endOfDay', { cmdId: 'eod-1' })).toEqual({ ok: true });
    const e = valid('endOfDay', await ev.next('endOfDay', (x) => x.cmdId === 'eod-1'));
    const settled = sim.books.transactions.filter((t) => t.settled);
    expect(e).toMatchObject({ ok: true, resultCode: 0, currency: 'EUR', count: settled.length, totalAmount: settled.reduce((s, t) => s + t.info.amount!, 0) });
    expect(e.receipt).toContain('Kassenschnitt');
  });
});

describe('zvt commit point and recovery', () => {
  it('dropped while the Status-Information was on its way: the terminal reversed it; result declined, recovered', async () => {
    const { d, ev } = await driver();
    await d.command('charge', { cmdId: 'c20', requestId: 'r-drop1', amount: 1092, currency: 'EUR' });
    const res = valid('result', await ev.next('result', (x) => x.requestId === 'r-drop1'));
    expect(res).toMatchObject({ status: 'declined', recovered: true, reversed: true, resultCode: 0xb4 });
    expect(sim.books.transactions.filter((t) => t.info.amount === 1092).every((t) => t.reversed)).toBe(true);
    expect(sim.books.commands.some((c) => c.type === 'repeatReceipt' && c.serviceByte === 3)).toBe(true);
  });

  it('dropped after the ack: the payment stands; approved, recovered', async () => {
    const { d, ev } = await driver();
    await d.command('charge', { cmdId: 'c21', requestId: 'r-drop2', amount: 1093, currency: 'EUR' });
    const res = valid('result', await ev.next('result', (x) => x.requestId === 'r-drop2'));
    expect(res).toMatchObject({ status: 'approved', amount: 1093, recovered: true });
    // The receipt the drop cut off comes back with the Repeat Receipt.
    expect(res.receipt).toContain('Kundenbeleg');
    expect(sim.books.transactions.find((t) => t.info.amount === 1093)).toMatchObject({ committed: true, reversed: false });
  });

  it('a terminal that keeps an unacknowledged approval gets it reversed by the driver', async () => {
    const keep = new ZvtSim({ autoReverse: false, terminalId: '52523535' });
    await keep.start();
    try {
      const { d, ev } = await driver({ id: 'pt-2', transport: new TcpTransport({ host: '127.0.0.1', port: keep.port }) });
      // A first payment gives the driver the terminal's last transaction to tell the next one from.
      await d.command('charge', { cmdId: 'c21b', requestId: 'r-keep0', amount: 2000, currency: 'EUR' });
      await ev.next('result', (x) => x.requestId === 'r-keep0');
      await d.command('charge', { cmdId: 'c22', requestId: 'r-keep', amount: 2092, currency: 'EUR' });
      expect(await ev.next('result', (x) => x.requestId === 'r-keep')).toMatchObject({ status: 'declined', recovered: true, reversed: true, resultCode: 0 });
      expect(keep.books.transactions.find((t) => t.kind === 'payment' && t.info.amount === 2092)).toMatchObject({ reversed: true });
      expect(keep.books.commands.some((c) => c.type === 'reversal')).toBe(true);
    } finally {
      await keep.stop();
    }
  });

  it('a restart on a journal left at "committed" publishes approved; at "committing" it reverses', async () => {
    const file = path.join(tmp.dir, 'zvt-pt-3.jsonl');
    const first = await driver({ id: 'pt-3' });
    await first.d.command('charge', { cmdId: 'c23', requestId: 'r-crash', amount: 1234, currency: 'EUR' });
    const paid = await first.ev.next('result', (x) => x.requestId === 'r-crash');
    await first.d.stop();
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { phase: string }).phase)).toEqual(['started', 'committing', 'committed', 'emitted', 'done']);
    const tx = sim.books.transactions.find((t) => t.info.receiptNo === paid.receiptNo)!;

    // As a bridge killed after the ack leaves it: the payment stands.
    writeFileSync(file, `${lines.slice(0, 3).join('\n')}\n`);
    const second = await driver({ id: 'pt-3' });
    expect(valid('result', await second.ev.next('result', (x) => x.requestId === 'r-crash'))).toMatchObject({ status: 'approved', recovered: true, receiptNo: paid.receiptNo });
    expect(tx).toMatchObject({ committed: true, reversed: false });
    await second.d.stop();

    // As a bridge killed between the journal write and the ack leaves it: the driver cannot prove
    // the commit, so it reverses the payment and reports it not paid.
    writeFileSync(file, `${lines.slice(0, 2).join('\n')}\n`);
    const third = await driver({ id: 'pt-3' });
    expect(valid('result', await third.ev.next('result', (x) => x.requestId === 'r-crash'))).toMatchObject({ status: 'declined', recovered: true, reversed: true, resultCode: 0 });
    expect(tx.reversed).toBe(true);
  });

  it('T4 runs out while the terminal is silent: the driver hangs up, asks again, and reports timeout', async () => {
    const { d, ev } = await driver({ id: 'pt-5', t4Ms: 300 });
    sim.next('waitForCard');
    await d.command('charge', { cmdId: 'c30', requestId: 'r-t4', amount: 1200, currency: 'EUR' });
    expect(valid('result', await ev.next('result', (x) => x.requestId === 'r-t4'))).toMatchObject({ status: 'timeout', recovered: true, amount: 1200 });
    expect(d.stats.reconnects).toBeGreaterThanOrEqual(1);
  });

  it('a restart on a journal left at "started" asks the terminal: not its last transaction → timeout', async () => {
    const file = path.join(tmp.dir, 'zvt-pt-4.jsonl');
    writeFileSync(file, `${JSON.stringify({ ts: new Date().toISOString(), requestId: 'r-never', phase: 'started', amount: 4242, currency: 'EUR' })}\n`);
    const { ev } = await driver({ id: 'pt-4' });
    expect(valid('result', await ev.next('result', (x) => x.requestId === 'r-never'))).toMatchObject({ status: 'timeout', recovered: true, amount: 4242 });
  });
});

describe('zvt recovery never takes an older payment for the lost charge', () => {
  it('a charge journalled at "started" whose terminal last shows an older payment of the same amount: timeout, nothing reversed', async () => {
    // A payment of 4300 made through another journal (a register before this one).
    const other = await driver({ id: 'pt-old' });
    await other.d.command('charge', { cmdId: 'o1', requestId: 'r-older', amount: 4300, currency: 'EUR' });
    const older = await other.ev.next('result', (x) => x.requestId === 'r-older');
    await other.d.stop();
    drivers.splice(drivers.indexOf(other.d), 1);
    const tx = sim.books.transactions.find((t) => t.info.receiptNo === older.receiptNo)!;
    // This terminal's new journal: a charge of the same amount that never reached the terminal, with
    // the mark the driver took before sending it (the older payment was the last one then).
    const file = path.join(tmp.dir, 'zvt-pt-new.jsonl');
    writeFileSync(file, `${JSON.stringify({ ts: new Date().toISOString(), requestId: 'r-lost', phase: 'started', amount: 4300, currency: 'EUR', before: { trace: tx.info.trace, receiptNo: tx.info.receiptNo } })}\n`);
    const reversalsBefore = sim.books.commands.filter((c) => c.type === 'reversal').length;
    const { ev } = await driver({ id: 'pt-new' });
    expect(valid('result', await ev.next('result', (x) => x.requestId === 'r-lost'))).toMatchObject({ status: 'timeout', recovered: true, amount: 4300 });
    expect(tx).toMatchObject({ committed: true, reversed: false });
    expect(sim.books.commands.filter((c) => c.type === 'reversal')).toHaveLength(reversalsBefore);
  });

  it('the driver journals the terminal\'s last transaction before each Authorization', async () => {
    const { d, ev } = await driver({ id: 'pt-mark' });
    await d.command('charge', { cmdId: 'm1', requestId: 'r-mark1', amount: 1500, currency: 'EUR' });
    const first = await ev.next('result', (x) => x.requestId === 'r-mark1');
    await d.command('charge', { cmdId: 'm2', requestId: 'r-mark2', amount: 1600, currency: 'EUR' });
    await ev.next('result', (x) => x.requestId === 'r-mark2');
    const started = readFileSync(path.join(tmp.dir, 'zvt-pt-mark.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { requestId: string; phase: string; before?: unknown }).filter((r) => r.phase === 'started');
    expect(started[0].before).toMatchObject({ trace: expect.stringMatching(/^[0-9]{6}$/) });
    expect(started[1].before).toEqual({ trace: first.trace, receiptNo: first.receiptNo });
  });
});

describe('zvt over RS-232 (socat pty, DLE STX frames, ACK/NAK)', () => {
  it('registers and approves a charge with every APDU framed and acknowledged', async () => {
    const host = path.join(tmp.dir, 'pty', 'zvt');
    const socat = await startSocat(host, `${host}.sim`);
    const serialSim = new ZvtSim({ terminalId: '65000028' });
    const simPort = new SerialTransport({ path: `${host}.sim`, baudRate: 9600, stopBits: 2, presenceCheckMs: 0 });
    simPort.on('error', () => undefined);
    await simPort.open();
    serialSim.attachSerial(simPort);
    try {
      const framed = new ZvtSerialTransport(new SerialTransport({ path: host, baudRate: 9600, stopBits: 2, presenceCheckMs: 0 }));
      const { d, ev } = await driver({ id: 'pt-serial', transport: framed });
      expect(d.birth()).toMatchObject({ terminalId: '65000028' });
      expect(await d.command('charge', { cmdId: 's1', requestId: 'r-serial', amount: 1010, currency: 'EUR' })).toEqual({ ok: true });
      expect(valid('result', await ev.next('result', (x) => x.requestId === 'r-serial'))).toMatchObject({ status: 'approved', amount: 1010, terminalId: '65000028' });
      expect(framed.badFrames).toBe(0);
      await d.stop();
      drivers.splice(drivers.indexOf(d), 1);
    } finally {
      await simPort.close().catch(() => undefined);
      await socat.stop();
    }
  });
});
