/**
 * The kiosk page's socket as the integration tests drive it (`/ws/kiosk`, k1's token): every cart
 * the gateway pushes, and a wait for one that matches.
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { until } from '../../sim/hqFeeds.js';
import { TOKENS } from '../../e2e/kioskFixture.js';

/** The fields of a pushed cart these tests read. */
export interface Cart {
  type: 'cart';
  sessionId: string;
  phase: string;
  lines: { lineId: string; gtin: string; serials?: string[] }[];
  requests: { requestId: string; kind: string; item?: string }[];
  receipt?: { transactionId: string };
}

export class KioskPage {
  readonly carts: Cart[] = [];
  private readonly events = new EventEmitter();
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as Cart;
      if (m.type !== 'cart') return;
      this.carts.push(m);
      this.events.emit('cart');
    });
  }
  static async open(httpPort: number): Promise<KioskPage> {
    const ws = new WebSocket(`ws://127.0.0.1:${httpPort}/ws/kiosk`, { origin: `http://127.0.0.1:${httpPort}` });
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    const page = new KioskPage(ws);
    ws.send(JSON.stringify({ type: 'hello', kioskId: 'k1', token: TOKENS.k1 }));
    await page.next(() => true, 'the first cart');
    return page;
  }
  send(m: object): void {
    this.ws.send(JSON.stringify(m));
  }
  async next(pred: (c: Cart) => boolean, what: string): Promise<Cart> {
    const last = () => this.carts[this.carts.length - 1];
    await until(this.events, 'cart', () => this.carts.length > 0 && pred(last()), 10_000, what, () => last());
    return last();
  }
}
