/**
 * A terminal that floods, over a real TCP socket to the real ZVT driver: thousands of `04 FF`
 * prompts and print lines around an approval, a print-line stream that never closes, and an
 * approval in a currency the register did not charge. Prompts reach the gateway at most once per
 * `promptGapMs` with the newest one last, the receipt stays within the contract's 200 lines, a
 * never-ending exchange is cut, and a foreign-currency approval is never acknowledged.
 */
import net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZvtDriver } from '../../../firmware-bridge/devices/zvt/driver.js';
import { decodeApdus } from '../../../firmware-bridge/devices/zvt/apdu.js';
import { ACK } from '../../../firmware-bridge/devices/zvt/codec.js';
import { abortMessage, completion, decodeCommand, intermediate, printLine, statusInformation, textBlock } from '../../../firmware-bridge/devices/zvt/ptMessages.js';
import { TcpTransport } from '../../../firmware-bridge/transports/tcp.js';
import type { DeviceEvent } from '../../../firmware-bridge/devices/deviceDriver.js';
import { checkEvent } from '../../../gateway/protocol/validate.js';
import { tempDir } from '../../helpers/tmp.js';

const SEED = 1618;
const GAP = 40;
let tmp: { dir: string; remove: () => void };
let server: net.Server;
/** What the terminal does after the 80 00 00 of an Authorization. */
let onCharge: (socket: net.Socket) => void = () => undefined;
/** Bytes the register sent after the terminal's last scripted message, per connection. */
let afterScript: Buffer[] = [];

beforeAll(async () => {
  tmp = tempDir('sgw-zvt-flood-');
  server = net.createServer((socket) => {
    let rest: Buffer = Buffer.alloc(0);
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      afterScript.push(chunk);
      const r = decodeApdus(Buffer.concat([rest, chunk]));
      rest = r.rest;
      for (const a of r.events) {
        const c = decodeCommand(a);
        if (c.type === 'registration') socket.write(Buffer.concat([ACK, completion({ statusByte: 0, terminalId: '29001006', currency: '978' })]));
        else if (c.type === 'authorization') {
          socket.write(ACK);
          afterScript = [];
          onCharge(socket);
        } else if (c.type === 'repeatReceipt' || c.type === 'reversal' || c.type === 'statusEnquiry') socket.write(Buffer.concat([ACK, abortMessage(0x83)]));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  tmp.remove();
});

let n = 0;
async function driver(extra: Partial<ConstructorParameters<typeof ZvtDriver>[0]> = {}): Promise<{ d: ZvtDriver; events: DeviceEvent[] }> {
  const d = new ZvtDriver({ id: `pt-f${n++}`, transport: new TcpTransport({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port }), stateDir: tmp.dir, t3Ms: 500, t4Ms: 2000, statusIntervalMs: 0, promptGapMs: GAP, backoff: { initialMs: 10, maxMs: 50, factor: 2 }, ...extra });
  const events: DeviceEvent[] = [];
  d.on('event', (e) => events.push(e));
  await d.start();
  if (!d.online) await new Promise<void>((r) => d.once('online', () => r()));
  return { d, events };
}

function firstEvent(d: ZvtDriver, pred: (e: DeviceEvent) => boolean, what: string, ms = 8000): Promise<DeviceEvent> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    const f = (e: DeviceEvent) => {
      if (!pred(e)) return;
      clearTimeout(t);
      d.off('event', f);
      resolve(e);
    };
    d.on('event', f);
  });
}

describe('zvt driver under a flooding terminal', () => {
  it('coalesces a prompt flood, caps the receipt at 200 lines, and still books the approval (seeded)', async () => {
    const printable = fc.string({ maxLength: 60 }).map((s) => s.replace(/[^\x20-\x7e]/g, '?'));
    const flood = fc.record({
      prompts: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 1500 }),
      lines: fc.array(printable, { maxLength: 600 }),
      blocks: fc.array(fc.array(printable, { maxLength: 40 }), { maxLength: 5 }),
      last: fc.integer({ min: 0, max: 255 }),
    });
    await fc.assert(
      fc.asyncProperty(flood, async ({ prompts, lines, blocks, last }) => {
        const { d, events } = await driver();
        try {
          onCharge = (socket) => {
            const parts: Buffer[] = [];
            prompts.forEach((p, i) => {
              parts.push(intermediate(p));
              if (i < lines.length) parts.push(printLine(0, lines[i]));
            });
            for (const l of lines.slice(prompts.length)) parts.push(printLine(0, l));
            for (const b of blocks) parts.push(textBlock(2, b, false));
            parts.push(intermediate(last));
            parts.push(statusInformation({ resultCode: 0, amount: 100, currency: '978', receiptNo: '0001', trace: '000001' }));
            parts.push(completion());
            socket.write(Buffer.concat(parts));
          };
          const t0 = performance.now();
          const result = firstEvent(d, (e) => e.type === 'result', 'the result');
          expect((await d.command('charge', { cmdId: `c${n}`, requestId: `f-${n}`, amount: 100, currency: 'EUR' })).ok).toBe(true);
          const r = await result;
          const elapsed = performance.now() - t0;
          expect(r.data.status).toBe('approved');
          expect((r.data.receipt as string[]).length).toBeLessThanOrEqual(200);
          const statuses = events.filter((e) => e.type === 'status');
          // One right away, then at most one per gap; the newest prompt is the last one out, before the result.
          expect(statuses.length).toBeLessThanOrEqual(Math.ceil(elapsed / GAP) + 2);
          expect(statuses.at(-1)!.data.code).toBe(last);
          expect(events.indexOf(statuses.at(-1)!)).toBeLessThan(events.indexOf(r));
          for (const e of events) {
            const c = checkEvent('payment', e.type, JSON.stringify(e.data));
            expect(c.ok ? 'ok' : `${e.type}: ${c.reason}`).toBe('ok');
          }
        } finally {
          await d.stop();
        }
      }),
      { seed: SEED, numRuns: 12 },
    );
  }, 30_000);

  it('cuts an exchange whose print-line stream never closes (seeded)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e]/g, '?')), { minLength: 1, maxLength: 20 }), async (texts) => {
        const { d } = await driver({ maxMessagesPerExchange: 300 });
        try {
          let sent = 0;
          let closed!: () => void;
          const gone = new Promise<void>((r) => (closed = r));
          onCharge = (socket) => {
            socket.once('close', () => closed());
            // One more line for every ack: a stream that ends only when the register hangs up.
            const next = () => socket.write(printLine(0, texts[sent++ % texts.length]));
            socket.on('data', next);
            next();
          };
          void d.command('charge', { cmdId: `s${n}`, requestId: `s-${n}`, amount: 100, currency: 'EUR' });
          await gone;
          expect(sent).toBeGreaterThan(250);
          expect(sent).toBeLessThan(400);
        } finally {
          await d.stop();
        }
      }),
      { seed: SEED, numRuns: 3 },
    );
  }, 30_000);

  it('never acknowledges an approval in another currency than the charge (seeded)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('840', '826', '756', '999'), fc.integer({ min: 1, max: 100 }), async (currency, amount) => {
        const { d, events } = await driver();
        try {
          let closed!: () => void;
          const gone = new Promise<void>((r) => (closed = r));
          onCharge = (socket) => {
            socket.once('close', () => closed());
            afterScript = [];
            socket.write(statusInformation({ resultCode: 0, amount, currency, receiptNo: '0002', trace: '000002' }));
          };
          void d.command('charge', { cmdId: `x${n}`, requestId: `x-${n}`, amount: 100, currency: 'EUR' });
          await gone;
          // The register hung up without the 80 00 00 that would commit the payment.
          expect(Buffer.concat(afterScript).includes(ACK)).toBe(false);
          expect(events.some((e) => e.type === 'result' && e.data.status === 'approved')).toBe(false);
        } finally {
          await d.stop();
        }
      }),
      { seed: SEED, numRuns: 6 },
    );
  }, 30_000);
});
