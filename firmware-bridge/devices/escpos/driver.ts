/**
 * ESC/POS receipt printer driver (TCP port 9100 or serial): renders `print` commands with the codec,
 * polls the real-time status (DLE EOT 1–4) every `statusPollMs`, turns changes into `status` events
 * and the conditions an attendant must fix into `alert` events. A print is acked only when the
 * printer reports fine after the job: the job is written, then a fresh poll is sent and its
 * replies decide (README.md §Acknowledging a print).
 */
import type { ReceiptDoc } from '../../../gateway/protocol/schemas/printer.js';
import { isoTs, type BirthInfo, type CommandResult } from '../deviceDriver.js';
import { SerialDriver, type SerialDriverOptions } from '../serialDriver.js';
import { DEFAULT_RENDER, decode, renderReceipt, stateFromAsb, stateFromRealtime, type PrinterReply, type PrinterState, type RealtimeBytes, type RenderOptions } from './codec.js';
import { statusRequest, type CodePage } from './commands.js';
import { PrintJournal } from './printJournal.js';
import { LatestOnly } from '../latestOnly.js';

export interface EscposDriverOptions extends SerialDriverOptions {
  codePage?: CodePage;
  cjk?: boolean;
  /** Characters per line (Font A). */
  width?: number;
  qrModule?: number;
  /** How often the real-time status is polled (default 2000 ms). */
  statusPollMs?: number;
  /** How long a poll may stay unanswered before the printer counts as not responding (default 3000 ms). */
  statusTimeoutMs?: number;
  /** `status` events go out at most this often, the newest state winning (default 500 ms). */
  statusGapMs?: number;
  /** The same alert is raised again at most this often (default 30 s: a flapping sensor is one alert). */
  alertRepeatMs?: number;
  /**
   * Where the print journal lives (`escpos-{id}.jsonl`): which cmdIds were printed, so a command
   * re-sent after a restart does not print twice. Without it only this process remembers (the bridge).
   */
  stateDir?: string;
}

/** The line a receipt that may already have come out once starts with. */
export const DUPLICATE_MARK = '*** DUPLICATE ***';

const POLL: (1 | 2 | 3 | 4)[] = [1, 2, 3, 4];
const FIELD: Record<number, keyof RealtimeBytes> = { 1: 'printer', 2: 'offline', 3: 'error', 4: 'paper' };

/** The alerts a printer raises, each when its condition starts (README.md §Alerts). */
const ALERTS: { code: string; severity: 'info' | 'warning' | 'critical'; when: (s: PrinterState) => boolean; message: string }[] = [
  { code: 'PRINTER_PAPER_OUT', severity: 'critical', when: (s) => s.paper === 'out', message: 'the receipt printer is out of paper' },
  { code: 'PRINTER_PAPER_LOW', severity: 'info', when: (s) => s.paper === 'nearEnd', message: 'the receipt paper roll is nearly at its end' },
  { code: 'PRINTER_COVER_OPEN', severity: 'warning', when: (s) => s.coverOpen, message: 'the receipt printer cover is open' },
  { code: 'PRINTER_ERROR', severity: 'critical', when: (s) => s.error !== undefined && s.error !== NO_REPLY, message: 'the receipt printer reports an error' },
  { code: 'PRINTER_NOT_RESPONDING', severity: 'warning', when: (s) => s.error === NO_REPLY, message: 'the receipt printer does not answer status requests' },
];
const NO_REPLY = 'no status reply';

/** Why a state is not fit to print, or null. */
export function unfitReason(s: PrinterState): string | null {
  if (s.paper === 'out') return 'paper out';
  if (s.coverOpen) return 'cover open';
  if (s.error !== undefined) return s.error;
  if (!s.online) return 'printer offline';
  return null;
}

export class EscposDriver extends SerialDriver<PrinterReply> {
  readonly kind = 'printer' as const;
  private readonly render: RenderOptions;
  private readonly pollMs: number;
  private readonly timeoutMs: number;
  private pollTimer: NodeJS.Timeout | null = null;
  /** The DLE EOT n still unanswered, in the order they were sent (replies come back in order). */
  private expecting: number[] = [];
  private cycle: Partial<RealtimeBytes> = {};
  private pollSentAt = 0;
  /** Polls sent so far; a print waits for a poll sent after its job. */
  private pollGen = 0;
  private waiters: { minGen: number; resolve: (s: PrinterState | null) => void }[] = [];
  private state: PrinterState | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly journal: PrintJournal | null;
  private readonly statuses: LatestOnly;
  private readonly alertAt = new Map<string, number>();
  /** Alerts not raised again because the same one went out less than alertRepeatMs ago. */
  suppressedAlerts = 0;
  /** Status bytes that answered no poll. */
  unsolicited = 0;
  private lastUnsolicitedLog = -Infinity;

  constructor(private readonly options: EscposDriverOptions) {
    super(options, 'escpos');
    if (options.width !== undefined && !(Number.isInteger(options.width) && options.width >= 16 && options.width <= 96)) throw new RangeError('escpos.width: must be an integer 16..96');
    if (options.statusPollMs !== undefined && !(options.statusPollMs >= 50)) throw new RangeError('escpos.statusPollMs: must be ≥ 50');
    this.render = { ...DEFAULT_RENDER, ...(options.codePage ? { codePage: options.codePage } : {}), ...(options.cjk !== undefined ? { cjk: options.cjk } : {}), ...(options.width ? { width: options.width } : {}), ...(options.qrModule ? { qrModule: options.qrModule } : {}) };
    this.pollMs = options.statusPollMs ?? 2000;
    this.timeoutMs = options.statusTimeoutMs ?? 3000;
    if (options.stateDir !== undefined && (typeof options.stateDir !== 'string' || options.stateDir === '')) throw new TypeError('escpos.stateDir: must be a folder path');
    this.journal = options.stateDir ? new PrintJournal(options.stateDir, options.id) : null;
    this.statuses = new LatestOnly(
      (data) => {
        this.stats.events++;
        this.emit('event', { type: 'status', data });
        this.log.info({ paper: data.paper, coverOpen: data.coverOpen, online: data.online, error: data.error, replaced: this.statuses.coalesced }, 'printer status changed');
      },
      options.statusGapMs ?? 500,
      () => this.now(),
    );
  }

  override async start(): Promise<void> {
    this.journal?.open();
    await super.start();
  }

  override async stop(): Promise<void> {
    await super.stop();
    await this.chain.catch(() => undefined);
    this.journal?.close();
  }

  birth(): BirthInfo {
    return { model: this.options.model ?? 'ESC/POS receipt printer', firmware: 'unknown', capabilities: ['print', 'qr', 'cut', ...(this.render.cjk ? ['gb18030'] : []), `width:${this.render.width}`] };
  }

  /** The last status the printer reported (null before the first poll). */
  get status(): PrinterState | null {
    return this.state;
  }

  command(type: string, payload: Record<string, unknown>): Promise<CommandResult> {
    if (type !== 'print') return Promise.resolve({ ok: false, error: `unknown command: ${type}` });
    // One job at a time, in order: a second receipt waits for the first one's check.
    const cmdId = typeof payload.cmdId === 'string' ? payload.cmdId : '';
    const run = this.chain.then(() => this.print(cmdId, payload.receipt as ReceiptDoc));
    this.chain = run.catch(() => undefined);
    return run;
  }

  protected override decode(buf: Buffer) {
    return decode(buf);
  }

  protected override connected(): void {
    this.expecting = [];
    this.sendPoll();
    this.pollTimer = setInterval(() => this.tick(), this.pollMs);
  }

  protected override disconnected(_reason: string): void {
    this.stopPolling();
    this.expecting = [];
    this.wake(null, Infinity);
  }

  protected override async stopping(): Promise<void> {
    this.stopPolling();
    this.statuses.stop();
    this.wake(null, Infinity);
  }

  protected override handle(r: PrinterReply): void {
    if (r.kind === 'asb') return this.apply(stateFromAsb(r.bytes));
    const n = this.expecting.shift();
    if (n === undefined) {
      // A status byte no poll asked for: a printer that floods them is counted, and logged at most every 10 s.
      this.stats.badFrames++;
      this.unsolicited++;
      const t = this.now();
      if (t - this.lastUnsolicitedLog >= 10_000) {
        this.lastUnsolicitedLog = t;
        this.log.debug({ unsolicited: this.unsolicited, badFrames: this.stats.badFrames }, 'status byte that answers no poll');
      }
      return;
    }
    this.cycle[FIELD[n]] = r.value;
    if (this.expecting.length > 0) return;
    const c = this.cycle as RealtimeBytes;
    this.apply(stateFromRealtime(c));
    this.wake(this.state, this.pollGen);
    // A print still waits for a poll sent after its job: send it now rather than at the next tick.
    if (this.waiters.length > 0) this.sendPoll();
  }

  private async print(cmdId: string, receipt: ReceiptDoc | undefined): Promise<CommandResult> {
    const seen = cmdId ? this.journal?.phaseOf(cmdId) : undefined;
    if (seen === 'printed') {
      // The gateway re-sent a command whose ack it never got: the receipt is out already.
      this.log.info({ cmdId }, 'receipt already printed for this command; acked without printing');
      return { ok: true };
    }
    if (!this.link.up) return { ok: false, error: 'printer is offline' };
    let job: Buffer;
    try {
      if (!receipt || typeof receipt !== 'object') throw new Error('receipt: is required');
      // Sent before and never confirmed: it may have come out, so this one says it is a duplicate.
      job = renderReceipt(receipt, seen === 'sending' ? { ...this.render, mark: DUPLICATE_MARK } : this.render);
    } catch (err) {
      return { ok: false, error: `receipt: cannot be printed (${(err as Error).message})` };
    }
    const before = this.state ? unfitReason(this.state) : null;
    if (before) return { ok: false, error: before };
    if (cmdId) this.journal?.write({ ts: isoTs(this.now()), cmdId, phase: 'sending' });
    try {
      await this.link.write(job);
    } catch (err) {
      return { ok: false, error: `write failed: ${(err as Error).message}` };
    }
    const after = await this.statusAfterJob();
    if (!after) return { ok: false, error: 'no status from the printer after the job' };
    const why = unfitReason(after);
    this.log.info({ cmdId, bytes: job.length, ok: why === null, reason: why, duplicate: seen === 'sending' }, 'receipt printed');
    if (why) return { ok: false, error: why };
    if (cmdId) this.journal?.write({ ts: isoTs(this.now()), cmdId, phase: 'printed' });
    return { ok: true };
  }

  /** The state from a poll sent after the job, or null (no answer, port gone). */
  private statusAfterJob(): Promise<PrinterState | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(null);
      }, this.timeoutMs + this.pollMs);
      const waiter = {
        minGen: this.pollGen + 1,
        resolve: (s: PrinterState | null) => {
          clearTimeout(timer);
          resolve(s);
        },
      };
      this.waiters.push(waiter);
      if (this.expecting.length === 0) this.sendPoll();
    });
  }

  private wake(s: PrinterState | null, gen: number): void {
    const ready = this.waiters.filter((w) => gen >= w.minGen);
    this.waiters = this.waiters.filter((w) => gen < w.minGen);
    for (const w of ready) w.resolve(s);
  }

  private tick(): void {
    if (this.expecting.length === 0) return this.sendPoll();
    if (this.now() - this.pollSentAt < this.timeoutMs) return;
    // No answer: the printer hangs (or is not an ESC/POS printer). Start a new poll from scratch.
    this.expecting = [];
    this.apply({ online: false, paper: this.state?.paper ?? 'ok', coverOpen: this.state?.coverOpen ?? false, error: NO_REPLY });
    this.wake(null, Infinity);
    this.sendPoll();
  }

  private sendPoll(): void {
    if (!this.link.up) return;
    this.expecting = [...POLL];
    this.cycle = {};
    this.pollSentAt = this.now();
    this.pollGen++;
    this.link.write(Buffer.concat(POLL.map((n) => statusRequest(n)))).catch((err: Error) => this.log.debug({ err: err.message }, 'status poll write failed'));
  }

  private stopPolling(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
  }

  /** A new state: a `status` event when it changed, an `alert` for each condition that just began. */
  private apply(s: PrinterState): void {
    const prev = this.state;
    this.state = s;
    if (prev && prev.online === s.online && prev.paper === s.paper && prev.coverOpen === s.coverOpen && prev.error === s.error) return;
    const now = this.now();
    const ts = isoTs(now);
    // A printer sending ASB at line rate would otherwise be one event (and one log line) per frame.
    this.statuses.offer({ ts, ...s });
    for (const a of ALERTS) {
      if (a.when(s) && !(prev && a.when(prev))) {
        if (now - (this.alertAt.get(a.code) ?? -Infinity) < (this.options.alertRepeatMs ?? 30_000)) {
          this.suppressedAlerts++;
          continue;
        }
        this.alertAt.set(a.code, now);
        // The state that raised the alert goes out first.
        this.statuses.flush();
        this.stats.events++;
        this.emit('event', { type: 'alert', data: { ts, code: a.code, severity: a.severity, message: `${this.id}: ${a.message}` } });
      }
    }
  }
}
