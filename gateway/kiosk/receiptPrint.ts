/**
 * The printer's side of a receipt: the shopper's language, which the page says with `pay`. The
 * receipt itself goes to the printer through the command store (kioskReceipts.ts): recorded until
 * acked, a printer that is away gets it when it is back within the print TTL, and the sale never
 * waits for it. The printer's own alerts (paper out, cover open) reach the ops alert book as events.
 */
import type { ReceiptLanguage } from './receiptModel.js';

/**
 * The language a kiosk's shopper paid in (the page sends it with `pay`), kept per kiosk for that
 * session only, in memory: a receipt after a restart is printed in the kiosk's default language.
 */
export class ReceiptLanguages {
  private readonly byKiosk = new Map<string, { sessionId: string; language: ReceiptLanguage }>();

  /** Anything but `en` or `zh` is ignored (the page's field is untrusted). */
  remember(kioskId: string, sessionId: string | undefined, language: unknown): void {
    if (sessionId === undefined || (language !== 'en' && language !== 'zh')) return;
    this.byKiosk.set(kioskId, { sessionId, language });
  }

  /** The language for the sale of `transactionId` (a session's sale carries its session id). */
  of(kioskId: string, transactionId: string): ReceiptLanguage | undefined {
    const r = this.byKiosk.get(kioskId);
    return r?.sessionId === transactionId ? r.language : undefined;
  }
}
