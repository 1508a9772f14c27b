/**
 * ZVT card terminal driver (device kind `payment`): keeps the connection to the terminal open
 * (TCP, or RS-232 through ZvtSerialTransport), registers on every connect, settles whatever the
 * journal left open, checks the terminal with a Status Enquiry while idle, and runs the gateway's
 * commands `charge`, `cancel`, `reverse` and `endOfDay` one at a time (flows.ts).
 */
import { currencyByAlpha } from '../../../gateway/protocol/currency.js';
import { isoTs, type BirthInfo, type CommandResult, type DriverBaseOptions } from '../deviceDriver.js';
import { DriverBase } from '../driverBase.js';
import { SerialLink, type BackoffOptions } from '../serialLink.js';
import type { ByteTransport } from '../../transports/transport.js';
import { decodeApdus } from './apdu.js';
import { ABORT, ACK, decodeMessage, registration, repeatReceipt, SELF_CHECKOUT_CONFIG, statusEnquiry, type PtMessage } from './codec.js';
import { Exchange, type ExchangeEnd, type ExchangeHandlers } from './exchange.js';
import { LatestOnly } from '../latestOnly.js';
import { recover, runCharge, runEndOfDay, runReversal, type FlowContext, type RunningCharge } from './flows.js';
import { PaymentJournal } from './journal.js';
import { markOf, type TxMark } from './lastTransaction.js';

export interface ZvtDriverOptions extends DriverBaseOptions {
  transport: ByteTransport;
  backoff?: BackoffOptions;
  /** Where the payment journal lives (one file per terminal); required. */
  stateDir: string;
  /** The terminal's password, 6 digits (default 000000). */
  password?: string;
  /** The currency the terminal is registered for, ISO 4217 alphabetic (default EUR). */
  currency?: string;
  /** Registration config byte (default BE: the register prints, controls, and wants every status). */
  configByte?: number;
  serviceByte?: number;
  /** Characters per line of the receipt the terminal formats (TLV 12); unset leaves the terminal's own. */
  printerWidth?: number;
  /** Time for the terminal's `80 00 00` (T3, 5 s). */
  t3Ms?: number;
  /** Time between the terminal's messages while it is master (T4, 180 s). */
  t4Ms?: number;
  /** Status Enquiry while idle, as the liveness check (default 60 s; 0 = off). */
  statusIntervalMs?: number;
  model?: string;
  /** Shopper prompts (`status` events) go out at most this often, the newest winning (default 250 ms). */
  promptGapMs?: number;
  /** Messages one exchange may bring before it is ended without a result (default 2,000). */
  maxMessagesPerExchange?: number;
}

export class ZvtDriver extends DriverBase {
  readonly kind = 'payment' as const;
  private readonly link: SerialLink;
  private readonly journal: PaymentJournal;
  private readonly ctx: FlowContext;
  private readonly t3Ms: number;
  private readonly t4Ms: number;
  private readonly prompts: LatestOnly;
  private lastCoalescedLog = -Infinity;
  private rest: Buffer = Buffer.alloc(0);
  private exchange: Exchange | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private charge: RunningCharge | null = null;
  private abortWaiter: ((ok: boolean, code: number) => void) | null = null;
  private statusTimer: NodeJS.Timeout | null = null;
  private terminalId: string | undefined;
  /**
   * The terminal's last transaction as seen on this connection (every Status-Information updates
   * it); undefined: not known yet (asked before the next charge).
   */
  private lastTx: TxMark | undefined;
  private connection = 0;
  private stopped = false;

  constructor(private readonly options: ZvtDriverOptions) {
    super(options, 'zvt');
    if (typeof options.stateDir !== 'string' || options.stateDir === '') throw new TypeError('zvt.stateDir: is required (the payment journal lives there)');
    const password = options.password ?? '000000';
    if (!/^[0-9]{6}$/.test(password)) throw new TypeError('zvt.password: must be 6 digits');
    const alpha = options.currency ?? 'EUR';
    const cur = currencyByAlpha(alpha);
    if (!cur) throw new TypeError(`zvt.currency: ${alpha} is not an ISO 4217 code the bridge knows`);
    this.t3Ms = options.t3Ms ?? 5000;
    this.t4Ms = options.t4Ms ?? 180_000;
    this.prompts = new LatestOnly(
      (data) => {
        this.stats.events++;
        this.emit('event', { type: 'status', data });
        const t = this.now();
        if (this.prompts.coalesced > 0 && t - this.lastCoalescedLog >= 10_000) {
          this.lastCoalescedLog = t;
          this.log.debug({ coalesced: this.prompts.coalesced, requestId: data.requestId }, 'terminal prompts replaced by newer ones before they went out');
        }
      },
      options.promptGapMs ?? 250,
      () => this.now(),
    );
    this.link = new SerialLink(options.transport, this.log, options.backoff);
    this.journal = new PaymentJournal(options.stateDir, options.id);
    this.ctx = {
      password,
      currency: { alpha: cur.alpha, numeric: cur.numeric },
      journal: this.journal,
      log: this.log,
      exchange: (cmd, h) => this.runExchange(cmd, h),
      emit: (type, data, onDelivered) => {
        if (type === 'status') return this.prompts.offer(data);
        this.prompts.flush();
        this.stats.events++;
        this.emit('event', onDelivered ? { type, data, onDelivered } : { type, data });
      },
      undelivered: new Set(),
      ts: () => isoTs(this.now()),
      drop: (reason) => {
        this.log.warn({ reason }, 'closing the terminal connection');
        void this.options.transport.close().catch(() => undefined);
      },
    };
  }

  birth(): BirthInfo & { terminalId?: string } {
    return {
      model: this.options.model ?? 'ZVT terminal',
      firmware: 'unknown',
      capabilities: ['charge', 'cancel', 'reverse', 'endOfDay'],
      ...(this.terminalId ? { terminalId: this.terminalId } : {}),
    };
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.journal.open();
    this.link.on('up', this.onUp);
    this.link.on('down', this.onDown);
    this.link.on('data', this.onData);
    await this.link.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopStatus();
    this.prompts.stop();
    this.exchange?.cancel();
    await this.link.stop();
    this.link.off('up', this.onUp);
    this.link.off('down', this.onDown);
    this.link.off('data', this.onData);
    await this.chain.catch(() => undefined);
    this.journal.close();
    this.markStopped();
  }

  async command(type: string, p: Record<string, unknown>): Promise<CommandResult> {
    try {
      switch (type) {
        case 'charge':
          return await this.startCharge(p);
        case 'cancel':
          return await this.cancel(String(p.requestId ?? ''));
        case 'reverse':
          return await this.reverse(p);
        case 'endOfDay':
          if (!this.online) return { ok: false, error: 'terminal offline' };
          return await this.exclusive(() => runEndOfDay(this.ctx, String(p.cmdId ?? '')));
        default:
          return { ok: false, error: `unknown command: ${type}` };
      }
    } catch (err) {
      this.log.error({ err: (err as Error).message, type }, 'command failed');
      return { ok: false, error: (err as Error).message };
    }
  }

  private startCharge(p: Record<string, unknown>): Promise<CommandResult> {
    const requestId = p.requestId;
    const amount = p.amount;
    if (typeof requestId !== 'string' || requestId === '') return Promise.resolve({ ok: false, error: 'requestId: is required' });
    if (!Number.isSafeInteger(amount) || (amount as number) <= 0 || (amount as number) > 999_999_999_999) return Promise.resolve({ ok: false, error: 'amount: must be a positive integer of minor units' });
    if (p.currency !== this.ctx.currency.alpha) return Promise.resolve({ ok: false, error: `currency: the terminal is registered for ${this.ctx.currency.alpha}, not ${String(p.currency)}` });
    if (!this.online) return Promise.resolve({ ok: false, error: 'terminal offline' });
    if (this.charge) return Promise.resolve({ ok: false, error: `busy: payment ${this.charge.requestId} is running` });
    if (this.journal.get(requestId)) return Promise.resolve({ ok: false, error: `requestId: a payment ${requestId} ran already` });
    const running: RunningCharge = { requestId, statusInfo: null, committed: false };
    this.charge = running;
    return new Promise<CommandResult>((resolve) => {
      void this.exclusive(async () => {
        try {
          const before = await this.learnLastTransaction();
          await runCharge(this.ctx, { requestId, amount: amount as number, before }, running, resolve);
        } finally {
          if (this.charge === running) this.charge = null;
        }
      }).catch((err: Error) => resolve({ ok: false, error: err.message }));
    });
  }

  private async cancel(requestId: string): Promise<CommandResult> {
    const c = this.charge;
    if (!c || c.requestId !== requestId) return { ok: false, error: `requestId: no payment ${requestId} is running` };
    if (c.statusInfo) return { ok: false, error: c.statusInfo.resultCode === 0 ? 'already committed' : 'the payment has already ended' };
    if (!this.exchange?.master) return { ok: false, error: 'the terminal has not started the payment yet' };
    const answer = new Promise<{ ok: boolean; code: number }>((resolve) => {
      const t = setTimeout(() => resolve({ ok: false, code: -1 }), this.t3Ms);
      this.abortWaiter = (ok, code) => {
        clearTimeout(t);
        resolve({ ok, code });
      };
    });
    await this.link.write(ABORT);
    const a = await answer;
    this.abortWaiter = null;
    if (a.ok) return { ok: true };
    return { ok: false, error: a.code < 0 ? 'the terminal did not answer the abort' : `the terminal refused the abort (0x${a.code.toString(16)})` };
  }

  private async reverse(p: Record<string, unknown>): Promise<CommandResult> {
    const requestId = String(p.requestId ?? '');
    const receiptNo = typeof p.receiptNo === 'string' ? p.receiptNo : this.journal.receiptNoOf(requestId);
    if (!receiptNo || !/^[0-9]{1,4}$/.test(receiptNo)) return { ok: false, error: 'receiptNo: not given and not known for this requestId' };
    if (p.currency !== undefined && p.currency !== this.ctx.currency.alpha) return { ok: false, error: `currency: the terminal is registered for ${this.ctx.currency.alpha}` };
    if (!this.online) return { ok: false, error: 'terminal offline' };
    return this.exclusive(async () => {
      const amount = typeof p.amount === 'number' ? p.amount : undefined;
      const r = await runReversal(this.ctx, receiptNo, amount);
      if (!r.answered) return { ok: false, error: 'the terminal did not finish the reversal' };
      if (r.resultCode !== 0) return { ok: false, error: `the terminal refused the reversal (result code 0x${(r.resultCode ?? 0).toString(16)})` };
      this.ctx.emit('result', {
        ts: this.ctx.ts(),
        requestId,
        status: 'cancelled',
        amount: amount ?? 0,
        currency: this.ctx.currency.alpha,
        resultCode: 0,
        receiptNo: receiptNo,
        ...(r.info?.trace ? { trace: r.info.trace } : {}),
        receipt: r.receipt.slice(0, 200).map((l) => l.slice(0, 80)),
      });
      return { ok: true };
    });
  }

  /**
   * The terminal's last transaction before a charge, for recovery to tell this charge from an older
   * one. Unknown on a fresh connection: asked with a Repeat Receipt (service 03: the last
   * Status-Information, printing suppressed; spec §2.20), which onData notes. A terminal that
   * answers with an Abort (it has no transaction, or cannot repeat one) leaves it unknown: recovery
   * of this charge then reverses nothing, which is safe because a terminal reverses an approval the
   * register never acknowledged by itself (spec §2.2.9).
   */
  private async learnLastTransaction(): Promise<TxMark | undefined> {
    if (this.lastTx === undefined) await this.runExchange(repeatReceipt(this.ctx.password, 0x03), {});
    return this.lastTx;
  }

  /** One transaction at a time: the terminal serves one command and the register waits for it. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private runExchange(cmd: Buffer, h: ExchangeHandlers): Promise<ExchangeEnd> {
    if (!this.link.up) return Promise.resolve({ kind: 'lost', reason: 'terminal offline' });
    const ex = new Exchange((b) => this.link.write(b), { t3Ms: this.t3Ms, t4Ms: this.t4Ms, maxMessages: this.options.maxMessagesPerExchange }, {
      ...h,
      answered: (ok, code) => this.abortWaiter?.(ok, code),
    });
    this.exchange = ex;
    return ex.start(cmd).finally(() => {
      if (this.exchange === ex) this.exchange = null;
    });
  }

  private readonly onData = (chunk: Buffer): void => {
    const r = decodeApdus(Buffer.concat([this.rest, chunk]));
    this.rest = r.rest;
    for (const a of r.events) {
      const m: PtMessage = decodeMessage(a);
      if (m.type === 'statusInfo') this.lastTx = markOf(m.info) ?? this.lastTx;
      if ((m.type === 'statusInfo' || m.type === 'textBlock' || m.type === 'completion') && m.error) {
        this.stats.badFrames++;
        this.log.debug({ type: m.type, error: m.error }, 'terminal message partly unreadable');
      }
      if (this.exchange) this.exchange.feed(m);
      else if (m.type !== 'ack' && m.type !== 'nak') {
        // Nothing runs: a late message of an ended transaction still gets its ack.
        this.log.debug({ type: m.type }, 'terminal message outside a transaction');
        this.link.write(ACK).catch(() => undefined);
      }
    }
  };

  private readonly onUp = (): void => {
    this.rest = Buffer.alloc(0);
    // Another register may have used the terminal meanwhile.
    this.lastTx = undefined;
    const connection = ++this.connection;
    void this.exclusive(() => this.connected(connection)).catch((err: Error) => this.log.error({ err: err.message }, 'connect sequence failed'));
  };

  private readonly onDown = (reason: string): void => {
    this.stats.reconnects++;
    this.stopStatus();
    this.exchange?.lost(reason);
    if (this.online) this.goOffline(reason);
  };

  /** Registration, then the journal's open payments, then online and the idle Status Enquiry. */
  private async connected(connection: number): Promise<void> {
    if (connection !== this.connection || !this.link.up) return;
    const o = this.options;
    let completion: PtMessage | undefined;
    const end = await this.runExchange(
      registration({ password: this.ctx.password, config: o.configByte ?? SELF_CHECKOUT_CONFIG, currency: this.ctx.currency.numeric, serviceByte: o.serviceByte ?? 0x01, permitTextBlock: true, printerWidth: o.printerWidth }),
      { message: (m) => void (completion = m) },
    );
    if (end.kind !== 'completion') {
      this.log.error({ end: end.kind, code: 'code' in end ? end.code : undefined }, 'registration at the terminal failed');
      if (end.kind !== 'lost') this.ctx.drop('registration failed');
      return;
    }
    if (completion?.type === 'completion' && completion.terminalId) this.terminalId = completion.terminalId;
    for (const r of this.journal.openRecords()) {
      if (!this.link.up || this.stopped) return;
      if (!(await recover(this.ctx, r))) {
        this.ctx.drop(`recovery of ${r.requestId} needs another try`);
        return;
      }
    }
    if (!this.link.up || connection !== this.connection) return;
    this.goOnline();
    this.startStatus();
  }

  private startStatus(): void {
    this.stopStatus();
    const every = this.options.statusIntervalMs ?? 60_000;
    if (every <= 0) return;
    this.statusTimer = setInterval(() => {
      if (this.exchange || this.charge) return;
      void this.exclusive(async () => {
        const end = await this.runExchange(statusEnquiry(this.ctx.password, 0x02), {});
        if (end.kind === 'noAnswer' || end.kind === 't4' || end.kind === 'flood') this.ctx.drop(`status enquiry: ${end.kind}`);
      });
    }, every);
  }

  private stopStatus(): void {
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.statusTimer = null;
  }
}
