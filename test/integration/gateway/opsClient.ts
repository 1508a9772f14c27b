/**
 * Test tools for the ops suites: an HTTP client that logs in as an ops user, an SSE reader that
 * waits for a matching frame, and a TCP proxy that can "pull the cable" (stop forwarding without
 * closing), so the broker has to notice a silent device by its keepalive.
 */
import net from 'node:net';
import { TEST_PASSWORDS } from '../../helpers/gatewayHarness.js';

export type OpsUser = keyof typeof TEST_PASSWORDS;

export async function login(httpUrl: string, user: OpsUser): Promise<string> {
  const res = await fetch(`${httpUrl}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: user, password: TEST_PASSWORDS[user] }),
  });
  if (res.status !== 200) throw new Error(`login ${user}: ${res.status}`);
  return res.headers.getSetCookie().find((c) => c.startsWith('sgw_session='))!.split(';')[0];
}

export async function api(httpUrl: string, cookie: string | null, method: 'GET' | 'POST', url: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${httpUrl}${url}`, {
    method,
    headers: { ...(cookie ? { cookie } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

export interface SseFrame {
  event: string;
  data: any;
  at: number;
}

/** An open `GET /api/events` stream; `next(pred)` resolves with the first frame (seen or coming) that matches. */
export class SseReader {
  readonly frames: SseFrame[] = [];
  private waiters: { pred: (f: SseFrame) => boolean; resolve: (f: SseFrame) => void }[] = [];
  private readonly ctrl = new AbortController();
  comments = 0;
  /** Resolves when the server ends the stream (or close() aborts it). */
  ended!: Promise<void>;

  static async open(httpUrl: string, cookie: string): Promise<SseReader> {
    const r = new SseReader();
    const res = await fetch(`${httpUrl}/api/events`, { headers: { cookie, accept: 'text/event-stream' }, signal: r.ctrl.signal });
    if (res.status !== 200) throw new Error(`SSE: ${res.status}`);
    r.ended = r.pump(res.body!);
    return r;
  }

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const dec = new TextDecoder();
    let buf = '';
    try {
      const reader = body.getReader();
      for (;;) {
        const { done, value: chunk } = await reader.read();
        if (done) break;
        buf += dec.decode(chunk, { stream: true });
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let event = 'message';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) this.comments++;
            else if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          const comment = block.split('\n').find((l) => l.startsWith(':'));
          if (!data && !comment) continue;
          // A comment-only block (a heartbeat) is seen as event ":" with its text as data.
          const f: SseFrame = data ? { event, data: JSON.parse(data), at: Date.now() } : { event: ':', data: comment!.slice(1).trim(), at: Date.now() };
          this.frames.push(f);
          this.waiters = this.waiters.filter((w) => (w.pred(f) ? (w.resolve(f), false) : true));
        }
      }
    } catch {
      // aborted by close()
    }
  }

  next(pred: (f: SseFrame) => boolean, after = 0): Promise<SseFrame> {
    const seen = this.frames.find((f) => f.at >= after && pred(f));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ pred: (f) => f.at >= after && pred(f), resolve }));
  }

  close(): void {
    this.ctrl.abort();
  }
}

/** A TCP proxy to the broker whose `freeze()` stops all traffic both ways without closing anything. */
export async function freezableProxy(targetPort: number): Promise<{ port: number; freeze: () => void; close: () => Promise<void> }> {
  const pairs: [net.Socket, net.Socket][] = [];
  const server = net.createServer((down) => {
    const up = net.connect(targetPort, '127.0.0.1');
    down.on('error', () => undefined);
    up.on('error', () => undefined);
    down.pipe(up);
    up.pipe(down);
    pairs.push([down, up]);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    freeze() {
      for (const [down, up] of pairs) {
        down.unpipe(up);
        up.unpipe(down);
        down.pause();
        up.pause();
        // Unpiped: nothing said by either side reaches the other, and neither sees a FIN.
      }
    },
    async close() {
      for (const [down, up] of pairs) {
        down.destroy();
        up.destroy();
      }
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A valid kiosk `transaction` record (gateway/protocol/schemas/kiosk.ts) with one line of `total`. */
export function saleRecord(o: { ts: string; transactionId: string; total: number; memberCode?: string; kioskId?: string }): Record<string, unknown> {
  const kioskId = o.kioskId ?? 'kiosk-1';
  return {
    ts: o.ts,
    transactionId: o.transactionId,
    kioskId,
    lines: [{ gtin: '4006381333931', name: 'Test item', qty: 1, unitPrice: o.total, price: o.total }],
    subtotal: o.total,
    discounts: 0,
    total: o.total,
    currency: 'EUR',
    ...(o.memberCode ? { memberCode: o.memberCode } : {}),
    payment: { requestId: `pay-${o.transactionId}`, authCode: 'A1', amount: o.total },
    attendant: [],
  };
}
