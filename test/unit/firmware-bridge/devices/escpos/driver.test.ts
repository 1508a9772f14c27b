/**
 * The ESC/POS driver against the printer simulator over real TCP (TcpTransport, the bridge's own):
 * a print is acked only after the printer reports fine after the job; paper out and an open cover
 * become status events, alerts and a refused print; a printer that stops answering is noticed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { EscposDriver } from '../../../../../firmware-bridge/devices/escpos/driver.js';
import { PrinterSim } from '../../../../../firmware-bridge/devices/escpos/sim.js';
import { TcpTransport } from '../../../../../firmware-bridge/transports/tcp.js';
import { parseBridgeConfig } from '../../../../../firmware-bridge/config.js';
import type { DeviceEvent } from '../../../../../firmware-bridge/devices/deviceDriver.js';
import { SAMPLE_RECEIPT } from './receiptFixture.js';

let sim: PrinterSim;
let driver: EscposDriver;
const events: DeviceEvent[] = [];

/** Resolves with the next driver event that matches. */
function nextEvent(match: (e: DeviceEvent) => boolean): Promise<DeviceEvent> {
  return new Promise((resolve) => {
    const on = (e: DeviceEvent) => {
      if (!match(e)) return;
      driver.off('event', on);
      resolve(e);
    };
    driver.on('event', on);
  });
}
const status = (paper: string, coverOpen = false) => (e: DeviceEvent) => e.type === 'status' && e.data.paper === paper && e.data.coverOpen === coverOpen;

beforeAll(async () => {
  sim = new PrinterSim();
  const port = await sim.listen();
  driver = new EscposDriver({ id: 'k1-printer', transport: new TcpTransport({ host: '127.0.0.1', port }), statusPollMs: 100, statusTimeoutMs: 300, width: 42 });
  driver.on('event', (e) => events.push(e));
  const first = nextEvent(status('ok'));
  await driver.start();
  await first;
});
afterAll(async () => {
  await driver.stop();
  await sim.stop();
});

describe('EscposDriver', () => {
  it('prints a receipt and acks it after the status poll that follows the job', async () => {
    const printed = sim.nextReceipt();
    const ack = await driver.command('print', { cmdId: 'c-1', receipt: SAMPLE_RECEIPT });
    const r = await printed;
    expect(ack).toEqual({ ok: true });
    expect(r.qr).toEqual(['https://r.example/t-1']);
    expect(r.lines.map((l) => l.text)).toContain(`TOTAL${' '.repeat(32)}€2.82`);
    expect(driver.birth().capabilities).toContain('width:42');
  });

  it('paper out: a status event, an alert for the attendant, and a print refused with the reason', async () => {
    const st = nextEvent(status('out'));
    const alert = nextEvent((e) => e.type === 'alert');
    sim.setPaper('out');
    expect((await st).data).toMatchObject({ online: false, paper: 'out', coverOpen: false });
    expect((await alert).data).toMatchObject({ code: 'PRINTER_PAPER_OUT', severity: 'critical' });
    expect(await driver.command('print', { cmdId: 'c-2', receipt: SAMPLE_RECEIPT })).toEqual({ ok: false, error: 'paper out' });
    const back = nextEvent(status('ok'));
    sim.setPaper('ok');
    expect((await back).data).toMatchObject({ online: true, paper: 'ok' });
  });

  it('a cover opened while the job is sent: the check after the job refuses the ack', async () => {
    // The printer was fine when the job started; the poll after it says otherwise.
    const polled = new Promise<void>((resolve) => sim.once('status', () => resolve()));
    const run = driver.command('print', { cmdId: 'c-3', receipt: SAMPLE_RECEIPT });
    sim.once('receipt', () => sim.set({ coverOpen: true }));
    await polled;
    expect(await run).toEqual({ ok: false, error: 'cover open' });
    expect(events.some((e) => e.type === 'alert' && e.data.code === 'PRINTER_COVER_OPEN')).toBe(true);
    const back = nextEvent(status('ok'));
    sim.set({ coverOpen: false });
    await back;
  });

  it('paper near end is a warning only: prints still succeed', async () => {
    const alert = nextEvent((e) => e.type === 'alert');
    sim.setPaper('nearEnd');
    expect((await alert).data).toMatchObject({ code: 'PRINTER_PAPER_LOW', severity: 'info' });
    expect(await driver.command('print', { cmdId: 'c-4', receipt: SAMPLE_RECEIPT })).toEqual({ ok: true });
    const back = nextEvent(status('ok'));
    sim.setPaper('ok');
    await back;
  });

  it('a printer that stops answering status requests is reported, and prints fail', async () => {
    const alert = nextEvent((e) => e.type === 'alert' && e.data.code === 'PRINTER_NOT_RESPONDING');
    sim.answerStatus = false;
    await alert;
    expect(driver.status).toMatchObject({ online: false, error: 'no status reply' });
    expect((await driver.command('print', { cmdId: 'c-5', receipt: SAMPLE_RECEIPT })).ok).toBe(false);
    const back = nextEvent(status('ok'));
    sim.answerStatus = true;
    expect((await back).data).toEqual({ ts: expect.any(String), online: true, paper: 'ok', coverOpen: false });
  });

  it('refuses a malformed receipt and unknown commands without throwing', async () => {
    expect(await driver.command('print', { cmdId: 'c-6' })).toEqual({ ok: false, error: 'receipt: cannot be printed (receipt: is required)' });
    expect((await driver.command('print', { cmdId: 'c-7', receipt: { lines: 'x' } })).ok).toBe(false);
    expect(await driver.command('feed', { cmdId: 'c-8' })).toEqual({ ok: false, error: 'unknown command: feed' });
  });
});

describe('bridge config for escpos', () => {
  const base = (device: Record<string, unknown>) => stringify({ mqtt: { url: 'mqtt://127.0.0.1:1883', username: 'bridge/kb', password: 'p' }, devices: [device] });
  it('takes a printer on tcp or serial with its options', () => {
    const r = parseBridgeConfig(base({ kind: 'printer', id: 'k1-printer', protocol: 'escpos', tcp: { host: '10.0.0.40', port: 9100 }, options: { codePage: 'wpc1252', cjk: true, width: 32, statusPollMs: 1000 } }));
    expect(r.ok).toBe(true);
    expect(parseBridgeConfig(base({ kind: 'printer', id: 'p', protocol: 'escpos', serial: { path: '/dev/ttyUSB3' } })).ok).toBe(true);
  });
  it('names what is wrong', () => {
    const r = parseBridgeConfig(base({ kind: 'scale', id: 'p', protocol: 'escpos', tcp: { host: 'h', port: 9100 }, serial: { path: '/dev/x' }, options: { codePage: 'cp437', width: 8 } }));
    expect(r.ok ? [] : r.errors).toEqual(
      expect.arrayContaining([
        'devices[0].kind: protocol escpos publishes as kind "printer" (got "scale")',
        'devices[0].tcp: give one of tcp or serial, not several',
        'devices[0].options.codePage: must be one of "cp858", "wpc1252"',
        'devices[0].options.width: must be >= 16',
      ]),
    );
  });
});
