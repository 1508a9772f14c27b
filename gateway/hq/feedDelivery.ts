/**
 * How an HQ feed connection takes its messages (feedSubscriber.ts): one at a
 * time, each PUBACKed only once its handler says 'ack' — applied, or refused for good. mqtt.js
 * sends a QoS 1 PUBACK when `done()` is called and none for `done(err)` (its handlers/publish.js),
 * and hands over the next packet only then. After a storage failure ('hold') nothing more is
 * handled or acknowledged on this connection: it is closed and opened again after a doubling
 * back-off, and HQ re-delivers every unacknowledged feed in order.
 */
import type { IPublishPacket, MqttClient } from 'mqtt';
import type { Logger } from '../log.js';
import { retryDelay } from './feedPolicy.js';

export type Verdict = 'ack' | 'hold';

export class FeedDelivery {
  private client: MqttClient | null = null;
  private queue: Promise<void> = Promise.resolve();
  private holding = false;
  private retryTimer: NodeJS.Timeout | null = null;
  /** Storage failures in a row; the owner resets it once a feed is stored. */
  failStreak = 0;

  constructor(
    private readonly o: {
      log: Logger;
      /** What the log lines call these messages ("feed", "orders feed"). */
      what: string;
      retryInitialMs: number;
      retryMaxMs: number;
    },
  ) {}

  /** Takes over `client`'s message handling; `handle` decides each message's fate. */
  attach(client: MqttClient, handle: (topic: string, payload: Buffer) => Promise<Verdict>): void {
    this.client = client;
    client.handleMessage = (packet: IPublishPacket, done: (err?: Error) => void) => {
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      this.queue = this.queue
        .then(() => (this.holding ? 'hold' : handle(packet.topic, payload)))
        .then(
          (v) => (v === 'hold' ? done(new Error(`${this.o.what} not stored; left for re-delivery`)) : done()),
          (err: Error) => {
            // An unexpected error in our own code: not the feed's fault, so it is not acked either.
            this.failStreak++;
            this.o.log.error({ err, topic: packet.topic, attempt: this.failStreak }, `${this.o.what} handling failed; left unacknowledged`);
            this.hold();
            done(err);
          },
        );
    };
    client.on('connect', () => {
      this.holding = false;
    });
  }

  /** Delay before the current streak's next re-delivery. */
  get retryInMs(): number {
    return retryDelay(Math.max(this.failStreak, 1), this.o.retryInitialMs, this.o.retryMaxMs);
  }

  /** Closes the connection and re-opens it after the back-off: HQ re-delivers what was not acked. */
  hold(): void {
    if (this.holding) return;
    this.holding = true;
    const c = this.client;
    if (!c) return;
    const delay = this.retryInMs;
    c.end(true, {}, () => {
      if (this.client !== c) return;
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        if (this.client === c) c.reconnect();
      }, delay);
    });
  }

  /** No reconnect after this; call before ending the client, then await `drained()`. */
  detach(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.client = null;
  }

  /** Resolves when every message taken so far has been handled. */
  drained(): Promise<void> {
    return this.queue;
  }
}
