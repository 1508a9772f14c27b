/**
 * Keeps a ByteTransport open: opens it, notices when it goes away (USB unplug, pty gone), and
 * reopens it with exponential backoff. Emits `up`, `down` and `data`; the drivers sit on top.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { ByteTransport } from '../transports/transport.js';

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
}
export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({ initialMs: 250, maxMs: 10_000, factor: 2 });

/** Delay before reopen attempt `attempt` (0-based). */
export function backoffDelay(attempt: number, o: BackoffOptions = DEFAULT_BACKOFF): number {
  return Math.min(o.maxMs, o.initialMs * o.factor ** Math.min(attempt, 30));
}

export type SerialLinkEvents = {
  up: [];
  down: [reason: string];
  data: [chunk: Buffer];
}

export class SerialLink extends EventEmitter<SerialLinkEvents> {
  private running = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | null = null;
  private isUp = false;
  private readonly onData = (chunk: Buffer) => this.emit('data', chunk);
  private readonly onClose = (err?: Error) => this.lost(err ? err.message : 'port closed');
  private readonly onError = (err: Error) => this.log.warn({ err: err.message, port: this.transport.name }, 'serial port error');

  constructor(
    private readonly transport: ByteTransport,
    private readonly log: Logger,
    private readonly backoff: BackoffOptions = DEFAULT_BACKOFF,
  ) {
    super();
  }

  get up(): boolean {
    return this.isUp;
  }

  /** Starts; resolves after the first open attempt, whether it worked or a retry is scheduled. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.transport.on('data', this.onData);
    this.transport.on('close', this.onClose);
    this.transport.on('error', this.onError);
    await this.tryOpen();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.transport.off('data', this.onData);
    this.transport.off('close', this.onClose);
    this.transport.off('error', this.onError);
    this.isUp = false;
    await this.transport.close().catch((err: Error) => this.log.warn({ err: err.message }, 'closing the port failed'));
  }

  async write(data: Buffer): Promise<void> {
    if (!this.isUp) throw new Error(`${this.transport.name}: port is down`);
    await this.transport.write(data);
  }

  private async tryOpen(): Promise<void> {
    this.timer = null;
    if (!this.running) return;
    try {
      await this.transport.open();
    } catch (err) {
      const delay = backoffDelay(this.attempt++, this.backoff);
      this.log.debug({ err: (err as Error).message, port: this.transport.name, retryInMs: delay }, 'port open failed');
      if (this.running) this.timer = setTimeout(() => void this.tryOpen(), delay);
      return;
    }
    if (!this.running) {
      await this.transport.close().catch(() => undefined);
      return;
    }
    this.attempt = 0;
    this.isUp = true;
    this.log.info({ port: this.transport.name }, 'port open');
    this.emit('up');
  }

  private lost(reason: string): void {
    if (!this.running || !this.isUp) return;
    this.isUp = false;
    this.log.warn({ port: this.transport.name, reason }, 'port gone');
    this.emit('down', reason);
    const delay = backoffDelay(this.attempt++, this.backoff);
    this.timer = setTimeout(() => void this.tryOpen(), delay);
  }
}
