/**
 * The kiosk's WebSocket to the gateway: hello with the kiosk token, then cart views; reconnects
 * with backoff. While the socket is down the page is told so at once (never a stale cart shown
 * as current); a view older than the one shown for the same session is dropped.
 */
import type { CartView, KioskIntent, KioskLanguage, KioskPaymentPrompt, KioskServerMsg } from '../../gateway/protocol/schemas/kiosk.js';

export type ConnState = 'connecting' | 'online' | 'offline' | 'refused';

export class KioskConnection {
  private ws: WebSocket | null = null;
  private retryMs = 250;
  private latest: CartView | null = null;

  constructor(
    private readonly kioskId: string,
    private readonly token: string,
    private readonly onState: (s: ConnState) => void,
    private readonly onView: (v: CartView) => void,
    /** The store's default language, from the gateway's welcome. */
    private readonly onLanguage: (l: KioskLanguage) => void = () => undefined,
    /** What the card terminal asks the shopper during the current payment. */
    private readonly onPrompt: (p: KioskPaymentPrompt) => void = () => undefined,
    /** The store's volume for sound cues, from the welcome. */
    private readonly onSoundVolume: (v: number) => void = () => undefined,
  ) {}

  start(): void {
    this.onState('connecting');
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/kiosk`);
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', kioskId: this.kioskId, token: this.token }));
    ws.onmessage = (ev) => {
      const m = JSON.parse(String(ev.data)) as KioskServerMsg;
      if (m.type === 'welcome') {
        this.retryMs = 250;
        if (m.language) this.onLanguage(m.language);
        if (m.soundVolume !== undefined) this.onSoundVolume(m.soundVolume);
        return;
      }
      if (m.type === 'paymentPrompt') return this.onPrompt(m);
      if (m.type !== 'cart') return;
      if (this.latest && this.latest.sessionId === m.sessionId && m.version < this.latest.version) return;
      this.latest = m;
      this.onState('online');
      this.onView(m);
    };
    ws.onclose = (ev) => {
      this.ws = null;
      if (ev.code === 4401) {
        this.onState('refused');
        return;
      }
      this.onState('offline');
      setTimeout(() => this.start(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 3000);
    };
  }

  send(intent: KioskIntent): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(intent));
  }
}
