/**
 * The printed receipt of a sale, pure: the sale record (what the gateway computed and committed)
 * becomes the printer's structured receipt, its labels in the shopper's language. Amounts stay
 * integer minor units; the bridge formats them. Payment details appear only if the terminal's
 * result carried them into the sale record (card, masked number, receipt number, its own lines).
 */
import { formatMinor } from '../protocol/currency.js';
import type { KioskTransactionRec } from '../protocol/schemas/kiosk.js';
import type { ReceiptDoc } from '../protocol/schemas/printer.js';

export type ReceiptLanguage = 'en' | 'zh';

const TEXT = {
  en: {
    subtotal: 'Subtotal',
    discounts: 'Discounts',
    total: 'TOTAL',
    vat: (rate: string) => `VAT ${rate}% (net, tax)`,
    vatUnknown: 'VAT rate not given (net, tax)',
    card: 'Card',
    receiptNo: 'Receipt no.',
    authCode: 'Approval code',
    terminal: 'Terminal',
    kiosk: (id: string) => `Self-checkout ${id}`,
    thanks: 'Thank you for shopping with us',
    digital: 'Your digital receipt:',
  },
  zh: {
    subtotal: '小计',
    discounts: '优惠',
    total: '合计',
    vat: (rate: string) => `增值税 ${rate}%（净额，税额）`,
    vatUnknown: '未标明税率（净额，税额）',
    card: '银行卡',
    receiptNo: '凭证号',
    authCode: '授权码',
    terminal: '终端',
    kiosk: (id: string) => `自助收银 ${id}`,
    thanks: '谢谢惠顾',
    digital: '电子收据：',
  },
} as const;

export interface ReceiptOptions {
  storeName: string;
  header: readonly string[];
  language: ReceiptLanguage;
  /** The digital receipt's URL with `{transactionId}` in it. */
  qrUrl?: string;
  /** IANA time zone of the store, for the printed date and time. */
  timeZone?: string;
}

/** 1900 → "19", 550 → "5.5" (integers only: never a float of a rate). */
export function rateText(bp: number): string {
  const frac = String(bp % 100).padStart(2, '0').replace(/0+$/, '');
  return frac ? `${Math.floor(bp / 100)}.${frac}` : String(Math.floor(bp / 100));
}

function kg(grams: number): string {
  return `${Math.floor(grams / 1000)}.${String(grams % 1000).padStart(3, '0')}`;
}

function clip(s: string, max: number): string {
  return s.length > max ? s.slice(0, max) : s;
}

/** The receipt for a recorded sale. */
export function buildReceipt(sale: KioskTransactionRec, o: ReceiptOptions): ReceiptDoc {
  const t = TEXT[o.language];
  const locale = o.language === 'zh' ? 'zh-CN' : 'en';
  const money = (m: number) => formatMinor(m, sale.currency, locale);
  let when = sale.ts;
  try {
    when = new Intl.DateTimeFormat(locale, { dateStyle: 'short', timeStyle: 'short', ...(o.timeZone ? { timeZone: o.timeZone } : {}) }).format(new Date(sale.ts));
  } catch {
    // An unknown zone or date prints the ISO time as recorded.
  }
  const lines = sale.lines.map((l) => {
    const qty = l.grams !== undefined ? `${kg(l.grams)} kg x ${money(l.unitPrice)}/kg` : l.qty > 1 ? `${l.qty} x ${money(l.unitPrice)}` : undefined;
    // Before coupons: a coupon's split over the lines is for the VAT, its discount is in `discounts`.
    return { text: clip(l.name || l.gtin, 120), ...(qty ? { qty } : {}), amount: l.price + (l.couponOff ?? 0) };
  });
  const totals: ReceiptDoc['totals'] = [];
  if (sale.discounts > 0) totals.push({ label: t.subtotal, amount: sale.subtotal }, { label: t.discounts, amount: -sale.discounts });
  totals.push({ label: t.total, amount: sale.total, bold: true });
  const vat = (sale.vat ?? []).slice(0, 16).map((v) => ({ label: v.rateBp === null ? t.vatUnknown : t.vat(rateText(v.rateBp)), net: v.net, tax: v.vat }));
  return {
    storeName: clip(o.storeName, 60),
    header: [...o.header.slice(0, 8), t.kiosk(sale.kioskId), when],
    lines,
    totals,
    vat,
    payment: paymentLines(sale.payment as Record<string, unknown>, t),
    footer: [t.thanks, ...(o.qrUrl ? [t.digital] : [])],
    ...(o.qrUrl ? { qr: o.qrUrl.replaceAll('{transactionId}', encodeURIComponent(sale.transactionId)) } : {}),
    currency: sale.currency,
    language: o.language,
    transactionId: sale.transactionId,
  };
}

/** What the sale record kept of the terminal's result; each field optional, none guessed. */
function paymentLines(p: Record<string, unknown>, t: (typeof TEXT)[ReceiptLanguage]): string[] {
  const str = (k: string) => (typeof p[k] === 'string' && p[k] !== '' ? clip(p[k] as string, 60) : null);
  const out: string[] = [];
  const card = [str('cardType'), str('maskedPan')].filter((x) => x !== null).join(' ');
  if (card) out.push(clip(`${t.card}: ${card}`, 80));
  if (str('receiptNo')) out.push(`${t.receiptNo} ${str('receiptNo')}`);
  if (str('authCode')) out.push(`${t.authCode} ${str('authCode')}`);
  if (str('terminalId')) out.push(`${t.terminal} ${str('terminalId')}`);
  const own = Array.isArray(p.receipt) ? p.receipt.filter((x): x is string => typeof x === 'string').map((x) => clip(x, 80)) : [];
  if (own.length > 0) out.push('', ...own.slice(0, 200));
  return out.slice(0, 240);
}
