/**
 * The printed receipt of a sale, pure: the receipt model (receiptModel.ts, built from the sale record
 * the gateway computed and committed) laid out as the printer's structured receipt, its labels in
 * the shopper's language. Amounts stay
 * integer minor units; the bridge formats them. Payment details appear only if the terminal's
 * result carried them into the sale record (card, masked number, receipt number, its own lines).
 */
import type { KioskTransactionRec } from '../protocol/schemas/kiosk.js';
import type { ReceiptDoc } from '../protocol/schemas/printer.js';
import type { ReceiptModel } from '../protocol/schemas/receipt.js';
import { buildReceiptModel, clip, type ReceiptLanguage } from './receiptModel.js';

export type { ReceiptLanguage } from './receiptModel.js';

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
    coupon: 'Coupon',
    member: 'Member',
    points: (earned: number, spent: number, balance?: number) => `Points +${earned} -${spent}${balance !== undefined ? `, balance ${balance}` : ''}`,
    pointsDiscount: (n: number) => `Points redeemed (${n})`,
    pointsTender: (n: number) => `Paid with points (${n})`,
    transaction: 'Transaction',
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
    coupon: '优惠券',
    member: '会员',
    points: (earned: number, spent: number, balance?: number) => `积分 +${earned} -${spent}${balance !== undefined ? `，余额 ${balance}` : ''}`,
    pointsDiscount: (n: number) => `积分抵扣（${n}）`,
    pointsTender: (n: number) => `积分支付（${n}）`,
    transaction: '交易号',
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
  /** The store's id (defaults to the name). */
  storeId?: string;
  memberTier?: string;
}

/** 1900 → "19", 550 → "5.5" (integers only: never a float of a rate). */
export function rateText(bp: number): string {
  const frac = String(bp % 100).padStart(2, '0').replace(/0+$/, '');
  return frac ? `${Math.floor(bp / 100)}.${frac}` : String(Math.floor(bp / 100));
}

/** The printed receipt for a recorded sale: its receipt model, laid out for paper. */
export function buildReceipt(sale: KioskTransactionRec, o: ReceiptOptions): ReceiptDoc {
  const model = buildReceiptModel(sale, {
    storeId: o.storeId ?? o.storeName,
    storeName: o.storeName,
    header: o.header,
    language: o.language,
    ...(o.qrUrl ? { qrUrl: o.qrUrl } : {}),
    ...(o.memberTier !== undefined ? { memberTier: o.memberTier } : {}),
  });
  return printedReceipt(model, o.timeZone);
}

/** The printer's layout of a receipt model: the same lines, totals, VAT and payment as the screen shows. */
export function printedReceipt(m: ReceiptModel, timeZone?: string): ReceiptDoc {
  const t = TEXT[m.language];
  const locale = m.language === 'zh' ? 'zh-CN' : 'en';
  let when = m.time;
  try {
    when = new Intl.DateTimeFormat(locale, { dateStyle: 'short', timeStyle: 'short', ...(timeZone ? { timeZone } : {}) }).format(new Date(m.time));
  } catch {
    // An unknown zone or date prints the ISO time as recorded.
  }
  const lines = m.lines.map((l) => ({ text: clip(l.name, 120), ...(l.qtyText ? { qty: l.qtyText } : {}), amount: l.amount }));
  const totals: ReceiptDoc['totals'] = [];
  if (m.savings > 0) totals.push({ label: t.subtotal, amount: m.subtotal }, { label: t.discounts, amount: -m.savings });
  for (const c of (m.coupons ?? []).slice(0, 6)) totals.push({ label: clip(`${t.coupon} ${c.label}`, 120), amount: c.amount });
  const pv = m.points?.value ?? 0;
  if (pv > 0 && m.points?.as !== 'tender') totals.push({ label: t.pointsDiscount(m.points!.spent), amount: -pv });
  totals.push({ label: t.total, amount: m.total, bold: true });
  // As tender the points paid part of the total, beside the card.
  if (pv > 0 && m.points?.as === 'tender') totals.push({ label: t.pointsTender(m.points.spent), amount: -pv });
  const vat = m.vat.slice(0, 16).map((v) => ({ label: v.rateBp === null ? t.vatUnknown : t.vat(rateText(v.rateBp)), net: v.net, tax: v.vat }));
  const member = m.member ? [clip(`${t.member} ${m.member.id}${m.member.tier ? ` (${m.member.tier})` : ''}`, 120)] : [];
  const points = m.points ? [clip(t.points(m.points.earned, m.points.spent, m.points.balance), 120)] : [];
  return {
    storeName: m.store.name,
    header: [...m.store.header.slice(0, 8), t.kiosk(m.kioskId), when],
    lines: lines.slice(0, 1000),
    totals: totals.slice(0, 10),
    vat,
    payment: paymentLines(m.payment, t),
    footer: [...member, ...points, `${t.transaction} ${m.shortNo}`, t.thanks, ...(m.url ? [t.digital] : [])].slice(0, 10),
    ...(m.url ? { qr: m.url } : {}),
    currency: m.currency,
    language: m.language,
    transactionId: m.transactionId,
  };
}

function paymentLines(p: ReceiptModel['payment'], t: (typeof TEXT)[ReceiptLanguage]): string[] {
  const out: string[] = [];
  const card = [p.cardName, p.maskedPan].filter((x) => x !== undefined).join(' ');
  if (card) out.push(clip(`${t.card}: ${card}`, 80));
  if (p.receiptNo) out.push(`${t.receiptNo} ${p.receiptNo}`);
  if (p.approvalCode) out.push(`${t.authCode} ${p.approvalCode}`);
  if (p.terminalId) out.push(`${t.terminal} ${p.terminalId}`);
  if (p.terminalLines.length > 0) out.push('', ...p.terminalLines);
  return out.slice(0, 240);
}
