/**
 * Sends a recorded sale's receipt to the kiosk's printer, through the command store (recorded until
 * acked; a printer that is away gets it when it is back, within the print TTL). Called after the sale
 * is durable and never awaited by the sale: a printer out of paper must not hold up a checkout. The
 * printer's own alerts (paper out, cover open) reach the ops alert book as device events.
 */
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { KioskTransactionRec } from '../protocol/schemas/kiosk.js';
import { buildReceipt, type ReceiptLanguage } from './receipt.js';

export interface ReceiptPrintDeps {
  config: Readonly<Config>;
  command: (kind: 'printer', id: string, type: string, data: Record<string, unknown>, source: string) => Promise<string>;
  log: Logger;
}

/** `language`: the shopper's, when the page said it with `pay`; else the kiosk's default. */
export function printReceipt(d: ReceiptPrintDeps, kioskId: string, sale: KioskTransactionRec, language?: ReceiptLanguage): void {
  const k = d.config.kiosk;
  const printer = k.devices[kioskId]?.printer;
  if (!printer || !k.receipt.print) return;
  let receipt;
  try {
    receipt = buildReceipt(sale, { storeName: k.receipt.storeName ?? d.config.storeId, header: k.receipt.header, language: language ?? k.language, ...(k.receipt.qrUrl ? { qrUrl: k.receipt.qrUrl } : {}), timeZone: d.config.ops.timezone });
  } catch (err) {
    d.log.error({ err, deviceId: printer, kioskId, transactionId: sale.transactionId }, 'building the receipt failed; not printed');
    return;
  }
  d.command('printer', printer, 'print', { receipt }, `kiosk:${kioskId}`).then(
    (cmdId) => d.log.info({ deviceId: printer, kioskId, transactionId: sale.transactionId, cmdId }, 'receipt sent to the printer'),
    (err: Error) => d.log.warn({ err, deviceId: printer, kioskId, transactionId: sale.transactionId }, 'the receipt could not be sent to the printer'),
  );
}

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
