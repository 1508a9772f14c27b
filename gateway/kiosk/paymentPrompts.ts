/**
 * The card terminal's prompts on the kiosk page ("insert card", "enter PIN"). A prompt counts only
 * for the kiosk's open payment: one naming another request (a late status of an earlier charge,
 * or a terminal shared by mistake) is dropped and counted, so a shopper never reads another
 * payment's instruction. Only the latest prompt per kiosk is kept, in memory (the terminal's status
 * events are of class `latest`): it goes with the payment, never into the session, and changes no
 * money and no version of the cart.
 */
import type { Logger } from '../log.js';
import type { KioskPaymentPrompt } from '../protocol/schemas/kiosk.js';
import { promptOf } from './paymentEvents.js';
import type { Session } from './sessionTypes.js';

export interface PaymentPromptsHost {
  session(kioskId: string): Session | undefined;
  /** Tells the kiosk's page (the socket route listens). */
  emit(kioskId: string, m: KioskPaymentPrompt): void;
  log: Logger;
  onIgnored?: () => void;
}

export class PaymentPrompts {
  private readonly latest = new Map<string, KioskPaymentPrompt>();

  constructor(private readonly h: PaymentPromptsHost) {}

  /** A committed `status` event of the kiosk's terminal. */
  onStatus(kioskId: string, d: Record<string, unknown>): void {
    const m = promptOf(d);
    const p = this.h.session(kioskId)?.payment;
    // Only while the charge is open: after an approval the sale is being written and the page moves on.
    if (!m || !p || p.requestId !== m.requestId || (p.status !== 'sent' && p.status !== 'cancelling')) {
      this.h.onIgnored?.();
      this.h.log.debug({ deviceId: kioskId, requestId: m?.requestId ?? null, open: p?.requestId ?? null }, 'terminal prompt for another request than the open payment: ignored');
      return;
    }
    this.latest.set(kioskId, m);
    this.h.log.debug({ deviceId: kioskId, requestId: m.requestId, prompt: m.prompt, code: m.code ?? null }, 'terminal prompt');
    this.h.emit(kioskId, m);
  }

  /** The prompt to show a page that connects now, if the kiosk's payment is still the one it was for. */
  current(kioskId: string): KioskPaymentPrompt | null {
    const m = this.latest.get(kioskId);
    if (!m) return null;
    const p = this.h.session(kioskId)?.payment;
    return p?.requestId === m.requestId ? m : null;
  }

  /** Every saved session: a prompt outlives neither its payment nor a settled one. */
  sessionChanged(s: Session): void {
    const m = this.latest.get(s.kioskId);
    if (m && (s.payment?.requestId !== m.requestId || (s.payment.status !== 'sent' && s.payment.status !== 'cancelling'))) this.latest.delete(s.kioskId);
  }
}
