/**
 * MT-SICS scale driver: keeps the port open (reopening with backoff), polls `SI` at a set rate or
 * starts the `SIR` stream, turns weight replies into `weight` events and runs `tare` / `zero`.
 */
import { isoTs, type BirthInfo, type CommandResult } from '../deviceDriver.js';
import { PendingCommand } from '../pendingCommand.js';
import { SerialDriver, type SerialDriverOptions } from '../serialDriver.js';
import { decode, encode, type MtsicsResponse } from './codec.js';

export interface MtsicsDriverOptions extends SerialDriverOptions {
  /** `poll`: send `SI` every `pollIntervalMs` (default); `stream`: send `SIR` once per connection. */
  mode?: 'poll' | 'stream';
  pollIntervalMs?: number;
  /** How long `T`/`Z` (which wait for stability) and an unanswered `SI` may take. */
  commandTimeoutMs?: number;
}

export class MtsicsDriver extends SerialDriver<MtsicsResponse> {
  readonly kind = 'scale' as const;
  private readonly mode: 'poll' | 'stream';
  private readonly pollIntervalMs: number;
  private readonly commandTimeoutMs: number;
  private pollTimer: NodeJS.Timeout | null = null;
  private siSentAt: number | null = null;
  // Any command ends an SIR stream on the balance: start it again.
  private readonly pending = new PendingCommand<'T' | 'Z'>(() => {
    if (this.mode === 'stream' && this.link.up) this.send('SIR');
  });
  private tareGrams: number | undefined;

  constructor(private readonly options: MtsicsDriverOptions) {
    super(options, 'mtsics');
    if (options.pollIntervalMs !== undefined && !(options.pollIntervalMs >= 20)) {
      throw new RangeError('mtsics.pollIntervalMs: must be ≥ 20');
    }
    this.mode = options.mode ?? 'poll';
    this.pollIntervalMs = options.pollIntervalMs ?? 200;
    this.commandTimeoutMs = options.commandTimeoutMs ?? 3000;
  }

  birth(): BirthInfo {
    return { model: this.options.model ?? 'MT-SICS balance', firmware: 'unknown', capabilities: ['weight', 'tare', 'zero'] };
  }

  async command(type: string, _payload: Record<string, unknown>): Promise<CommandResult> {
    if (type === 'tare') return this.run('T');
    if (type === 'zero') return this.run('Z');
    return { ok: false, error: `unknown command: ${type}` };
  }

  protected override decode(buf: Buffer) {
    return decode(buf);
  }

  protected override connected(): void {
    if (this.options.mode === 'stream') this.send('SIR');
    else this.startPolling();
  }

  protected override disconnected(reason: string): void {
    this.stopPolling();
    this.failPending(`port gone: ${reason}`);
  }

  protected override async stopping(): Promise<void> {
    this.stopPolling();
    this.failPending('driver stopped');
    if (this.link.up && this.mode === 'stream') await this.link.write(encode('@')).catch(() => undefined);
  }

  private send(cmd: string): void {
    this.link.write(encode(cmd)).catch((err: Error) => this.log.debug({ err: err.message, cmd }, 'write failed'));
  }

  private startPolling(): void {
    this.stopPolling();
    this.siSentAt = null;
    this.pollTimer = setInterval(() => {
      if (this.pending.running) return; // the balance answers one command at a time
      const t = this.now();
      if (this.siSentAt !== null && t - this.siSentAt < this.commandTimeoutMs) return;
      this.siSentAt = t;
      this.send('SI');
    }, this.pollIntervalMs);
  }

  private stopPolling(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
  }

  private emitWeight(data: Record<string, unknown>): void {
    this.stats.events++;
    this.emit('event', { type: 'weight', data: { ts: isoTs(this.now()), ...data } });
  }

  protected override handle(r: MtsicsResponse): void {
    // MT-SICS: S, SI and SIR all answer with ID "S" (README.md §Answers).
    if ((r.kind !== 'error' && r.id === 'S') || (r.kind === 'error' && !this.pending.running)) this.siSentAt = null;
    if (r.kind === 'weight' && r.id === 'S') {
      if (r.grams === null) {
        this.stats.badFrames++;
        this.log.debug({ unit: r.unit }, 'weight in a unit we do not convert');
        return;
      }
      const data: Record<string, unknown> = { grams: r.grams, stable: r.status !== 'D', range: 'ok' };
      if (this.tareGrams !== undefined) data.tareGrams = this.tareGrams;
      this.emitWeight(data);
      return;
    }
    if (r.kind === 'failed' && r.id === 'S') {
      // "S +" overload, "S -" underload: reported as a range, never as a number.
      if (r.reason !== 'not-executable') this.emitWeight({ grams: 0, stable: false, range: r.reason });
      return;
    }
    const id = this.pending.running;
    if (!id) {
      if (r.kind === 'error') this.log.debug({ code: r.code }, 'balance reported an error');
      return;
    }
    if (r.kind === 'weight' && r.id === 'T' && id === 'T') {
      if (r.grams !== null && r.grams >= 0) this.tareGrams = r.grams;
      this.pending.settle({ ok: true });
    } else if (r.kind === 'done' && r.id === 'Z' && id === 'Z') {
      this.pending.settle({ ok: true });
    } else if (r.kind === 'failed' && r.id === id) {
      const why = r.reason === 'not-executable' ? 'not executable (busy or not stable)' : r.reason === 'over' ? 'range exceeded (+)' : 'range exceeded (-)';
      this.pending.settle({ ok: false, error: `${id}: ${why}` });
    } else if (r.kind === 'error') {
      this.pending.settle({ ok: false, error: `${id}: balance answered ${r.code}` });
    }
  }

  private run(id: 'T' | 'Z'): Promise<CommandResult> {
    if (!this.link.up) return Promise.resolve({ ok: false, error: 'scale is offline' });
    return this.pending.begin(id, this.commandTimeoutMs, `${id}: no answer within ${this.commandTimeoutMs} ms`, () => this.send(id));
  }

  private failPending(reason: string): void {
    this.pending.settle({ ok: false, error: reason });
  }
}
