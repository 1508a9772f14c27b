/**
 * The printer simulator reads back what the codec renders, over a real TCP socket: text with €
 * and Chinese, styles, the QR payload and the cut; it answers DLE EOT from its paper and cover.
 */
import net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReceipt } from '../../../../../firmware-bridge/devices/escpos/codec.js';
import * as c from '../../../../../firmware-bridge/devices/escpos/commands.js';
import { PrinterSim } from '../../../../../firmware-bridge/devices/escpos/sim.js';
import { SAMPLE_RECEIPT } from './receiptFixture.js';

let sim: PrinterSim;
let cjkSim: PrinterSim;
let port: number;
let cjkPort: number;

beforeAll(async () => {
  sim = new PrinterSim();
  port = await sim.listen();
  cjkSim = new PrinterSim({ cjkAtPowerOn: true });
  cjkPort = await cjkSim.listen();
});
afterAll(async () => {
  await sim.stop();
  await cjkSim.stop();
});

async function connect(p: number): Promise<net.Socket> {
  const s = net.connect(p, '127.0.0.1');
  await new Promise((resolve) => s.once('connect', resolve));
  return s;
}

describe('printer simulator', () => {
  it('decodes a rendered receipt into its lines, styles, QR payload and cut', async () => {
    const socket = await connect(port);
    const printed = sim.nextReceipt();
    socket.write(renderReceipt(SAMPLE_RECEIPT, { width: 32 }));
    const r = await printed;
    socket.destroy();
    const text = r.lines.map((l) => l.text);
    expect(r.lines[0]).toMatchObject({ text: 'Demo Store', align: 'center', bold: true, width: 2, height: 2 });
    expect(text).toContain('Organic whole milk 1 l     €1.29');
    expect(text).toContain('  0.512 kg x €2.99/kg');
    expect(r.lines.find((l) => l.text.startsWith('TOTAL'))).toMatchObject({ text: `TOTAL${' '.repeat(22)}€2.82`, bold: true, height: 2 });
    expect(text).toContain('************4771');
    expect(r.qr).toEqual(['https://r.example/t-1']);
    expect(r.cut).toEqual([0x41, 3]);
  });

  it('reads Chinese back on a printer that starts in Chinese mode, and € beside it', async () => {
    const socket = await connect(cjkPort);
    const printed = cjkSim.nextReceipt();
    const zh = { ...SAMPLE_RECEIPT, language: 'zh' as const, storeName: '演示商店', lines: [{ text: '有机全脂牛奶', amount: 129 }], totals: [{ label: '合计', amount: 129, bold: true }], footer: ['谢谢惠顾'] };
    socket.write(renderReceipt(zh, { cjk: true, width: 32 }));
    const r = await printed;
    socket.destroy();
    const text = r.lines.map((l) => l.text);
    expect(text[0]).toBe('演示商店');
    expect(text).toContain(`有机全脂牛奶${' '.repeat(15)}€1.29`);
    expect(text).toContain('谢谢惠顾');
    expect(text).toContain('************4771');
  });

  it('round-trips any receipt text in CP858 and on a CJK printer (property)', async () => {
    const socket = await connect(cjkPort);
    const samples = fc.sample(fc.array(fc.constantFrom(...'abcXYZ019 äöüß€-牛奶苹果'.split('')), { minLength: 1, maxLength: 20 }).map((a) => a.join('').trim() || 'x'), { seed: 1612, numRuns: 25 });
    for (const s of samples) {
      const printed = cjkSim.nextReceipt();
      socket.write(Buffer.concat([c.init(), renderReceipt({ ...SAMPLE_RECEIPT, lines: [{ text: s, amount: 1 }], qr: `https://r.example/${encodeURIComponent(s)}` }, { cjk: true, width: 48 })]));
      const r = await printed;
      expect(r.lines.some((l) => l.text.replace(/ +€0\.01$/, '') === s.replace(/ +/g, ' '))).toBe(true);
      expect(r.qr).toEqual([`https://r.example/${encodeURIComponent(s)}`]);
    }
    socket.destroy();
  });

  it('answers DLE EOT from its model, also when the request is split across reads', async () => {
    const socket = await connect(port);
    const replies: number[] = [];
    let want = 0;
    let done: () => void = () => undefined;
    socket.on('data', (d) => {
      replies.push(...d);
      if (replies.length >= want) done();
    });
    const ask = (bytes: Buffer[], n: number) =>
      new Promise<void>((resolve) => {
        want = replies.length + n;
        done = resolve;
        for (const b of bytes) socket.write(b);
      });
    await ask([c.statusRequest(4)], 1);
    sim.setPaper('out');
    sim.set({ coverOpen: true });
    const poll = Buffer.concat([c.statusRequest(1), c.statusRequest(2), c.statusRequest(4)]);
    await ask([poll.subarray(0, 4), poll.subarray(4)], 3);
    sim.set({ paper: 'ok', coverOpen: false });
    socket.destroy();
    expect(replies).toEqual([0x12, 0x1a, 0x36, 0x7e]);
  });

  it('sends ASB frames after GS a, and again when the model changes', async () => {
    const socket = await connect(port);
    const got: number[] = [];
    const frames = (n: number) =>
      new Promise<void>((resolve) => {
        const on = (d: Buffer) => {
          got.push(...d);
          if (got.length >= n * 4) {
            socket.off('data', on);
            resolve();
          }
        };
        socket.on('data', on);
      });
    const first = frames(1);
    socket.write(c.asb(0x0f));
    await first;
    const second = frames(2);
    sim.setPaper('out');
    await second;
    sim.setPaper('ok');
    socket.destroy();
    expect(got).toEqual([0x10, 0, 0, 0, 0x18, 0, 0x0f, 0]);
  });
});
