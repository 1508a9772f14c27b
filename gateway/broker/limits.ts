/**
 * Transport-level limits, enforced before aedes sees a byte:
 * - a per-address connection rate limit (token bucket, clock injected);
 * - an MQTT frame guard that reads only fixed headers ([MQTT-2.2]: type byte, then the Remaining
 *   Length varint of at most 4 bytes, [MQTT-2.2.3]) and refuses a packet larger than the limit
 *   *before* its body is buffered, and refuses a stream whose first packet is not CONNECT
 *   ([MQTT-3.1.0-1]: the first packet from client to server MUST be CONNECT), a second CONNECT
 *   [MQTT-3.1.0-2] and the reserved packet types 0 and 15 [MQTT-2.2.1].
 */
import { Readable, type Duplex } from 'node:stream';

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

export type Admission = 'ok' | 'rate_limited' | 'too_many_connections';

/**
 * Who gets in, for every door of the broker (TCP and /mqtt alike): the per-address connect rate,
 * then the total connection cap. Pure apart from the bucket's injected clock.
 */
export class ConnectionGate {
  private readonly bucket: TokenBucket;
  constructor(
    rate: { perSecond: number; burst: number },
    private readonly maxConnections: number,
    now: () => number,
  ) {
    if (!Number.isInteger(maxConnections) || maxConnections < 1) throw new Error(`maxConnections must be an integer ≥ 1 (got ${maxConnections})`);
    this.bucket = new TokenBucket(rate.perSecond, rate.burst, now);
  }

  /** `open`: connections open now, not counting this one. */
  admit(address: string, open: number): Admission {
    if (!this.bucket.take(address)) return 'rate_limited';
    if (open >= this.maxConnections) return 'too_many_connections';
    return 'ok';
  }

  /** The cap alone (an upgrade admitted a moment ago is checked again when its stream arrives). */
  full(open: number): boolean {
    return open >= this.maxConnections;
  }
}

export type FrameViolation = { code: 'oversized' | 'not_connect' | 'bad_length' | 'bad_type'; reason: string };

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
        // Types 0 and 15 are reserved [MQTT-2.2.1]; a second CONNECT is a protocol violation
        // [MQTT-3.1.0-2]. Known from the first byte: no need to wait for a length that may never come.
        const type = byte >> 4;
        if (!this.first && (type === 0 || type === 15)) return { code: 'bad_type', reason: `reserved packet type ${type} (type byte 0x${byte.toString(16).padStart(2, '0')})` };
        if (!this.first && type === 1) return { code: 'bad_type', reason: 'a second CONNECT on one connection' };
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

const kGuard = Symbol('storegw.frameGuard');
/** A TCP socket, or the Duplex of a WebSocket (its `remoteAddress` set from the upgrade request). */
export type GuardedStream = Duplex & { remoteAddress?: string };
type Guarded = GuardedStream & { [kGuard]: FrameGuard };

/**
 * Puts a FrameGuard in front of a connection's readable side, on the stream itself: aedes reads
 * the net.Socket (or the WebSocket's Duplex) directly and every chunk passes the guard before it
 * reaches the stream's read buffer. For a WebSocket, each message's bytes are one chunk.
 *
 * Why not a wrapping Duplex: a second stream per connection (its ReadableState, WritableState,
 * listeners and closures) cost ~1.3 KB of heap per idle client, and it hid the socket
 * from mqtt-packet's own cork/uncork-on-next-tick batching, which it had to redo.
 * How: Node hands each chunk read from the handle to `stream.push(chunk)` (ws's
 * createWebSocketStream does the same per message); an own `push` on the instance feeds the guard
 * first. One function is shared by every connection (no closure per connection); a violation
 * destroys the stream before the chunk is buffered, so aedes never sees it.
 */
export class SocketGuard {
  private readonly push: (this: Guarded, chunk: Buffer | null, encoding?: BufferEncoding) => boolean;

  constructor(
    private readonly maxPacketBytes: number,
    onViolation: (v: FrameViolation, stream: GuardedStream) => void,
  ) {
    if (!Number.isInteger(maxPacketBytes) || maxPacketBytes < 2) throw new Error(`maxPacketBytes must be an integer ≥ 2 (got ${maxPacketBytes})`);
    this.push = function guardedPush(this: Guarded, chunk: Buffer | null, encoding?: BufferEncoding): boolean {
      if (chunk !== null && !this.destroyed) {
        const v = this[kGuard].feed(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as unknown as string, encoding));
        if (v) {
          onViolation(v, this);
          this.destroy();
          return false;
        }
      }
      return Readable.prototype.push.call(this, chunk, encoding);
    };
  }

  /** Guards a fresh connection; call before any byte is read (i.e. in the connection callback). */
  install(stream: GuardedStream): void {
    const s = stream as Guarded;
    s[kGuard] = new FrameGuard(this.maxPacketBytes);
    s.push = this.push;
  }
}
