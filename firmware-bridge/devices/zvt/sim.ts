/**
 * A ZVT card terminal, simulated: a TCP server (port 20007 on a real terminal) that speaks the
 * codec's bytes, or the same terminal on a framed RS-232 link (`attachSerial`, a socat pty). It
 * approves, declines, times out, cancels, approves partially or drops the connection at a chosen
 * step, by the amount's last two digits (simRules.ts) or by `next()`. It keeps a turnover store
 * across connections, auto-reverses a payment whose Status-Information was not acknowledged, replays
 * its last transaction on Repeat Receipt, and settles on End-of-Day. With a seed it sometimes joins
 * its `80 00 00` with the next APDU in one write and splits long APDUs, as real terminals do.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import type { StatusInfo } from './codec.js';
import type { EcrCommand } from './ptMessages.js';
import type { ByteTransport } from '../../transports/transport.js';
import { ZvtSerialTransport } from './serialTransport.js';
import { SimSession, type SimLink } from './simSession.js';
import { xorshift32, type SimOutcome } from './simRules.js';

export interface ZvtSimOptions {
  host?: string;
  /** 0 picks a free port (tests); a terminal listens on 20007. */
  port?: number;
  terminalId?: string;
  /** ISO 4217 numeric codes the terminal is set up for. */
  currencies?: string[];
  /** Pause between the steps of a payment (card read, host answer). */
  thinkMs?: number;
  /** How long "insert card" waits when the amount rule says so. */
  cardWaitMs?: number;
  /** How long the terminal waits for the register's ack of a message (T3, 5 s). */
  ackTimeoutMs?: number;
  /** Reverse an unacknowledged approval on its own (the spec's rule); false keeps it, uncommitted. */
  autoReverse?: boolean;
  /** Seed of the joins and splits of writes; undefined writes every APDU as one chunk. */
  seed?: number;
}

export interface SimTx {
  kind: 'payment' | 'reversal';
  info: StatusInfo;
  /** The register acknowledged its Status-Information. */
  committed: boolean;
  reversed: boolean;
  settled?: boolean;
}

/** What the terminal keeps across connections; emits `command` for each command the register sends. */
export class SimBooks extends EventEmitter<{ command: [cmd: EcrCommand] }> {
  readonly options: Required<Omit<ZvtSimOptions, 'seed' | 'host' | 'port'>>;
  registered: { config: number; currency: string; textBlocks: boolean } | null = null;
  readonly transactions: SimTx[] = [];
  /** Every command the register sent, in order (tests read it). */
  readonly commands: EcrCommand[] = [];
  /** Outcomes for the next authorizations, ahead of the amount rules. */
  readonly nextOutcome: SimOutcome[] = [];
  private trace = 470;
  private receipt = 470;

  constructor(o: ZvtSimOptions) {
    super();
    this.options = {
      terminalId: o.terminalId ?? '29001006',
      currencies: o.currencies ?? ['978'],
      thinkMs: o.thinkMs ?? 0,
      cardWaitMs: o.cardWaitMs ?? 60_000,
      ackTimeoutMs: o.ackTimeoutMs ?? 5000,
      autoReverse: o.autoReverse ?? true,
    };
  }

  nextTrace(): string {
    return String(++this.trace % 1_000_000).padStart(6, '0');
  }

  newApproval(amount: number, currency: string, kind: SimTx['kind'] = 'payment'): SimTx {
    const receiptNo = String(++this.receipt % 10_000).padStart(4, '0');
    const now = new Date();
    const d2 = (n: number) => String(n).padStart(2, '0');
    const info: StatusInfo = {
      resultCode: 0,
      amount,
      trace: this.nextTrace(),
      time: `${d2(now.getHours())}${d2(now.getMinutes())}${d2(now.getSeconds())}`,
      date: `${d2(now.getMonth() + 1)}${d2(now.getDate())}`,
      expiry: '2912',
      paymentType: 0x70,
      maskedPan: '************4771',
      terminalId: this.options.terminalId,
      authCode: String(600000 + this.receipt),
      currency,
      receiptNo,
      turnoverNo: receiptNo.padStart(6, '0'),
      cardTypeId: 0x2e,
      cardName: 'Debit Mastercard',
    };
    const tx: SimTx = { kind, info, committed: false, reversed: false };
    this.transactions.push(tx);
    return tx;
  }
}

export class ZvtSim {
  readonly books: SimBooks;
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  private readonly rand: (() => number) | null;

  constructor(private readonly options: ZvtSimOptions = {}) {
    this.books = new SimBooks(options);
    this.rand = options.seed === undefined ? null : xorshift32(options.seed);
  }

  /** Makes the next authorization end this way, whatever its amount. */
  next(outcome: SimOutcome): void {
    this.books.nextOutcome.push(outcome);
  }

  get port(): number {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : 0;
  }

  async start(): Promise<void> {
    const server = net.createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Drops every open connection now (a cable pulled, a terminal rebooting). */
  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
  }

  /** Runs the terminal over any link (a framed serial port); returns the session to feed APDUs to. */
  attach(link: SimLink): SimSession {
    return new SimSession(link, this.books);
  }

  /** The terminal on an RS-232 port (the far end of a socat pty): frames, ACK/NAK and all. */
  attachSerial(port: ByteTransport): SimSession {
    const framed = new ZvtSerialTransport(port);
    const session = this.attach({
      write: (apdu) => void framed.write(apdu).catch(() => undefined),
      close: () => void port.close().catch(() => undefined),
    });
    framed.on('data', (apdu) => session.feed(apdu));
    framed.on('close', () => session.gone());
    return session;
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    this.sockets.add(socket);
    // Writes go out in order through a queue drained one piece per tick, so a joined or split
    // APDU reaches the register exactly as a terminal's TCP stack might deliver it.
    const queue: Buffer[] = [];
    let draining = false;
    const drain = (): void => {
      const piece = queue.shift();
      if (!piece) {
        draining = false;
        return;
      }
      if (!socket.destroyed) socket.write(piece);
      setImmediate(drain);
    };
    const link: SimLink = {
      write: (apdu) => {
        if (socket.destroyed) return;
        const r = this.rand;
        if (!r) return void socket.write(apdu);
        const last = queue.at(-1);
        if (last && last.length === 3 && last[0] === 0x80 && r() < 0.5) queue[queue.length - 1] = Buffer.concat([last, apdu]);
        else if (apdu.length > 40 && r() < 0.5) {
          const at = 1 + Math.floor(r() * (apdu.length - 1));
          queue.push(apdu.subarray(0, at), apdu.subarray(at));
        } else queue.push(apdu);
        if (!draining) {
          draining = true;
          setImmediate(drain);
        }
      },
      close: () => {
        for (const piece of queue.splice(0)) if (!socket.destroyed) socket.write(piece);
        socket.end();
        socket.destroySoon();
      },
    };
    const session = this.attach(link);
    socket.on('data', (chunk: Buffer) => session.feed(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.sockets.delete(socket);
      session.gone();
    });
  }
}
