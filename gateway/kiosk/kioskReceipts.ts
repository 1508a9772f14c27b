/**
 * Each kiosk's last receipt: the model built once the sale is durable (from the committed sale
 * record and the terminal's lines kiosk.db kept), shown on the thank-you screen, and printed from
 * that same model: at once (`print: always`), or when the shopper asks (`ask`), at most once per
 * sale however often the button is pressed. Held in memory for the kiosk's current sale only; after
 * a restart a finished sale's model is rebuilt from kiosk.db, but not offered for print again
 * (whether it was printed is not known, and a second paper receipt is worse than none).
 */
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { KioskTransactionRec } from '../protocol/schemas/kiosk.js';
import type { ReceiptModel } from '../protocol/schemas/receipt.js';
import { receiptPrintMode } from './kioskConfig.js';
import { printedReceipt } from './receipt.js';
import { buildReceiptModel, type ReceiptLanguage } from './receiptModel.js';
import { ReceiptLanguages } from './receiptPrint.js';
import type { Session } from './sessionMachine.js';
import type { SaleRow } from './store.js';

export interface KioskReceiptsDeps {
  config: Readonly<Config>;
  command: (kind: 'printer', id: string, type: string, data: Record<string, unknown>, source: string) => Promise<string>;
  /** The member's tier (members feed, else the member QR's credential). */
  memberTier: (memberCode: string) => string | undefined;
  log: Logger;
}

/** What the page is told about printing this receipt: `offer` shows the button, `printed` once sent. */
export interface ReceiptPrintState {
  offer: boolean;
  printed: boolean;
}

interface Current {
  model: ReceiptModel;
  printed: boolean;
  /** False after a restart: the receipt may already be on paper. */
  printable: boolean;
}

export class KioskReceipts {
  private readonly byKiosk = new Map<string, Current>();
  /** The language each kiosk's shopper paid in (sent with `pay`). */
  readonly languages = new ReceiptLanguages();

  constructor(private readonly d: KioskReceiptsDeps) {}

  /**
   * The sale record about to be committed: its receipt, shown only once the session has recorded
   * that transaction (viewOf matches the session's transaction id).
   */
  prepare(kioskId: string, sale: KioskTransactionRec, terminalLines?: readonly string[]): void {
    const model = this.build(kioskId, sale, this.languages.of(kioskId, sale.transactionId), terminalLines);
    if (model) this.byKiosk.set(kioskId, { model, printed: false, printable: true });
    else this.byKiosk.delete(kioskId);
  }

  /** The sale is durable: printed at once when the store prints every receipt. */
  recorded(kioskId: string, transactionId: string): boolean {
    return this.mode(kioskId) === 'always' && this.print(kioskId, transactionId);
  }

  /** After a restart: a finished sale's receipt, rebuilt from kiosk.db (with the terminal's lines), for the screen again, not for the printer. */
  async restore(s: Pick<Session, 'kioskId' | 'phase' | 'receipt' | 'payment'>, saleOf: (requestId: string) => Promise<SaleRow | null>): Promise<void> {
    if (s.phase !== 'done' || !s.receipt || !s.payment) return;
    const row = await saleOf(s.payment.requestId);
    if (!row) return;
    const model = this.build(s.kioskId, row.record as unknown as KioskTransactionRec, undefined, row.terminalReceipt ?? undefined);
    if (model) this.byKiosk.set(s.kioskId, { model, printed: false, printable: false });
  }

  /**
   * Sends the receipt of `transactionId` to the kiosk's printer, once: true when sent now, false
   * when it is not the kiosk's current receipt, was printed already, or there is no printer.
   */
  print(kioskId: string, transactionId: string): boolean {
    const c = this.byKiosk.get(kioskId);
    const printer = this.d.config.kiosk.devices[kioskId]?.printer;
    if (!c || c.model.transactionId !== transactionId || c.printed || !c.printable || !printer || this.mode(kioskId) === 'never') return false;
    c.printed = true;
    let receipt;
    try {
      receipt = printedReceipt(c.model, this.d.config.ops.timezone);
    } catch (err) {
      this.d.log.error({ err, deviceId: printer, kioskId, transactionId }, 'laying out the receipt failed; not printed');
      return false;
    }
    this.d.command('printer', printer, 'print', { receipt }, `kiosk:${kioskId}`).then(
      (cmdId) => this.d.log.info({ deviceId: printer, kioskId, transactionId, cmdId }, 'receipt sent to the printer'),
      (err: Error) => this.d.log.warn({ err, deviceId: printer, kioskId, transactionId }, 'the receipt could not be sent to the printer'),
    );
    return true;
  }

  /** The model and print state for the page, when it is the receipt of `transactionId`. */
  viewOf(kioskId: string, transactionId: string): { model: ReceiptModel; print: ReceiptPrintState } | null {
    const c = this.byKiosk.get(kioskId);
    if (!c || c.model.transactionId !== transactionId) return null;
    const canPrint = c.printable && this.d.config.kiosk.devices[kioskId]?.printer !== undefined && this.mode(kioskId) === 'ask';
    return { model: c.model, print: { offer: canPrint && !c.printed, printed: c.printed } };
  }

  private mode(kioskId: string): 'always' | 'ask' | 'never' {
    return this.d.config.kiosk.devices[kioskId]?.printer === undefined ? 'never' : receiptPrintMode(this.d.config.kiosk.receipt.print);
  }

  private build(kioskId: string, sale: KioskTransactionRec, language: ReceiptLanguage | undefined, terminalLines: readonly string[] | undefined): ReceiptModel | null {
    const c = this.d.config;
    const r = c.kiosk.receipt;
    try {
      return buildReceiptModel(sale, {
        storeId: c.storeId,
        storeName: r.storeName ?? c.storeId,
        header: r.header,
        language: language ?? c.kiosk.language,
        ...(r.qrUrl ? { qrUrl: r.qrUrl } : {}),
        ...(terminalLines ? { terminalLines } : {}),
        ...(sale.memberCode ? withTier(this.d.memberTier(sale.memberCode)) : {}),
      });
    } catch (err) {
      this.d.log.error({ err, deviceId: kioskId, transactionId: sale.transactionId }, 'building the receipt failed');
      return null;
    }
  }
}

function withTier(tier: string | undefined): { memberTier?: string } {
  return tier !== undefined ? { memberTier: tier } : {};
}
