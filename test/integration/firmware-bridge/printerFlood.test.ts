/**
 * A printer that floods, over a real TCP socket to the real ESC/POS driver: Automatic Status Back
 * frames at line rate with a flapping cover and paper sensor, status bytes no poll asked for, and
 * random bytes mixed into its answers to DLE EOT. The driver sends at most one `status` per
 * `statusGapMs` and each alert once, counts what it dropped, and still prints once the printer
 * behaves. An ASB first byte followed by an endless run of XOFF is not buffered without bound.
 */
import net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EscposDriver, unfitReason } from '../../../firmware-bridge/devices/escpos/driver.js';
import { decode, encodeAsb, encodeRealtime, type PrinterModel, type PrinterState } from '../../../firmware-bridge/devices/escpos/status.js';
import { TcpTransport } from '../../../firmware-bridge/transports/tcp.js';
import type { DeviceEvent } from '../../../firmware-bridge/devices/deviceDriver.js';
import { checkEvent } from '../../../gateway/protocol/validate.js';
import { SAMPLE_RECEIPT } from '../../unit/firmware-bridge/devices/escpos/receiptFixture.js';

const SEED = 1619;
const GAP = 100;
const FINE: PrinterModel = { paper: 'ok', coverOpen: false, cutterError: false };
let server: net.Server;
/** Written once to each connection, before its first poll is answered. */
let flood: Buffer = Buffer.alloc(0);

beforeAll(async () => {
  server = net.createServer((s) => {
    let flooded = false;
    s.on('error', () => undefined);
    s.on('data', (chunk) => {
      // DLE EOT n anywhere in what the host sends (a real printer reads it even inside a job).
      const answers: number[] = [];
      for (let i = 0; i + 2 < chunk.length; i++) if (chunk[i] === 0x10 && chunk[i + 1] === 0x04) answers.push(encodeRealtime(chunk[i + 2]!, FINE));
      if (!flooded && answers.length) {
        flooded = true;
        s.write(flood);
      }
      if (answers.length) s.write(Buffer.from(answers));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const fit = (e: DeviceEvent) => e.type === 'status' && unfitReason(e.data as unknown as PrinterState) === null;

function nextFit(d: EscposDriver): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no fit status after the flood')), 5000);
    const f = (e: DeviceEvent) => {
      if (!fit(e)) return;
      clearTimeout(t);
      d.off('event', f);
      resolve();
    };
    d.on('event', f);
  });
}

describe('escpos driver under a flooding printer', () => {
  it('bounds status events and alerts, and prints once the printer behaves (seeded)', async () => {
    const model = fc.record({ paper: fc.constantFrom('ok', 'nearEnd', 'out'), coverOpen: fc.boolean(), cutterError: fc.boolean() }) as fc.Arbitrary<PrinterModel>;
    const part = fc.oneof(
      fc.array(model, { minLength: 1, maxLength: 3000 }).map((ms) => Buffer.concat(ms.map((m) => encodeAsb(m)))),
      fc.array(fc.integer({ min: 0, max: 255 }).map((b) => (b & ~0x93) | 0x12), { maxLength: 3000 }).map((b) => Buffer.from(b)),
      fc.uint8Array({ maxLength: 3000 }).map((b) => Buffer.from(b)),
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(part, { minLength: 1, maxLength: 4 }), async (parts) => {
        flood = Buffer.concat(parts);
        const d = new EscposDriver({ id: `pr-f${n++}`, transport: new TcpTransport({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port }), statusPollMs: 50, statusTimeoutMs: 300, statusGapMs: GAP, alertRepeatMs: 60_000 });
        const events: DeviceEvent[] = [];
        d.on('event', (e) => events.push(e));
        const t0 = performance.now();
        await d.start();
        try {
          // After the flood the printer answers polls truthfully (fine): the driver must get back to
          // printing. The flood may still be arriving when a poll says fine, so a refused print is
          // tried again after the next fit status.
          let printed = { ok: false } as { ok: boolean; error?: string };
          for (let i = 0; i < 20 && !printed.ok; i++) {
            if (!(d.status && unfitReason(d.status) === null)) await nextFit(d);
            printed = await d.command('print', { cmdId: `p${n}-${i}`, receipt: SAMPLE_RECEIPT });
          }
          expect(printed).toEqual({ ok: true });
          const elapsed = performance.now() - t0;
          const alerts = events.filter((e) => e.type === 'alert').map((e) => e.data.code as string);
          expect(alerts.length).toBe(new Set(alerts).size);
          // One per gap, plus the state each (once-only) alert sends ahead of itself.
          const statuses = events.filter((e) => e.type === 'status').length;
          expect(statuses).toBeLessThanOrEqual(Math.ceil(elapsed / GAP) + 2 + alerts.length);
          for (const e of events) expect(checkEvent('printer', e.type, JSON.stringify(e.data))).toMatchObject({ ok: true });
        } finally {
          await d.stop();
        }
      }),
      { seed: SEED, numRuns: 10 },
    );
  }, 30_000);

  it('does not keep an ASB first byte followed by an endless XOFF run buffered (seeded)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 9, max: 100_000 }), fc.uint8Array({ maxLength: 16 }), (xoffs, tail) => {
        const r = decode(Buffer.concat([Buffer.from([0x10]), Buffer.alloc(xoffs, 0x13), Buffer.from(tail)]));
        expect(r.rest.length).toBeLessThanOrEqual(16);
      }),
      { seed: SEED, numRuns: 50 },
    );
  });
});
