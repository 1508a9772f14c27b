/**
 * The print journal against the printer simulator over real TCP, counting the jobs it prints: a
 * command the gateway re-sends after a bridge restart is acked without printing when the journal
 * says it was printed, and printed again marked as a duplicate when the journal says it was being
 * sent (it may or may not have come out). A fresh driver on the same stateDir stands for the
 * restarted bridge; a torn last line (a crash mid-append) is skipped.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DUPLICATE_MARK, EscposDriver } from '../../../../../firmware-bridge/devices/escpos/driver.js';
import { PrinterSim } from '../../../../../firmware-bridge/devices/escpos/sim.js';
import { TcpTransport } from '../../../../../firmware-bridge/transports/tcp.js';
import type { DeviceEvent } from '../../../../../firmware-bridge/devices/deviceDriver.js';
import { tempDir } from '../../../../helpers/tmp.js';
import { SAMPLE_RECEIPT } from './receiptFixture.js';

let sim: PrinterSim;
let port: number;
let tmp: { dir: string; remove: () => void };
const running: EscposDriver[] = [];

function statusOk(d: EscposDriver): Promise<void> {
  if (d.status && d.status.online && d.status.paper === 'ok' && !d.status.coverOpen && d.status.error === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const on = (e: DeviceEvent) => {
      if (e.type !== 'status' || e.data.paper !== 'ok' || e.data.coverOpen !== false || e.data.online !== true) return;
      d.off('event', on);
      resolve();
    };
    d.on('event', on);
  });
}

/** A driver on the shared stateDir, started and ready to print (the bridge after a (re)start). */
async function startDriver(): Promise<EscposDriver> {
  const d = new EscposDriver({ id: 'k1-printer', transport: new TcpTransport({ host: '127.0.0.1', port }), statusPollMs: 100, statusTimeoutMs: 300, width: 42, stateDir: path.join(tmp.dir, 'state') });
  running.push(d);
  const ready = statusOk(d);
  await d.start();
  await ready;
  return d;
}

async function stopAll(): Promise<void> {
  for (const d of running.splice(0)) await d.stop();
}

const phases = () => readFileSync(path.join(tmp.dir, 'state', 'escpos-k1-printer.jsonl'), 'utf8').trim().split('\n').filter((l) => l.endsWith('}')).map((l) => JSON.parse(l) as { cmdId: string; phase: string });

beforeAll(async () => {
  tmp = tempDir('escpos-journal-');
  sim = new PrinterSim();
  port = await sim.listen();
});
afterEach(stopAll);
afterAll(async () => {
  await sim.stop();
  tmp.remove();
});

describe('print journal', () => {
  it('a command printed before the restart is acked again without printing', async () => {
    const first = await startDriver();
    expect(await first.command('print', { cmdId: 'p-1', receipt: SAMPLE_RECEIPT })).toEqual({ ok: true });
    expect(sim.receipts).toHaveLength(1);
    expect(phases().filter((r) => r.cmdId === 'p-1').map((r) => r.phase)).toEqual(['sending', 'printed']);
    await stopAll();
    // A crash can tear the last line; it is skipped.
    appendFileSync(path.join(tmp.dir, 'state', 'escpos-k1-printer.jsonl'), '{"ts":"2026-');

    const again = await startDriver();
    expect(await again.command('print', { cmdId: 'p-1', receipt: SAMPLE_RECEIPT })).toEqual({ ok: true });
    // A new command still prints: the count moves by one, for it alone.
    const next = sim.nextReceipt();
    expect(await again.command('print', { cmdId: 'p-2', receipt: SAMPLE_RECEIPT })).toEqual({ ok: true });
    expect((await next).lines[0]!.text).not.toBe(DUPLICATE_MARK);
    expect(sim.receipts).toHaveLength(2);
  });

  it('a command left at "sending" (no confirmation after the job) prints again, marked as a duplicate', async () => {
    const first = await startDriver();
    const before = sim.receipts.length;
    // The job comes out, then the check after it fails: the journal is left at "sending", as by a crash mid-job.
    sim.once('receipt', () => sim.set({ coverOpen: true }));
    expect(await first.command('print', { cmdId: 'p-3', receipt: SAMPLE_RECEIPT })).toEqual({ ok: false, error: 'cover open' });
    expect(sim.receipts.length).toBe(before + 1);
    expect(phases().filter((r) => r.cmdId === 'p-3').map((r) => r.phase)).toEqual(['sending']);
    await stopAll();
    sim.set({ coverOpen: false });

    const again = await startDriver();
    const printed = sim.nextReceipt();
    expect(await again.command('print', { cmdId: 'p-3', receipt: SAMPLE_RECEIPT })).toEqual({ ok: true });
    const r = await printed;
    expect(r.lines[0]).toMatchObject({ text: DUPLICATE_MARK, bold: true, align: 'center' });
    expect(r.lines[1]!.text).toBe(SAMPLE_RECEIPT.storeName);
    expect(sim.receipts.length).toBe(before + 2);
    // The restart's compaction kept the first "sending"; the duplicate wrote its own, then "printed".
    expect(phases().filter((x) => x.cmdId === 'p-3').map((x) => x.phase)).toEqual(['sending', 'sending', 'printed']);
    // And once printed, a further re-send prints nothing.
    expect(await again.command('print', { cmdId: 'p-3', receipt: SAMPLE_RECEIPT })).toEqual({ ok: true });
    expect(sim.receipts.length).toBe(before + 2);
  });
});
