/**
 * ESC/POS codec, pure: a structured receipt → the bytes of one print job, and the printer's
 * replies → status (status.ts). No clock, no logger; wire input never throws.
 *
 * The job: ESC @ (a clean state), FS . on a CJK printer (they often power up in Chinese mode, where
 * every byte above 0x7F would start a two-byte character), ESC t with a code page that has €, then
 * the receipt; Chinese text goes between FS & and FS . as GB18030. The QR code is centred (native
 * QR ignores nothing of ESC a, but does not centre itself) and the job ends with a cut.
 */
import { formatMinor } from '../../../gateway/protocol/currency.js';
import type { ReceiptDoc } from '../../../gateway/protocol/schemas/printer.js';
import * as c from './commands.js';
import { twoColumns, wrap } from './layout.js';

export { decode, stateFromAsb, stateFromRealtime, type PrinterReply, type PrinterState, type RealtimeBytes } from './status.js';

export interface RenderOptions {
  codePage: c.CodePage;
  /** The printer has a GB18030 Chinese mode (FS &). Without it Chinese text prints as "?". */
  cjk: boolean;
  /** Characters per line in Font A (48 on 80 mm paper, 32 on 58 mm). */
  width: number;
  /** QR module size in dots (1..16). */
  qrModule?: number;
  /** A line printed above everything else (a duplicate's marker); ASCII. */
  mark?: string;
}

export const DEFAULT_RENDER: RenderOptions = { codePage: 'cp858', cjk: false, width: 48, qrModule: 6 };

/** Characters a single-byte code page cannot hold: such text goes out in GB18030 on a CJK printer. */
const NEEDS_GB = /[\u2e80-\u9fff\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]/;

/** Builds one job's bytes. */
class Job {
  private readonly parts: Buffer[] = [];
  constructor(private readonly o: RenderOptions) {}

  add(...b: Buffer[]): this {
    this.parts.push(...b);
    return this;
  }

  /** One printed line (the text is already laid out to the width). */
  line(s: string): this {
    if (this.o.cjk && NEEDS_GB.test(s)) this.parts.push(c.cjkOn(), c.textGb(s), c.cjkOff());
    else this.parts.push(c.text(s, this.o.codePage));
    this.parts.push(c.lf());
    return this;
  }

  lines(ss: string[]): this {
    for (const s of ss) this.line(s);
    return this;
  }

  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** A receipt → one print job, ending with a cut. Throws only on a receipt its schema would refuse (QR data too long). */
export function renderReceipt(r: ReceiptDoc, options: Partial<RenderOptions> = {}): Buffer {
  const o: RenderOptions = { ...DEFAULT_RENDER, ...options };
  const w = o.width;
  const locale = r.language === 'zh' ? 'zh-CN' : 'en';
  const money = (m: number) => formatMinor(m, r.currency, locale);
  const rule = '-'.repeat(w);
  const j = new Job(o).add(c.init());
  if (o.cjk) j.add(c.cjkOff());
  j.add(c.codePage(o.codePage));

  if (o.mark) j.add(c.align('center'), c.bold(true)).line(o.mark.slice(0, w)).add(c.bold(false));
  j.add(c.align('center'), c.size(2, 2), c.bold(true)).lines(wrap(r.storeName, Math.floor(w / 2)));
  j.add(c.size(1, 1), c.bold(false));
  for (const h of r.header) j.lines(wrap(h, w));
  j.add(c.align('left')).line(rule);

  for (const l of r.lines) {
    j.lines(twoColumns(l.text, money(l.amount), w));
    if (l.qty) j.lines(wrap(l.qty, w - 2).map((q) => `  ${q}`));
  }
  j.line(rule);
  for (const t of r.totals) {
    if (t.bold) j.add(c.bold(true), c.size(1, 2));
    j.lines(twoColumns(t.label, money(t.amount), w));
    if (t.bold) j.add(c.bold(false), c.size(1, 1));
  }
  if (r.vat.length > 0) {
    j.line('');
    for (const v of r.vat) j.lines(twoColumns(v.label, `${money(v.net)}  ${money(v.tax)}`, w));
  }
  if (r.payment.length > 0) {
    j.line(rule);
    for (const p of r.payment) j.lines(wrap(p, w));
  }
  j.line(rule).add(c.align('center'));
  for (const f of r.footer) j.lines(wrap(f, w));
  j.line(r.transactionId);
  if (r.qr) j.add(c.qr(r.qr, { moduleSize: o.qrModule ?? 6, level: 'M' }), c.lf());
  return j.add(c.align('left'), c.feed(3), c.cut(3)).bytes();
}
