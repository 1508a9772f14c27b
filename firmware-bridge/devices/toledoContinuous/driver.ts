/**
 * Toledo continuous-output scale driver: the scale streams frames unpolled; each becomes a
 * `weight` event. `tare` / `zero` send `T` / `Z` and are confirmed by the frames that follow
 * (the protocol has no reply): net flag set after a tare, gross zero after a zero.
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
import { DEFAULT_FORMAT, decode, encode, type FrameFormat, type ToledoReading } from './codec.js';

export interface ToledoDriverOptions extends DriverBaseOptions {
  transport: ByteTransport;
  format?: FrameFormat;
  /** How long the frames may take to show a tare or zero. */
  commandTimeoutMs?: number;
  backoff?: BackoffOptions;
  model?: string;
}

interface Pending {
  check: (r: ToledoReading) => boolean;
  resolve: (r: CommandResult) => void;
  timer: NodeJS.Timeout;
}

export class ToledoDriver extends EventEmitter<DriverEvents> implements DeviceDriver {
  readonly kind = 'scale' as const;
  readonly id: string;
  readonly stats = newStats();
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly link: SerialLink;
  private readonly format: FrameFormat;
  private rest: Buffer = Buffer.alloc(0);
  private pending: Pending | null = null;
  private isOnline = false;

  constructor(private readonly options: ToledoDriverOptions) {
    super();
    this.id = options.id;
    this.now = options.now ?? Date.now;
    this.log = (options.logger ?? silentLogger()).child({ module: 'toledoContinuous', deviceId: options.id });
    this.format = options.format ?? DEFAULT_FORMAT;
    this.link = new SerialLink(options.transport, this.log, options.backoff);
  }

  get online(): boolean {
    return this.isOnline;
  }

  birth(): BirthInfo {
    return { model: this.options.model ?? 'Toledo continuous output scale', firmware: 'unknown', capabilities: ['weight', 'tare', 'zero'] };
  }

  async start(): Promise<void> {
    this.link.on('up', this.onUp);
    this.link.on('down', this.onDown);
    this.link.on('data', this.onData);
    await this.link.start();
  }

  async stop(): Promise<void> {
    this.finish({ ok: false, error: 'driver stopped' });
    await this.link.stop();
    this.link.off('up', this.onUp);
    this.link.off('down', this.onDown);
    this.link.off('data', this.onData);
    this.isOnline = false;
  }

  async command(type: string, _payload: Record<string, unknown>): Promise<CommandResult> {
    if (type === 'tare') return this.run('T', (r) => r.net && !r.motion);
    if (type === 'zero') return this.run('Z', (r) => !r.net && r.grams === 0 && !r.motion);
    return { ok: false, error: `unknown command: ${type}` };
  }

  private readonly onUp = () => {
    this.rest = Buffer.alloc(0);
    this.isOnline = true;
    this.emit('online');
  };

  private readonly onDown = (reason: string) => {
    this.stats.reconnects++;
    this.finish({ ok: false, error: `port gone: ${reason}` });
    this.isOnline = false;
    this.emit('offline', reason);
  };

  private readonly onData = (chunk: Buffer) => {
    const r = decode(Buffer.concat([this.rest, chunk]), this.format);
    this.rest = r.rest;
    countErrors(this.stats, this.log, r.errors);
    for (const reading of r.events) this.handle(reading);
  };

  private handle(r: ToledoReading): void {
    const data: Record<string, unknown> = {
      ts: isoTs(this.now()),
      grams: r.grams,
      stable: !r.motion,
      range: r.overRange ? 'over' : 'ok',
    };
    if (r.net && r.tareGrams !== null) data.tareGrams = r.tareGrams;
    this.stats.events++;
    this.emit('event', { type: 'weight', data });
    if (this.pending?.check(r)) this.finish({ ok: true });
  }

  private run(cmd: 'T' | 'Z', check: (r: ToledoReading) => boolean): Promise<CommandResult> {
    if (!this.link.up) return Promise.resolve({ ok: false, error: 'scale is offline' });
    if (this.pending) return Promise.resolve({ ok: false, error: 'busy: another command is running' });
    const timeoutMs = this.options.commandTimeoutMs ?? 3000;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.finish({ ok: false, error: `${cmd}: not confirmed by the scale within ${timeoutMs} ms` }), timeoutMs);
      this.pending = { check, resolve, timer };
      this.link.write(encode(cmd)).catch((err: Error) => this.finish({ ok: false, error: `${cmd}: ${err.message}` }));
    });
  }

  private finish(r: CommandResult): void {
    const p = this.pending;
    if (!p) return;
    clearTimeout(p.timer);
    this.pending = null;
    p.resolve(r);
  }
}
