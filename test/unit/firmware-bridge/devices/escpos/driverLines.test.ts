/**
 * The ESC/POS driver on its other paths: a serial printer through a real socat pty pair (the
 * simulator on the far end, as on a USB-serial line), and a "printer" that answers garbage: seeded
 * random bytes never throw, are counted, and every event the driver emits still fits its schema.
 */
import net from 'node:net';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { EscposDriver } from '../../../../../firmware-bridge/devices/escpos/driver.js';
import { PrinterSim } from '../../../../../firmware-bridge/devices/escpos/sim.js';
import { startSocat, type Socat } from '../../../../../firmware-bridge/simulators.js';
import { SerialTransport } from '../../../../../firmware-bridge/transports/serial.js';
import { TcpTransport } from '../../../../../firmware-bridge/transports/tcp.js';
import type { DeviceEvent } from '../../../../../firmware-bridge/devices/deviceDriver.js';
import { checkEvent } from '../../../../../gateway/protocol/validate.js';
import { tempDir } from '../../../../helpers/tmp.js';
import { SAMPLE_RECEIPT } from './receiptFixture.js';

const tmp = tempDir('sgw-escpos-');
afterAll(() => tmp.remove());

function nextEvent(d: EscposDriver, match: (e: DeviceEvent) => boolean): Promise<DeviceEvent> {
  return new Promise((resolve) => {
    const on = (e: DeviceEvent) => {
      if (!match(e)) return;
      d.off('event', on);
      resolve(e);
    };
    d.on('event', on);
  });
}

describe('EscposDriver on a serial line (socat pty)', () => {
  let socat: Socat | null = null;
  let detach: (() => Promise<void>) | null = null;
  let driver: EscposDriver | null = null;
  afterAll(async () => {
    await driver?.stop();
    await detach?.();
    await socat?.stop();
  });

  it('prints a Chinese receipt on a CJK printer and reports paper out, over the pty', async () => {
    const host = path.join(tmp.dir, 'pty', 'printer');
    socat = await startSocat(host, `${host}.sim`);
    const sim = new PrinterSim({ cjkAtPowerOn: true });
    detach = await sim.attach(new SerialTransport({ path: `${host}.sim`, baudRate: 115200 }));
    driver = new EscposDriver({ id: 'p-serial', transport: new SerialTransport({ path: host, baudRate: 115200 }), cjk: true, width: 32, statusPollMs: 100 });
    const first = nextEvent(driver, (e) => e.type === 'status');
    await driver.start();
    expect((await first).data).toMatchObject({ online: true, paper: 'ok' });

    const printed = sim.nextReceipt();
    const zh = { ...SAMPLE_RECEIPT, language: 'zh' as const, storeName: '演示商店', lines: [{ text: '苹果', qty: '0.512 kg x €2.99/kg', amount: 153 }] };
    expect(await driver.command('print', { cmdId: 'c-1', receipt: zh })).toEqual({ ok: true });
    const r = await printed;
    expect(r.lines[0].text).toBe('演示商店');
    expect(r.lines.map((l) => l.text)).toContain(`苹果${' '.repeat(23)}€1.53`);
    expect(r.qr).toEqual(['https://r.example/t-1']);

    const out = nextEvent(driver, (e) => e.type === 'alert' && e.data.code === 'PRINTER_PAPER_OUT');
    sim.setPaper('out');
    await out;
    expect(await driver.command('print', { cmdId: 'c-2', receipt: zh })).toEqual({ ok: false, error: 'paper out' });
  });
});

describe('EscposDriver against a printer that answers garbage', () => {
  it('never throws, counts what it skipped, and emits only events that fit their schemas (seeded)', async () => {
    const chunks = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 64 }), { seed: 1612, numRuns: 60 });
    let sent = 0;
    let done: () => void = () => undefined;
    const allSent = new Promise<void>((resolve) => (done = resolve));
    // Each status poll is answered with the next random chunk instead of four status bytes.
    const server = net.createServer((s) => {
      s.on('data', () => {
        if (sent < chunks.length) s.write(Buffer.from(chunks[sent++]));
        if (sent === chunks.length) done();
      });
      s.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const driver = new EscposDriver({ id: 'p-garbage', transport: new TcpTransport({ host: '127.0.0.1', port }), statusPollMs: 50, statusTimeoutMs: 50 });
    const events: DeviceEvent[] = [];
    driver.on('event', (e) => events.push(e));
    await driver.start();
    await allSent;
    const printed = await driver.command('print', { cmdId: 'c-1', receipt: SAMPLE_RECEIPT });
    await driver.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(printed.ok).toBe(false);
    expect(driver.stats.garbageBytes + driver.stats.badFrames).toBeGreaterThan(0);
    expect(events.length).toBeGreaterThan(0);
    for (const e of events) expect(checkEvent('printer', e.type, JSON.stringify(e.data))).toMatchObject({ ok: true });
  });
});
