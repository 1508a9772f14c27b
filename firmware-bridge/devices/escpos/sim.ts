/**
 * A receipt printer simulator: it parses what the host sends the way a printer does (hostDecode.ts),
 * "prints" it into lines of text with their styles, QR payloads and barcodes, and ends a receipt at
 * each cut, so a test asserts the receipt's text and QR content from the bytes themselves. It
 * answers DLE EOT from its model (paper, cover, cutter) with the codec's encoders and sends ASB
 * frames when GS a asked for them. Over TCP (`listen`, like port 9100) or on any ByteTransport
 * (a socat pty for a serial printer, `attach`).
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import type { ByteTransport } from '../../transports/transport.js';
import { decodeGb, decodeText, type CodePage } from './commands.js';
import { decodeHost, type HostItem } from './hostDecode.js';
import { encodeAsb, encodeRealtime, type Paper, type PrinterModel } from './status.js';

export interface PrintedLine {
  text: string;
  align: 'left' | 'center' | 'right';
  bold: boolean;
  /** GS ! width and height multipliers. */
  width: number;
  height: number;
}

export interface PrintedReceipt {
  lines: PrintedLine[];
  qr: string[];
  barcodes: string[];
  /** The GS V bytes that ended it (`1D 56 41 03` → [0x41, 3]). */
  cut: number[];
  /** Bytes of the job, from the last cut (or the connection's start) through this cut. */
  bytes: number;
}

export type PrinterSimEvents = {
  receipt: [r: PrintedReceipt];
  status: [n: number];
};

/** ESC t numbers the simulator can print (README.md §Code pages); others read as CP437. */
const PAGES: Record<number, CodePage | 'cp437'> = { 0: 'cp437', 16: 'wpc1252', 19: 'cp858' };
const ALIGNS = ['left', 'center', 'right'] as const;

/** One connection's parser and print state (the printer's buffer and modes). */
class Session {
  private rest = Buffer.alloc(0);
  private page = 0;
  private cjk: boolean;
  private align: PrintedLine['align'] = 'left';
  private bold = false;
  private w = 1;
  private h = 1;
  private segs: { bytes: Buffer; cjk: boolean }[] = [];
  private lineStyle: Omit<PrintedLine, 'text'> | null = null;
  private doc: PrintedReceipt = newDoc();
  private qrData: Buffer | null = null;
  asbMask = 0;

  constructor(
    private readonly sim: PrinterSim,
    private readonly reply: (b: Buffer) => void,
    cjkAtPowerOn: boolean,
  ) {
    this.cjk = cjkAtPowerOn;
  }

  feed(chunk: Buffer): void {
    this.doc.bytes += chunk.length;
    const r = decodeHost(Buffer.concat([this.rest, chunk]));
    this.rest = Buffer.from(r.rest);
    this.sim.badCommands += r.errors.length;
    for (const item of r.events) this.apply(item);
  }

  private apply(x: HostItem): void {
    switch (x.t) {
      case 'text':
        this.lineStyle ??= { align: this.align, bold: this.bold, width: this.w, height: this.h };
        if (this.bold) this.lineStyle.bold = true;
        this.segs.push({ bytes: Buffer.from(x.bytes), cjk: this.cjk });
        return;
      case 'lf':
        this.printLine();
        return;
      case 'init':
        // ESC @ resets the modes and the code page (to 0) and drops the stored QR data.
        this.page = 0;
        this.align = 'left';
        this.bold = false;
        this.w = this.h = 1;
        this.qrData = null;
        this.segs = [];
        this.lineStyle = null;
        return;
      case 'codePage':
        this.page = x.n;
        return;
      case 'align':
        this.align = ALIGNS[x.n % 48] ?? 'left';
        return;
      case 'bold':
        this.bold = x.on;
        return;
      case 'mode':
        this.bold = (x.n & 0x08) !== 0;
        this.w = x.n & 0x20 ? 2 : 1;
        this.h = x.n & 0x10 ? 2 : 1;
        return;
      case 'size':
        this.w = (x.n >> 4) + 1;
        this.h = (x.n & 0x0f) + 1;
        return;
      case 'cjk':
        this.cjk = x.on;
        return;
      case 'feed':
        if (this.segs.length > 0) this.printLine();
        return;
      case 'qr':
        if (x.fn === 0x50 && x.data[0] === 0x30) this.qrData = Buffer.from(x.data.subarray(1));
        else if (x.fn === 0x51 && this.qrData) this.doc.qr.push(this.qrData.toString('utf8'));
        return;
      case 'barcode':
        this.doc.barcodes.push(x.data.toString('latin1'));
        return;
      case 'cut':
        if (this.segs.length > 0) this.printLine();
        this.doc.cut = x.n === undefined ? [x.m] : [x.m, x.n];
        this.sim.printed(this.doc);
        this.doc = newDoc();
        return;
      case 'asb':
        this.asbMask = x.n;
        if (x.n !== 0) this.reply(encodeAsb(this.sim.model));
        return;
      case 'status':
        this.sim.emit('status', x.n);
        if (this.sim.answerStatus) this.reply(Buffer.from([encodeRealtime(x.n, this.sim.model)]));
        return;
      case 'other':
        return;
    }
  }

  private printLine(): void {
    let text = '';
    // Consecutive bytes of one mode decode together: a GB character may span two chunks.
    for (let i = 0; i < this.segs.length; ) {
      let j = i;
      while (j < this.segs.length && this.segs[j].cjk === this.segs[i].cjk) j++;
      const bytes = Buffer.concat(this.segs.slice(i, j).map((s) => s.bytes));
      text += this.segs[i].cjk ? decodeGb(bytes) : decodeText(bytes, PAGES[this.page] ?? 'cp437');
      i = j;
    }
    const style = this.lineStyle ?? { align: this.align, bold: this.bold, width: this.w, height: this.h };
    // Out of paper, nothing reaches the paper (the printer holds or drops it; the receipt is not there).
    if (this.sim.model.paper !== 'out' && !this.sim.model.coverOpen) this.doc.lines.push({ text, ...style });
    this.segs = [];
    this.lineStyle = null;
  }
}

function newDoc(): PrintedReceipt {
  return { lines: [], qr: [], barcodes: [], cut: [], bytes: 0 };
}

export interface PrinterSimOptions {
  /** Starts in Chinese mode, like many CJK printers (README.md §Code pages). */
  cjkAtPowerOn?: boolean;
}

export class PrinterSim extends EventEmitter<PrinterSimEvents> {
  readonly model: PrinterModel = { paper: 'ok', coverOpen: false, cutterError: false };
  readonly receipts: PrintedReceipt[] = [];
  /** Host bytes that were not a command a printer takes. */
  badCommands = 0;
  /** False: the printer stops answering DLE EOT (a hung printer). */
  answerStatus = true;
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  private readonly sessions = new Set<Session>();
  private readonly replies = new Map<Session, (b: Buffer) => void>();

  constructor(private readonly options: PrinterSimOptions = {}) {
    super();
  }

  /** Listens for the host like a network printer (port 0: any free port); resolves with the port. */
  async listen(port = 0, host = '127.0.0.1'): Promise<number> {
    const server = net.createServer({ noDelay: true }, (socket) => {
      this.sockets.add(socket);
      const write = (b: Buffer) => void (socket.writable && socket.write(b));
      const s = new Session(this, write, this.options.cjkAtPowerOn ?? false);
      this.sessions.add(s);
      this.replies.set(s, write);
      socket.on('data', (chunk) => s.feed(chunk));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.sockets.delete(socket);
        this.sessions.delete(s);
        this.replies.delete(s);
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return (server.address() as net.AddressInfo).port;
  }

  /** Speaks on a byte transport (a pty): opens it and parses what arrives. */
  async attach(transport: ByteTransport): Promise<() => Promise<void>> {
    const write = (b: Buffer) => void (transport.isOpen && transport.write(b).catch(() => undefined));
    const s = new Session(this, write, this.options.cjkAtPowerOn ?? false);
    const onData = (chunk: Buffer) => s.feed(chunk);
    transport.on('data', onData);
    transport.on('error', () => undefined);
    await transport.open();
    this.sessions.add(s);
    this.replies.set(s, write);
    return async () => {
      transport.off('data', onData);
      this.sessions.delete(s);
      this.replies.delete(s);
      await transport.close();
    };
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Changes the physical state; connections that asked for ASB hear of it at once. */
  set(change: Partial<PrinterModel>): void {
    Object.assign(this.model, change);
    for (const s of this.sessions) if (s.asbMask !== 0) this.replies.get(s)?.(encodeAsb(this.model));
  }

  setPaper(paper: Paper): void {
    this.set({ paper });
  }

  /** Called by a session at each cut. */
  printed(doc: PrintedReceipt): void {
    this.receipts.push(doc);
    this.emit('receipt', doc);
  }

  /** The next receipt (resolves at its cut). */
  nextReceipt(): Promise<PrintedReceipt> {
    return new Promise((resolve) => this.once('receipt', resolve));
  }
}
