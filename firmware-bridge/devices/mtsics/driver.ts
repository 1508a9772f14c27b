/**
 * MT-SICS scale driver: keeps the port open (reopening with backoff), polls `SI` at a set rate or
 * starts the `SIR` stream, turns weight replies into `weight` events and runs `tare` / `zero`.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { ByteTransport } from '../../transports/transport.js';
import {
  countErrors,
  isoTs,
  newStats,
  silentLogger,
  type BirthInfo,
  type CommandResult,
  type DeviceDriver,
  type DriverBaseOptions,
  type DriverEvents,
} from '../deviceDriver.js';
import { SerialLink, type BackoffOptions } from '../serialLink.js';
import { decode, encode, type MtsicsResponse } from './codec.js';

export interface MtsicsDriverOptions extends DriverBaseOptions {
  transport: ByteTransport;
  /** `poll`: send `SI` every `pollIntervalMs` (default); `stream`: send `SIR` once per connection. */
  mode?: 'poll' | 'stream';
  pollIntervalMs?: number;
  /** How long `T`/`Z` (which wait for stability) and an unanswered `SI` may take. */
  commandTimeoutMs?: number;
  backoff?: BackoffOptions;
  model?: string;
}

interface Pending {
  id: 'T' | 'Z';
  resolve: (r: CommandResult) => void;
  timer: NodeJS.Timeout;
}

export class MtsicsDriver extends EventEmitter<DriverEvents> implements DeviceDriver {
  readonly kind = 'scale' as const;
  readonly id: string;
  readonly stats = newStats();
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly link: SerialLink;
  private readonly mode: 'poll' | 'stream';
  private readonly pollIntervalMs: number;
  private readonly commandTimeoutMs: number;
  private rest: Buffer = Buffer.alloc(0);
  private pollTimer: NodeJS.Timeout | null = null;
  private siSentAt: number | null = null;
  private pending: Pending | null = null;
  private tareGrams: number | undefined;
  private isOnline = false;

  constructor(private readonly options: MtsicsDriverOptions) {
    super();
    if (options.pollIntervalMs !== undefined && !(options.pollIntervalMs >= 20)) {
      throw new RangeError('mtsics.pollIntervalMs: must be ≥ 20');
    }
    this.id = options.id;
    this.now = options.now ?? Date.now;
    this.log = (options.logger ?? silentLogger()).child({ module: 'mtsics', deviceId: options.id });
    this.mode = options.mode ?? 'poll';
    this.pollIntervalMs = options.pollIntervalMs ?? 200;
    this.commandTimeoutMs = options.commandTimeoutMs ?? 3000;
    this.link = new SerialLink(options.transport, this.log, options.backoff);
  }

  get online(): boolean {
    return this.isOnline;
  }

  birth(): BirthInfo {
    return { model: this.options.model ?? 'MT-SICS balance', firmware: 'unknown', capabilities: ['weight', 'tare', 'zero'] };
  }

  async start(): Promise<void> {
    this.link.on('up', this.onUp);
    this.link.on('down', this.onDown);
    this.link.on('data', this.onData);
    await this.link.start();
  }

  async stop(): Promise<void> {
    this.stopPolling();
    this.failPending('driver stopped');
    if (this.link.up && this.mode === 'stream') await this.link.write(encode('@')).catch(() => undefined);
    await this.link.stop();
    this.link.off('up', this.onUp);
    this.link.off('down', this.onDown);
    this.link.off('data', this.onData);
    this.isOnline = false;
  }

  async command(type: string, _payload: Record<string, unknown>): Promise<CommandResult> {
    if (type === 'tare') return this.run('T');
    if (type === 'zero') return this.run('Z');
    return { ok: false, error: `unknown command: ${type}` };
  }

  private readonly onUp = () => {
    this.rest = Buffer.alloc(0);
    this.isOnline = true;
    this.emit('online');
    if (this.options.mode === 'stream') this.send('SIR');
    else this.startPolling();
  };

  private readonly onDown = (reason: string) => {
    this.stats.reconnects++;
    this.stopPolling();
    this.failPending(`port gone: ${reason}`);
    this.isOnline = false;
    this.emit('offline', reason);
  };

  private readonly onData = (chunk: Buffer) => {
    const r = decode(Buffer.concat([this.rest, chunk]));
    this.rest = r.rest;
    countErrors(this.stats, this.log, r.errors);
    for (const resp of r.events) this.handle(resp);
  };

  private send(cmd: string): void {
    this.link.write(encode(cmd)).catch((err: Error) => this.log.debug({ err: err.message, cmd }, 'write failed'));
  }

  private startPolling(): void {
    this.stopPolling();
    this.siSentAt = null;
    this.pollTimer = setInterval(() => {
      if (this.pending) return; // the balance answers one command at a time
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

  private handle(r: MtsicsResponse): void {
    // MT-SICS: S, SI and SIR all answer with ID "S" (DEVICES.md §1.1).
    if ((r.kind !== 'error' && r.id === 'S') || (r.kind === 'error' && !this.pending)) this.siSentAt = null;
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
    const p = this.pending;
    if (!p) {
      if (r.kind === 'error') this.log.debug({ code: r.code }, 'balance reported an error');
      return;
    }
    if (r.kind === 'weight' && r.id === 'T' && p.id === 'T') {
      if (r.grams !== null && r.grams >= 0) this.tareGrams = r.grams;
      this.finish({ ok: true });
    } else if (r.kind === 'done' && r.id === 'Z' && p.id === 'Z') {
      this.finish({ ok: true });
    } else if (r.kind === 'failed' && r.id === p.id) {
      const why = r.reason === 'not-executable' ? 'not executable (busy or not stable)' : r.reason === 'over' ? 'range exceeded (+)' : 'range exceeded (-)';
      this.finish({ ok: false, error: `${p.id}: ${why}` });
    } else if (r.kind === 'error') {
      this.finish({ ok: false, error: `${p.id}: balance answered ${r.code}` });
    }
  }

  private run(id: 'T' | 'Z'): Promise<CommandResult> {
    if (!this.link.up) return Promise.resolve({ ok: false, error: 'scale is offline' });
    if (this.pending) return Promise.resolve({ ok: false, error: 'busy: another command is running' });
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.finish({ ok: false, error: `${id}: no answer within ${this.commandTimeoutMs} ms` }), this.commandTimeoutMs);
      this.pending = { id, resolve, timer };
      this.send(id);
    });
  }

  private finish(r: CommandResult): void {
    const p = this.pending;
    if (!p) return;
    clearTimeout(p.timer);
    this.pending = null;
    p.resolve(r);
    // Any command ends an SIR stream on the balance: start it again.
    if (this.mode === 'stream' && this.link.up) this.send('SIR');
  }

  private failPending(reason: string): void {
    this.finish({ ok: false, error: reason });
  }
}
