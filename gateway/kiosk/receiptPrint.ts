/**
 * Sends a recorded sale's receipt to the kiosk's printer, through the command store (recorded until
 * acked; a printer that is away gets it when it is back, within the print TTL). Called after the sale
 * is durable and never awaited by the sale: a printer out of paper must not hold up a checkout. The
 * printer's own alerts (paper out, cover open) reach the ops alert book as device events.
 */
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { KioskTransactionRec } from '../protocol/schemas/kiosk.js';
import { buildReceipt } from './receipt.js';

export interface ReceiptPrintDeps {
  config: Readonly<Config>;
  command: (kind: 'printer', id: string, type: string, data: Record<string, unknown>, source: string) => Promise<string>;
  log: Logger;
}

export function printReceipt(d: ReceiptPrintDeps, kioskId: string, sale: KioskTransactionRec): void {
  const k = d.config.kiosk;
  const printer = k.devices[kioskId]?.printer;
  if (!printer || !k.receipt.print) return;
  let receipt;
  try {
    receipt = buildReceipt(sale, { storeName: k.receipt.storeName ?? d.config.storeId, header: k.receipt.header, language: k.language, ...(k.receipt.qrUrl ? { qrUrl: k.receipt.qrUrl } : {}), timeZone: d.config.ops.timezone });
  } catch (err) {
    d.log.error({ err, deviceId: printer, kioskId, transactionId: sale.transactionId }, 'building the receipt failed; not printed');
    return;
  }
  d.command('printer', printer, 'print', { receipt }, `kiosk:${kioskId}`).then(
    (cmdId) => d.log.info({ deviceId: printer, kioskId, transactionId: sale.transactionId, cmdId }, 'receipt sent to the printer'),
    (err: Error) => d.log.warn({ err, deviceId: printer, kioskId, transactionId: sale.transactionId }, 'the receipt could not be sent to the printer'),
  );
}
