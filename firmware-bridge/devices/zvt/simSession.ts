/**
 * One connection of the simulated terminal: reads the cash register's APDUs, runs one command at
 * a time as a script (ack, status, Status-Information, receipt, Completion), waits for the
 * register's `80 00 00` after each message it sends, and keeps the terminal's books (the turnover
 * store lives in ZvtSim, across connections, as on a real terminal).
 */
import { currencyByNumeric, minorToDecimal } from '../../../gateway/protocol/currency.js';
import { decodeApdus, encodeApdu, type Apdu } from './apdu.js';
import { ACK, nak, type StatusInfo } from './codec.js';
import { abortMessage, completion, decodeCommand, intermediate, statusCompletion, statusInformation, textBlock, type EcrCommand } from './ptMessages.js';
import { outcomeFor, type SimOutcome } from './simRules.js';
import type { SimBooks, SimTx } from './sim.js';

/** Where the session's APDUs go: a TCP socket, or a framed RS-232 link. */
export interface SimLink {
  write(apdu: Buffer): void;
  close(): void;
}

type Reply = 'ack' | 'nak' | 'closed' | 'timeout';

export class SimSession {
  private rest: Buffer = Buffer.alloc(0);
  private busy = false;
  private closed = false;
  private waiter: ((r: Reply) => void) | null = null;
  private abortRequested: (() => void) | null = null;
  private aborted = false;
  private readonly queued: EcrCommand[] = [];

  constructor(
    private readonly link: SimLink,
    private readonly books: SimBooks,
  ) {}

  /** Bytes from the cash register (a TCP read, or the APDU of one serial frame). */
  feed(chunk: Buffer): void {
    const r = decodeApdus(Buffer.concat([this.rest, chunk]));
    this.rest = r.rest;
    for (const a of r.events) this.onApdu(a);
  }

  /** The connection went away: whatever waits for an ack gets `closed`. */
  gone(): void {
    this.closed = true;
    this.waiter?.('closed');
    this.abortRequested?.();
  }

  private onApdu(a: Apdu): void {
    const cmd = decodeCommand(a);
    this.books.commands.push(cmd);
    this.books.emit('command', cmd);
    if (cmd.type === 'ack' || cmd.type === 'nak') {
      const w = this.waiter;
      this.waiter = null;
      w?.(cmd.type === 'ack' || (cmd.type === 'nak' && cmd.code === 0) ? 'ack' : 'nak');
      return;
    }
    if (this.busy) {
      if (cmd.type === 'abort') {
        this.send(ACK);
        this.aborted = true;
        this.abortRequested?.();
      } else this.queued.push(cmd); // the register's ack of our last message may still be settling
      return;
    }
    this.begin(cmd);
  }

  private begin(cmd: EcrCommand): void {
    this.busy = true;
    this.aborted = false;
    void this.run(cmd)
      .catch(() => undefined)
      .finally(() => {
        this.busy = false;
        const next = this.queued.shift();
        if (next && !this.closed) this.begin(next);
      });
  }

  private send(apdu: Buffer): void {
    if (!this.closed) this.link.write(apdu);
  }

  private drop(): void {
    this.closed = true;
    this.link.close();
  }

  /** Sends a message the register must acknowledge, and waits for that ack. */
  private ask(apdu: Buffer): Promise<Reply> {
    if (this.closed) return Promise.resolve('closed');
    return new Promise<Reply>((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        resolve('timeout');
      }, this.books.options.ackTimeoutMs);
      this.waiter = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
      this.send(apdu);
    });
  }

  private think(ms = this.books.options.thinkMs): Promise<void> {
    if (ms <= 0 || this.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.abortRequested = null;
        resolve();
      }, ms);
      this.abortRequested = () => {
        clearTimeout(t);
        this.abortRequested = null;
        resolve();
      };
    });
  }

  private async run(cmd: EcrCommand): Promise<void> {
    const b = this.books;
    switch (cmd.type) {
      case 'registration': {
        if (cmd.currency === undefined || !b.options.currencies.includes(cmd.currency)) {
          // Wrong currency: the terminal refuses with 6F (ZVT spec §2.1).
          this.send(encodeApdu(0x84, 0x1e, Buffer.from([0x6f])));
          return;
        }
        b.registered = { config: cmd.config ?? 0, currency: cmd.currency, textBlocks: cmd.tlv.some((t) => t.tag === 0x26) };
        this.send(ACK);
        await this.think();
        await this.ask(completion({ statusByte: 0, terminalId: b.options.terminalId, currency: cmd.currency, tlv: b.registered.textBlocks ? cmd.tlv.filter((t) => t.tag === 0x26) : undefined }));
        return;
      }
      case 'authorization':
        return this.authorize(cmd.amount ?? 0, cmd.currency ?? '978');
      case 'reversal':
        return this.reverse(cmd.receiptNo);
      case 'repeatReceipt': {
        this.send(ACK);
        const tx = b.transactions.at(-1);
        if (!tx) {
          await this.ask(abortMessage(0x83));
          return;
        }
        if ((cmd.serviceByte ?? 0) & 1 && (await this.ask(statusInformation(tx.info))) !== 'ack') return;
        if (!(await this.receipt(tx))) return;
        await this.ask(completion());
        return;
      }
      case 'endOfDay':
        return this.endOfDay();
      case 'statusEnquiry':
        this.send(ACK);
        await this.ask(statusCompletion(0x00, (cmd.serviceByte ?? 0) & 2 ? undefined : 'storegw-sim 1.0'));
        return;
      case 'abort':
      case 'logOff':
        this.send(ACK);
        return;
      default:
        this.send(nak(0x83)); // function not possible
    }
  }

  private statusWanted(): boolean {
    return ((this.books.registered?.config ?? 0) & 0x08) !== 0;
  }

  private async status(code: number, text?: string): Promise<boolean> {
    if (!this.statusWanted()) return true;
    return (await this.ask(intermediate(code, text ? [text] : []))) === 'ack';
  }

  private async fail(rc: number, text: string, amount: number, currency: string): Promise<void> {
    const b = this.books;
    const info: StatusInfo = { resultCode: rc, amount, trace: b.nextTrace(), terminalId: b.options.terminalId, additionalText: text, currency };
    b.transactions.push({ info, committed: false, reversed: false, kind: 'payment' });
    if ((await this.ask(statusInformation(info))) !== 'ack') return;
    await this.ask(abortMessage(rc));
  }

  private async authorize(amount: number, currency: string): Promise<void> {
    const b = this.books;
    const outcome: SimOutcome = b.nextOutcome.shift() ?? outcomeFor(amount);
    this.send(ACK);
    if (!(await this.status(0x0a, 'Karte einstecken'))) return;
    if (outcome === 'waitForCard') await this.think(b.options.cardWaitMs);
    else await this.think();
    if (this.closed) return;
    if (this.aborted || outcome === 'waitForCard') return this.fail(0x6c, this.aborted ? 'Abbruch' : 'Zeitüberschreitung', amount, currency);
    if (!(await this.status(0x17, 'Bitte warten'))) return;
    await this.think();
    if (this.aborted) return this.fail(0x6c, 'Abbruch', amount, currency);
    if (outcome === 'dropBeforeStatus') return this.drop();
    if (outcome === 'decline') return this.fail(0x05, 'Karte abgelehnt', amount, currency);
    if (outcome === 'timeout') return this.fail(0x6c, 'Zeitüberschreitung', amount, currency);
    if (outcome === 'customerCancel') return this.fail(0x6c, 'Abbruch durch Kunde', amount, currency);
    const approved = outcome === 'partial' ? Math.floor(amount / 2) : amount;
    const tx = b.newApproval(approved, currency);
    if (outcome === 'dropAfterStatus') {
      // The line fails while the Status-Information is on its way: the register gets only part of
      // it and cannot acknowledge it, so the terminal reverses the payment on its own.
      const si = statusInformation(tx.info);
      this.send(si.subarray(0, si.length - 5));
      this.drop();
      this.autoReverse(tx);
      return;
    }
    const reply = await this.ask(statusInformation(tx.info));
    if (reply !== 'ack') {
      // No acknowledgement of a successful Status-Information: the terminal must not keep it (ZVT spec §2.2.8).
      this.autoReverse(tx);
      if (reply === 'nak') await this.ask(abortMessage(0x05));
      return;
    }
    tx.committed = true;
    if (outcome === 'dropAfterAck') return this.drop();
    if (!(await this.receipt(tx))) return;
    if (outcome === 'dropBeforeCompletion') return this.drop();
    await this.ask(completion());
  }

  private autoReverse(tx: SimTx): void {
    if (this.books.options.autoReverse) tx.reversed = true;
  }

  private async reverse(receiptNo: string | undefined): Promise<void> {
    const b = this.books;
    this.send(ACK);
    await this.think();
    const tx = b.transactions.find((t) => t.kind === 'payment' && t.info.resultCode === 0 && t.info.receiptNo === receiptNo);
    // Not in the turnover store: reversal not possible (B5); reversed before: already reversed (B4).
    if (!tx || tx.reversed) {
      await this.ask(abortMessage(!tx ? 0xb5 : 0xb4));
      return;
    }
    tx.reversed = true;
    const rev = b.newApproval(tx.info.amount ?? 0, tx.info.currency ?? '978', 'reversal');
    if ((await this.ask(statusInformation(rev.info))) !== 'ack') return;
    rev.committed = true;
    if (!(await this.receipt(rev))) return;
    await this.ask(completion());
  }

  private async endOfDay(): Promise<void> {
    const b = this.books;
    this.send(ACK);
    await this.think();
    const batch = b.transactions.filter((t) => t.kind === 'payment' && t.committed && !t.reversed && t.info.resultCode === 0 && !t.settled);
    const total = batch.reduce((s, t) => s + (t.info.amount ?? 0), 0);
    const info: StatusInfo = { resultCode: 0, amount: total, trace: b.nextTrace(), terminalId: b.options.terminalId, totals: simTotals(batch), currency: b.registered?.currency ?? '978' };
    if ((await this.ask(statusInformation(info))) !== 'ack') return;
    for (const t of batch) t.settled = true;
    const cc = currencyByNumeric(info.currency!)?.alpha ?? 'EUR';
    const lines = ['Kassenschnitt', `Terminal-ID ${b.options.terminalId}`, `Anzahl ${batch.length}`, `Summe ${cc} ${minorToDecimal(total, cc)}`];
    if (b.registered?.textBlocks && (await this.ask(textBlock(3, lines, true))) !== 'ack') return;
    await this.ask(completion());
  }

  /** The merchant's and the customer's copy, as text blocks (or nothing when 06 D3 was not permitted). */
  private async receipt(tx: SimTx): Promise<boolean> {
    if (!this.books.registered?.textBlocks) return true;
    const i = tx.info;
    const cc = currencyByNumeric(i.currency ?? '978')?.alpha ?? 'EUR';
    const body = [
      tx.kind === 'reversal' ? 'Storno' : 'Kartenzahlung',
      `Terminal-ID ${i.terminalId}`,
      `Beleg-Nr. ${i.receiptNo}  Trace ${i.trace}`,
      `${i.cardName ?? ''}`,
      `Karte ${i.maskedPan ?? ''}`,
      `Betrag ${cc} ${minorToDecimal(i.amount ?? 0, cc)}`,
      `Genehmigungs-Nr. ${i.authCode ?? ''}`,
      'Zahlung erfolgt',
    ];
    for (const [type, title] of [[1, 'Händlerbeleg'], [2, 'Kundenbeleg']] as const) {
      if ((await this.ask(textBlock(type, [title, ...body], true))) !== 'ack') return false;
    }
    return true;
  }
}

/** BMP 60 of an End-of-Day: first and last receipt number, then count and turnover per card family (all counted as girocard here). */
function simTotals(batch: SimTx[]): Buffer {
  const first = batch[0]?.info.receiptNo ?? '0000';
  const last = batch.at(-1)?.info.receiptNo ?? '0000';
  const total = batch.reduce((s, t) => s + (t.info.amount ?? 0), 0);
  const group = (n: number, amount: number) => Buffer.concat([Buffer.from([Math.min(n, 255)]), Buffer.from(String(amount).padStart(12, '0'), 'hex')]);
  return Buffer.concat([Buffer.from(first, 'hex'), Buffer.from(last, 'hex'), group(batch.length, total), ...Array.from({ length: 6 }, () => group(0, 0))]);
}
