/**
 * Toledo continuous-output scale driver: the scale streams frames unpolled; each becomes a
 * `weight` event. `tare` / `zero` send `T` / `Z` and are confirmed by the frames that follow
 * (the protocol has no reply): net flag set after a tare, gross zero after a zero.
 */
import { isoTs, type BirthInfo, type CommandResult } from '../deviceDriver.js';
import { PendingCommand } from '../pendingCommand.js';
import { SerialDriver, type SerialDriverOptions } from '../serialDriver.js';
import { DEFAULT_FORMAT, decode, encode, type FrameFormat, type ToledoReading } from './codec.js';

export interface ToledoDriverOptions extends SerialDriverOptions {
  format?: FrameFormat;
  /** How long the frames may take to show a tare or zero. */
  commandTimeoutMs?: number;
}

export class ToledoDriver extends SerialDriver<ToledoReading> {
  readonly kind = 'scale' as const;
  private readonly format: FrameFormat;
  /** A running tare or zero, as the test a frame must pass to confirm it. */
  private readonly pending = new PendingCommand<(r: ToledoReading) => boolean>();

  constructor(private readonly options: ToledoDriverOptions) {
    super(options, 'toledoContinuous');
    this.format = options.format ?? DEFAULT_FORMAT;
  }

  birth(): BirthInfo {
    return { model: this.options.model ?? 'Toledo continuous output scale', firmware: 'unknown', capabilities: ['weight', 'tare', 'zero'] };
  }

  async command(type: string, _payload: Record<string, unknown>): Promise<CommandResult> {
    if (type === 'tare') return this.run('T', (r) => r.net && !r.motion);
    if (type === 'zero') return this.run('Z', (r) => !r.net && r.grams === 0 && !r.motion);
    return { ok: false, error: `unknown command: ${type}` };
  }

  protected override decode(buf: Buffer) {
    return decode(buf, this.format);
  }

  protected override disconnected(reason: string): void {
    this.pending.settle({ ok: false, error: `port gone: ${reason}` });
  }

  protected override async stopping(): Promise<void> {
    this.pending.settle({ ok: false, error: 'driver stopped' });
  }

  protected override handle(r: ToledoReading): void {
    const data: Record<string, unknown> = {
      ts: isoTs(this.now()),
      grams: r.grams,
      stable: !r.motion,
      range: r.overRange ? 'over' : 'ok',
    };
    if (r.net && r.tareGrams !== null) data.tareGrams = r.tareGrams;
    this.stats.events++;
    this.emit('event', { type: 'weight', data });
    if (this.pending.running?.(r)) this.pending.settle({ ok: true });
  }

  private run(cmd: 'T' | 'Z', check: (r: ToledoReading) => boolean): Promise<CommandResult> {
    if (!this.link.up) return Promise.resolve({ ok: false, error: 'scale is offline' });
    const timeoutMs = this.options.commandTimeoutMs ?? 3000;
    return this.pending.begin(check, timeoutMs, `${cmd}: not confirmed by the scale within ${timeoutMs} ms`, () => {
      this.link.write(encode(cmd)).catch((err: Error) => this.pending.settle({ ok: false, error: `${cmd}: ${err.message}` }));
    });
  }
}
