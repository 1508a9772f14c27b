/**
 * Receipt bench: the bytes of a printed receipt and the time to print one.
 *
 * bytes   a typical sale (20 lines, two of them by weight and one of several pieces, two VAT
 *         rates, the card payment with the terminal's own receipt lines, the QR of the digital
 *         receipt) made into the printer's receipt by the gateway (kiosk/receipt.ts), rendered by
 *         the escpos codec for an 80 mm printer (48 columns, CP858); the same sale in Chinese
 *         (Chinese item names and labels) on a CJK printer (GB18030, two bytes per Han character).
 * print   the gateway's `print` command sent (command store → MQTT → an in-process Bridge → the
 *         escpos driver → TCP → the printer simulator) → the printer's ack committed at the
 *         gateway. The driver acks a job once a status poll sent after it was answered, so the
 *         figure includes one DLE EOT round trip; the simulator prints instantly.
 */
import os from 'node:os';
import { startGateway } from '../helpers/gatewayHarness.js';
import { buildReceipt } from '../../gateway/kiosk/receipt.js';
import type { KioskTransactionRec } from '../../gateway/protocol/schemas/kiosk.js';
import type { ReceiptDoc } from '../../gateway/protocol/schemas/printer.js';
import { renderReceipt } from '../../firmware-bridge/devices/escpos/codec.js';
import { PrinterSim } from '../../firmware-bridge/devices/escpos/sim.js';
import { Samples } from './stats.js';
import { CommittedEvents, round, startBridge, type TerminalBenchRow } from './terminalRig.js';

const NAMES_ZH = ['全脂牛奶 1 升', '酸面包 750 克', '散养鸡蛋 10 枚', '黄油 250 克', '高达奶酪', '布雷本苹果', '香蕉', '藤上番茄', '意式咖啡豆 1 公斤', '橙汁 1 升'];
const NAMES = ['Whole milk 1 l', 'Sourdough bread 750 g', 'Free-range eggs 10', 'Butter 250 g', 'Gouda young', 'Apples Braeburn', 'Bananas', 'Tomatoes on the vine', 'Espresso beans 1 kg', 'Orange juice 1 l'];

/** A sale as the kiosk records it: 20 lines, 7 % and 19 % VAT, paid by card; item names in `language`. */
export function typicalSale(language: 'en' | 'zh' = 'en'): KioskTransactionRec {
  const names = language === 'zh' ? NAMES_ZH : NAMES;
  const lines = Array.from({ length: 20 }, (_, i) => {
    const name = i < names.length ? names[i]! : language === 'zh' ? `日用品 ${i + 1}` : `Household item ${i + 1}`;
    const unitPrice = 99 + ((i * 137) % 900);
    if (i === 5 || i === 6) return { gtin: `20000000000${10 + i}`, name, qty: 1, grams: 512 + i * 40, unitPrice, price: Math.round((unitPrice * (512 + i * 40)) / 1000), vatRateBp: 700 };
    const qty = i === 2 ? 3 : 1;
    return { gtin: `40063813339${10 + i}`, name, qty, unitPrice, price: unitPrice * qty, vatRateBp: i < 12 ? 700 : 1900 };
  });
  const total = lines.reduce((s, l) => s + l.price, 0);
  const gross = (bp: number) => lines.filter((l) => l.vatRateBp === bp).reduce((s, l) => s + l.price, 0);
  const vat = [700, 1900].map((bp) => {
    const g = gross(bp);
    const tax = Math.round((g * bp) / (10_000 + bp));
    return { rateBp: bp, gross: g, net: g - tax, vat: tax };
  });
  // The terminal's own receipt lines ride along in the payment (the schema allows more fields).
  const payment = {
    requestId: 'k1-20261205-000123-p1',
    authCode: '123456',
    amount: total,
    receiptNo: '0471',
    trace: '000471',
    terminalId: '29001006',
    cardType: 'Debit Mastercard',
    maskedPan: '************4771',
    receipt: ['Kundenbeleg', 'Terminal-ID 29001006', 'TA-Nr. 000471  BNr. 0471', 'Debit Mastercard', 'Nr. ************4771', 'kontaktlos', `Betrag EUR ${(total / 100).toFixed(2)}`, 'Zahlung erfolgt'],
  };
  return {
    ts: '2026-12-05T18:30:00.000Z',
    transactionId: 'k1-20261205-000123',
    kioskId: 'k1',
    lines,
    subtotal: total,
    discounts: 0,
    total,
    currency: 'EUR',
    vat,
    payment,
    attendant: [],
  };
}

export function typicalReceipt(language: 'en' | 'zh'): ReceiptDoc {
  return buildReceipt(typicalSale(language), { storeName: 'Demo Store', header: ['Main Street 1', '12345 Musterstadt', 'VAT no. DE123456789'], language, qrUrl: 'https://receipts.example.com/r/{transactionId}', timeZone: 'Europe/Berlin' });
}

export async function benchReceipt(opts: { quick?: boolean; progress?: (s: string) => void } = {}): Promise<TerminalBenchRow[]> {
  const say = opts.progress ?? (() => undefined);
  const n = opts.quick ? 30 : 100;
  const en = typicalReceipt('en');
  const zh = typicalReceipt('zh');
  const enBytes = renderReceipt(en, { width: 48, codePage: 'cp858', cjk: false }).length;
  const zhBytes = renderReceipt(zh, { width: 48, codePage: 'cp858', cjk: true }).length;
  say(`receipt: ${en.lines.length} lines, ${enBytes} bytes (en), ${zhBytes} bytes (zh, GB18030); printing ${n} through the simulator`);

  const printer = new PrinterSim({ cjkAtPowerOn: true });
  const cleanups: (() => Promise<unknown>)[] = [() => printer.stop()];
  try {
    const port = await printer.listen();
    const gw = await startGateway({ devices: [{ kind: 'printer', id: 'pr-1', bridge: 'pb' }], bridges: ['pb'] });
    cleanups.unshift(() => gw.stop());
    const events = new CommittedEvents(gw);
    const ready = events.next((e, d) => e.kind === 'printer' && e.type === 'status' && d.paper === 'ok', 'the printer status');
    const { bridge, drivers } = await startBridge(gw, 'pb', [{ kind: 'printer', id: 'pr-1', protocol: 'escpos', tcp: { host: '127.0.0.1', port }, options: { width: 48, cjk: true } }]);
    cleanups.unshift(() => bridge.stop());
    await ready;
    // The driver's own share: its print command from call to result (render, write, status poll).
    const inDriver = new Samples();
    const driver = drivers[0]!;
    const command = driver.command.bind(driver);
    let driverSpan = { start: 0, end: 0 };
    driver.command = async (type, payload) => {
      const start = performance.now();
      const r = await command(type, payload);
      driverSpan = { start, end: performance.now() };
      return r;
    };
    const toDriver = new Samples();
    const fromDriver = new Samples();

    const toAck = new Samples();
    const toCut = new Samples();
    const printed: number[] = [];
    const load0 = os.loadavg();
    for (let i = 0; i < n + 3; i++) {
      const record = i >= 3; // three warm-up prints
      const cut = printer.nextReceipt().then((r) => ({ at: performance.now(), bytes: r.bytes }));
      const t0 = performance.now();
      const cmdId = await gw.gw.commands.send('printer', 'pr-1', 'print', { receipt: i % 2 ? zh : en }, { source: 'bench' });
      const ack = await events.next((e, d) => e.kind === 'printer' && e.type === 'ack' && d.cmdId === cmdId, 'the print ack');
      if (ack.data.ok !== true) throw new Error(`bench: print refused: ${JSON.stringify(ack.data)}`);
      const c = await cut;
      if (record) {
        toAck.add(ack.at - t0);
        toCut.add(c.at - t0);
        toDriver.add(driverSpan.start - t0);
        inDriver.add(driverSpan.end - driverSpan.start);
        fromDriver.add(ack.at - driverSpan.end);
        printed.push(c.bytes);
      }
    }
    const load1 = os.loadavg();
    say(`receipt: print → ack p50 ${round(toAck.percentile(50))} / p99 ${round(toAck.percentile(99))} ms`);

    const bench = 'receipt';
    const row = (metric: string, value: number | null, unit: string): TerminalBenchRow => ({ bench, system: 'storegw', metric, value, unit });
    return [
      row('receipt lines (sale lines)', en.lines.length, 'lines'),
      row('bytes per receipt, English (CP858, 48 columns, QR)', enBytes, 'B'),
      row('bytes per receipt, Chinese (GB18030, 48 columns, QR)', zhBytes, 'B'),
      row('bytes per receipt seen by the simulator (mean)', round(printed.reduce((a, b) => a + b, 0) / Math.max(printed.length, 1), 0), 'B'),
      row('prints measured (en and zh alternating)', toAck.count, 'prints'),
      row('print command sent → job cut at the printer p50', round(toCut.percentile(50)), 'ms'),
      row('print command sent → job cut at the printer p99', round(toCut.percentile(99)), 'ms'),
      row('print command sent → ack committed p50', round(toAck.percentile(50)), 'ms'),
      row('print command sent → ack committed p99', round(toAck.percentile(99)), 'ms'),
      row('  of which: sent → the driver has the command p50 (command store, MQTT)', round(toDriver.percentile(50)), 'ms'),
      row('  of which: in the driver (render, write, status poll after the job) p50', round(inDriver.percentile(50)), 'ms'),
      row('  of which: driver result → ack committed p50 (MQTT, ingest commit)', round(fromDriver.percentile(50)), 'ms'),
      row('load average 1 min, before', round(load0[0]), ''),
      row('load average 1 min, after', round(load1[0]), ''),
    ];
  } finally {
    for (const c of cleanups) await c().catch(() => undefined);
  }
}
