/**
 * The shopper's receipt model, pure: built from the committed sale record (what the gateway
 * computed) plus the terminal's receipt lines kiosk.db kept with it. The thank-you screen shows it
 * and the printer's layout (receipt.ts) is derived from it, so paper and screen say the same.
 * Nothing here is read from the page; every field is clipped to the schema's bounds so a long name
 * from a feed cannot make a sale's receipt invalid.
 */
import { formatMinor } from '../protocol/currency.js';
import type { KioskTransactionRec } from '../protocol/schemas/kiosk.js';
import type { ReceiptModel } from '../protocol/schemas/receipt.js';

export type ReceiptLanguage = 'en' | 'zh';

export interface ReceiptModelOptions {
  storeId: string;
  storeName: string;
  header: readonly string[];
  language: ReceiptLanguage;
  /** The digital receipt's URL with `{transactionId}` in it. */
  qrUrl?: string;
  /** The member's tier, when the gateway knows it (the members feed or the member QR's credential). */
  memberTier?: string;
  /** The terminal's customer receipt lines kiosk.db kept with the sale (else `sale.payment.receipt`, if any). */
  terminalLines?: readonly string[];
}

export function clip(s: string, max: number): string {
  return s.length > max ? s.slice(0, max) : s;
}

function kg(grams: number): string {
  return `${Math.floor(grams / 1000)}.${String(grams % 1000).padStart(3, '0')}`;
}

/**
 * A member id as a receipt may show it: the last few characters only (at most 4, at most half of
 * it), so the shopper recognises their card but the paper is no credential.
 */
export function maskMemberId(id: string): string {
  const shown = Math.min(4, Math.floor(id.length / 2));
  return `****${shown > 0 ? id.slice(-shown) : ''}`;
}

/** What people read out at a service desk: the last 8 letters or digits of the transaction id, upper case. */
export function shortTransactionNo(transactionId: string): string {
  const alnum = transactionId.replace(/[^A-Za-z0-9]/g, '');
  return (alnum.slice(-8) || transactionId.slice(-8)).toUpperCase();
}

/** The digital receipt's URL for a transaction, or undefined without a configured URL. */
export function receiptUrl(qrUrl: string | undefined, transactionId: string): string | undefined {
  return qrUrl ? qrUrl.replaceAll('{transactionId}', encodeURIComponent(transactionId)) : undefined;
}

const nonNeg = (n: unknown): number => (typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : 0);

/** The receipt of a recorded sale. `sale.payment.receipt`: the terminal's lines, when kiosk.db kept them. */
export function buildReceiptModel(sale: KioskTransactionRec, o: ReceiptModelOptions): ReceiptModel {
  const locale = o.language === 'zh' ? 'zh-CN' : 'en';
  const money = (m: number) => formatMinor(m, sale.currency, locale);
  const lines = sale.lines.map((l) => {
    const qtyText = l.grams !== undefined ? `${kg(l.grams)} kg x ${money(l.unitPrice)}/kg` : l.qty > 1 ? `${l.qty} x ${money(l.unitPrice)}` : undefined;
    // A line shows its price before coupons: a coupon's split over the lines is for the VAT; the
    // coupon itself is listed once below the lines.
    return { name: clip(l.name || l.gtin, 128), ...(qtyText ? { qtyText: clip(qtyText, 60) } : {}), qty: l.qty, unitPrice: l.unitPrice, amount: l.price + nonNeg(l.couponOff), saving: nonNeg(l.saving) };
  });
  const coupons = (sale.coupons ?? []).slice(0, 50).map((c) => ({ code: clip(c.serial || c.couponId, 64), label: clip(c.couponId, 120), amount: -c.amount }));
  const couponTotal = (sale.coupons ?? []).reduce((a, c) => a + c.amount, 0);
  const pointsOff = sale.points ? sale.points.discount : 0;
  const tender = sale.points?.as === 'tender' && pointsOff > 0;
  const url = receiptUrl(o.qrUrl, sale.transactionId);
  const tier = o.memberTier !== undefined && o.memberTier !== '' ? { tier: clip(o.memberTier, 32) } : {};
  return {
    store: { id: clip(o.storeId, 64), name: clip(o.storeName, 60) || clip(o.storeId, 60), header: o.header.slice(0, 10).map((h) => clip(h, 120)) },
    kioskId: sale.kioskId,
    transactionId: sale.transactionId,
    shortNo: shortTransactionNo(sale.transactionId),
    time: sale.ts,
    language: o.language,
    currency: sale.currency,
    lines,
    subtotal: sale.subtotal,
    // The sale's discounts hold promotions, member prices, coupons and points spent; coupons and
    // points are listed on their own, so the savings line is the rest.
    savings: Math.max(0, sale.discounts - couponTotal - pointsOff),
    ...(coupons.length > 0 ? { coupons } : {}),
    ...(sale.points ? { points: { earned: sale.points.earned, spent: sale.points.spent, ...(pointsOff > 0 ? { value: pointsOff, as: tender ? ('tender' as const) : ('discount' as const) } : {}) } } : {}),
    vat: (sale.vat ?? []).map((v) => ({ rateBp: v.rateBp, net: v.net, vat: v.vat, gross: v.gross })),
    // Points as tender paid part of the price: the receipt's total is the price, the points a payment.
    total: tender ? sale.total + pointsOff : sale.total,
    payment: paymentOf(o.terminalLines ? { ...sale.payment, receipt: o.terminalLines } : (sale.payment as Record<string, unknown>), sale.payment.amount),
    ...(sale.memberCode ? { member: { id: maskMemberId(sale.memberCode), ...tier } } : {}),
    ...(url && url.length <= 1024 ? { url } : {}),
  };
}

/** What the sale record kept of the terminal's result; each field optional, none guessed. */
function paymentOf(p: Record<string, unknown>, amount: number): ReceiptModel['payment'] {
  const str = (k: string, max: number) => (typeof p[k] === 'string' && p[k] !== '' ? clip(p[k] as string, max) : undefined);
  const cardName = str('cardType', 40);
  const maskedPan = typeof p.maskedPan === 'string' && /^[*]*[0-9]{0,4}$/.test(p.maskedPan) && p.maskedPan !== '' ? clip(p.maskedPan, 19) : undefined;
  const receiptNo = typeof p.receiptNo === 'string' && /^[0-9]{1,8}$/.test(p.receiptNo) ? p.receiptNo : undefined;
  const approvalCode = str('authCode', 32);
  const terminalId = str('terminalId', 16);
  const own = Array.isArray(p.receipt) ? p.receipt.filter((x): x is string => typeof x === 'string').slice(0, 200).map((x) => clip(x, 80)) : [];
  return {
    // A terminal result with card data or its own receipt number is a card payment; an attendant's override has neither.
    method: cardName !== undefined || maskedPan !== undefined || receiptNo !== undefined ? 'card' : 'other',
    amount,
    ...(cardName !== undefined ? { cardName } : {}),
    ...(maskedPan !== undefined ? { maskedPan } : {}),
    ...(receiptNo !== undefined ? { receiptNo } : {}),
    ...(approvalCode !== undefined ? { approvalCode } : {}),
    ...(terminalId !== undefined ? { terminalId } : {}),
    terminalLines: own,
  };
}
