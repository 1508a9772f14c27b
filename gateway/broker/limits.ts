/**
 * Transport-level limits, enforced before aedes sees a byte:
 * - a per-address connection rate limit (token bucket, clock injected);
 * - an MQTT frame guard that reads only fixed headers ([MQTT-2.2]: type byte, then the Remaining
 *   Length varint of at most 4 bytes, [MQTT-2.2.3]) and refuses a packet larger than the limit
 *   *before* its body is buffered, and refuses a stream whose first packet is not CONNECT
 *   ([MQTT-3.1.0-1]: the first packet from client to server MUST be CONNECT).
 */
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

export class TokenBucket {
  private readonly buckets = new Map<string, { tokens: number; last: number }>();
  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number,
  ) {}

  take(key: string): boolean {
    const t = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size > 50_000) this.buckets.clear();
      b = { tokens: this.burst, last: t };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.last) / 1000) * this.perSecond);
    b.last = t;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

export type FrameViolation = { code: 'oversized' | 'not_connect' | 'bad_length'; reason: string };

/** Stateful over chunks; `feed` returns a violation the moment one is visible, else null. */
export class FrameGuard {
  private state: 'type' | 'length' | 'body' = 'type';
  private first = true;
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private remaining = 0;

  constructor(private readonly maxPacketBytes: number) {}

  feed(chunk: Buffer): FrameViolation | null {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'body') {
        const take = Math.min(this.remaining, chunk.length - i);
        this.remaining -= take;
        i += take;
        if (this.remaining === 0) this.state = 'type';
        continue;
      }
      const byte = chunk[i++];
      if (this.state === 'type') {
        if (this.first && byte !== 0x10) {
          return { code: 'not_connect', reason: `first packet is not CONNECT (type byte 0x${byte.toString(16).padStart(2, '0')})` };
        }
        this.first = false;
        this.state = 'length';
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
        continue;
      }
      // Remaining Length varint [MQTT-2.2.3]
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.lengthBytes++;
      if (byte & 0x80) {
        if (this.lengthBytes >= 4) return { code: 'bad_length', reason: 'malformed Remaining Length (more than 4 bytes)' };
        continue;
      }
      const total = 1 + this.lengthBytes + this.length;
      if (total > this.maxPacketBytes) {
        return { code: 'oversized', reason: `packet of ${total} bytes exceeds maxPacketBytes ${this.maxPacketBytes}` };
      }
      this.remaining = this.length;
      this.state = this.remaining === 0 ? 'type' : 'body';
    }
    return null;
  }
}

/**
 * A socket seen through a FrameGuard: aedes reads from this Duplex; writes go straight to the
 * socket. On a violation the socket is destroyed and `onViolation` says why.
 */
export class GuardedSocket extends Duplex {
  readonly remoteAddress: string | undefined;
  constructor(
    private readonly socket: Socket,
    guard: FrameGuard,
    onViolation: (v: FrameViolation, conn: GuardedSocket) => void,
  ) {
    super({ allowHalfOpen: false });
    this.remoteAddress = socket.remoteAddress;
    socket.on('data', (chunk: Buffer) => {
      const v = guard.feed(chunk);
      if (v) {
        onViolation(v, this);
        socket.destroy();
        this.destroy();
        return;
      }
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('close', () => this.destroy());
    socket.on('error', (err) => this.destroy(err));
  }

  override _read(): void {
    this.socket.resume();
  }

  private corked = false;

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.socket.destroyed) return cb(new Error('socket closed'));
    // A group commit releases hundreds of PUBACKs in one tick: cork until the tick ends so they
    // leave in one writev instead of one syscall each.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    if (this.socket.write(chunk)) cb();
    else this.socket.once('drain', () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.socket.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.socket.destroy();
    cb(err);
  }
}
