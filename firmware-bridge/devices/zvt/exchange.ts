/**
 * One ZVT command and everything the terminal sends until it hands master rights back (ZVT
 * transport protocol §5.1–5.2): the command goes out; T3 runs until the terminal's `80 00 00`
 * (or `84 xx`, refused); then the terminal is master and T4 runs, restarted by each message; every
 * message is answered, `80 00 00` unless the handler says otherwise, and only after the handler
 * returned (so a journal write lands before the ack that commits a payment). It ends at the
 * Completion `06 0F`, the Abort `06 1E`, a timer, or a lost connection.
 */
import { ACK, type PtMessage } from './codec.js';

export type ExchangeEnd =
  | { kind: 'completion'; msg: Extract<PtMessage, { type: 'completion' }> }
  | { kind: 'abort'; resultCode: number }
  | { kind: 'refused'; code: number }
  | { kind: 'noAnswer' }
  | { kind: 't4' }
  /** The terminal kept master rights past maxMessages or maxMs (a print-line stream that never closes). */
  | { kind: 'flood'; reason: string }
  | { kind: 'lost'; reason: string };

export interface ExchangeHandlers {
  /** The terminal answered the command with `80 00 00`. */
  accepted?(): void;
  /** A message while the terminal is master; returns the reply when it is not `80 00 00`, null for none. */
  message?(m: PtMessage): Buffer | null | void;
  /** The reply to `m` was written to the terminal (the commit point of a Status-Information). */
  replied?(m: PtMessage): void;
  /** The terminal answered a command sent while it was master (the Abort `06 B0`). */
  answered?(ok: boolean, code: number): void;
}

export interface ExchangeTimers {
  t3Ms: number;
  t4Ms: number;
  /** Messages one exchange may bring (default 2,000: a charge has a few dozen prompts and two receipts). */
  maxMessages?: number;
  /** How long the terminal may stay master in all, however often it speaks (default 30 min). */
  maxMs?: number;
}

const MAX_MESSAGES = 2000;
const MAX_MS = 30 * 60_000;

export class Exchange {
  private state: 'awaitAck' | 'master' | 'done' = 'awaitAck';
  private timer: NodeJS.Timeout | null = null;
  private resolveEnd: ((e: ExchangeEnd) => void) | null = null;
  private ceiling: NodeJS.Timeout | null = null;
  private messages = 0;
  readonly ended: Promise<ExchangeEnd>;

  constructor(
    private readonly write: (b: Buffer) => Promise<void>,
    private readonly timers: ExchangeTimers,
    private readonly h: ExchangeHandlers = {},
  ) {
    this.ended = new Promise((resolve) => (this.resolveEnd = resolve));
  }

  get master(): boolean {
    return this.state === 'master';
  }

  /** Sends the command; the outcome comes as `ended`. */
  start(command: Buffer): Promise<ExchangeEnd> {
    this.arm(this.timers.t3Ms, { kind: 'noAnswer' });
    this.write(command).catch((err: Error) => this.finish({ kind: 'lost', reason: err.message }));
    return this.ended;
  }

  lost(reason: string): void {
    this.finish({ kind: 'lost', reason });
  }

  /** Stops without a result (driver stop). */
  cancel(): void {
    this.finish({ kind: 'lost', reason: 'driver stopped' });
  }

  /** One message from the terminal. */
  feed(m: PtMessage): void {
    if (this.state === 'done') return;
    // Each message restarts T4, so a terminal that never stops talking would hold the exchange
    // (and the register) forever: past the cap it ends without a result, like a T4 timeout.
    if (++this.messages > (this.timers.maxMessages ?? MAX_MESSAGES)) return this.finish({ kind: 'flood', reason: `more than ${this.timers.maxMessages ?? MAX_MESSAGES} messages` });
    if (m.type === 'ack' || m.type === 'nak') {
      if (this.state === 'awaitAck') {
        if (m.type === 'nak') return this.finish({ kind: 'refused', code: m.code });
        this.toMaster();
        this.h.accepted?.();
      } else this.h.answered?.(m.type === 'ack', m.type === 'nak' ? m.code : 0);
      return;
    }
    // A terminal that skips its 80 00 00 and starts talking has accepted the command.
    if (this.state === 'awaitAck') {
      this.toMaster();
      this.h.accepted?.();
    }
    const longer = m.type === 'intermediate' && m.timeoutMin ? m.timeoutMin * 60_000 : 0;
    this.arm(Math.max(this.timers.t4Ms, longer), { kind: 't4' });
    let reply: Buffer | null = ACK;
    try {
      const r = this.h.message?.(m);
      reply = r === null ? null : (r ?? ACK);
    } catch {
      // A handler failure must not leave the terminal waiting; the driver logs its own errors.
    }
    if (m.type === 'completion') this.finish({ kind: 'completion', msg: m });
    else if (m.type === 'abort') this.finish({ kind: 'abort', resultCode: m.resultCode });
    if (reply === null) return;
    this.write(reply).then(
      () => this.h.replied?.(m),
      (err: Error) => this.finish({ kind: 'lost', reason: err.message }),
    );
  }

  private toMaster(): void {
    this.state = 'master';
    const maxMs = this.timers.maxMs ?? MAX_MS;
    this.ceiling = setTimeout(() => this.finish({ kind: 'flood', reason: `master for more than ${maxMs} ms` }), maxMs);
    this.arm(this.timers.t4Ms, { kind: 't4' });
  }

  private arm(ms: number, end: ExchangeEnd): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.finish(end), ms);
  }

  private finish(e: ExchangeEnd): void {
    if (this.state === 'done') return;
    this.state = 'done';
    if (this.timer) clearTimeout(this.timer);
    if (this.ceiling) clearTimeout(this.ceiling);
    this.timer = this.ceiling = null;
    this.resolveEnd?.(e);
  }
}
