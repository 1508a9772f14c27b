/**
 * What every serial device simulator does the same way: it opens its end of the port (a socat pty
 * in tests and the demo), decodes the host's commands with the device codec's `decodeCommands`,
 * carrying a partial command over to the next chunk, records each in `received`, and answers with
 * the codec's encoders. A transport error (the pty went away) is recorded, never thrown. A
 * simulator adds only how its device answers (`handle`) and, if it talks unasked, a timer
 * (`started` / `stopping`).
 */
import type { ByteTransport } from '../transports/transport.js';
import type { DecodeResult } from './decodeResult.js';

export abstract class SerialDeviceSim<C, O extends object> {
  /** Commands received, in order (for tests). */
  readonly received: C[] = [];
  /** The last transport error (the simulator keeps no other state about its port). */
  lastError: Error | null = null;
  private rest: Buffer = Buffer.alloc(0);
  private readonly onError = (err: Error): void => {
    this.lastError = err;
  };

  private readonly onData = (chunk: Buffer) => {
    const r = this.decode(Buffer.concat([this.rest, chunk]));
    this.rest = r.rest;
    for (const c of r.events) {
      this.received.push(c);
      this.handle(c);
    }
  };

  /** Every simulator option has a default, so `options` may be left out. */
  constructor(
    protected readonly transport: ByteTransport,
    protected readonly options: Partial<O> = {},
  ) {}

  async start(): Promise<void> {
    this.transport.on('data', this.onData);
    // A pty that goes away (socat stopped, unplug test) must not crash the simulator's process.
    this.transport.on('error', this.onError);
    await this.transport.open();
    this.started();
  }

  async stop(): Promise<void> {
    this.stopping();
    this.transport.off('data', this.onData);
    await this.transport.close();
  }

  /** The device codec's host → device decoder. */
  protected abstract decode(buf: Buffer): DecodeResult<C>;

  /** Answers one command from the host (it is already in `received`). */
  protected abstract handle(command: C): void;

  /** The port is open: start talking unasked (a streaming scale). */
  protected started(): void {}

  /** stop() began: end the timers `started` or `handle` set. */
  protected stopping(): void {}

  /** Writes to the host while the port is open; a failed write (the pty went away) calls `onFail`. */
  protected send(data: Buffer, onFail: () => void = () => undefined): void {
    if (this.transport.isOpen) this.transport.write(data).catch(onFail);
  }
}
