/**
 * What every serial driver does the same way: it keeps the port open through a SerialLink, reports
 * `online`/`offline` as the link comes and goes (counting each loss in `stats.reconnects`), and feeds
 * the bytes through the protocol's codec, carrying the unconsumed tail over to the next chunk and
 * counting the codec's errors. A driver adds only its protocol: what to start once the port is up
 * (`connected`), what to cancel when it goes (`disconnected`) or on stop (`stopping`), and what a
 * decoded response means (`handle`).
 *
 * A base class rather than a helper each driver holds: what is shared is the DeviceDriver surface
 * itself (id, stats, `online`, start/stop and the online/offline events). A held helper would need
 * the driver's emitter and stats handed in and its start/stop/online forwarded by every driver,
 * which is the repeated wiring this replaces. The port itself stays composed: a SerialLink.
 */
import type { ByteTransport } from '../transports/transport.js';
import type { DecodeResult } from './decodeResult.js';
import { countErrors, type DriverBaseOptions } from './deviceDriver.js';
import { DriverBase } from './driverBase.js';
import { SerialLink, type BackoffOptions } from './serialLink.js';

/** Options every serial driver takes. */
export interface SerialDriverOptions extends DriverBaseOptions {
  transport: ByteTransport;
  backoff?: BackoffOptions;
  model?: string;
}

export abstract class SerialDriver<R> extends DriverBase {
  protected readonly link: SerialLink;
  private rest: Buffer = Buffer.alloc(0);

  constructor(options: SerialDriverOptions, module: string) {
    super(options, module);
    this.link = new SerialLink(options.transport, this.log, options.backoff);
  }

  async start(): Promise<void> {
    this.link.on('up', this.onUp);
    this.link.on('down', this.onDown);
    this.link.on('data', this.onData);
    await this.link.start();
  }

  async stop(): Promise<void> {
    await this.stopping();
    await this.link.stop();
    this.link.off('up', this.onUp);
    this.link.off('down', this.onDown);
    this.link.off('data', this.onData);
    this.markStopped();
  }

  /** The protocol's codec `decode`, with this device's settings. */
  protected abstract decode(buf: Buffer): DecodeResult<R>;

  /** One decoded response from the device. */
  protected abstract handle(response: R): void;

  /** The port just opened and `online` was emitted: start polling, a stream or a round. */
  protected connected(): void {}

  /** The port went away, before `offline` is emitted: stop timers, fail what waits for a reply. */
  protected disconnected(_reason: string): void {}

  /** stop() began; the port may still be open (a last command can be sent). */
  protected async stopping(): Promise<void> {}

  /** Drops a partial frame, so the next reply is decoded from its start. */
  protected discardPartial(): void {
    this.rest = Buffer.alloc(0);
  }

  private readonly onUp = () => {
    this.discardPartial();
    this.goOnline();
    this.connected();
  };

  private readonly onDown = (reason: string) => {
    this.stats.reconnects++;
    this.disconnected(reason);
    this.goOffline(reason);
  };

  private readonly onData = (chunk: Buffer) => {
    const r = this.decode(Buffer.concat([this.rest, chunk]));
    this.rest = r.rest;
    countErrors(this.stats, this.log, r.errors);
    for (const response of r.events) this.handle(response);
  };
}
