/**
 * GS1 North American coupon codes, pure: the value of AI 8110 (the GS1 DataBar Expanded coupon)
 * or AI 8112 (the serialised "positive offer file" coupon), as a scanner sends it (digits after
 * the AI, the ISO/IEC 15424 symbology identifier already dropped) or as printed under the bars
 * (`(8110)…`). Never throws: a text that is not a coupon is null, a coupon that breaks is
 * `{ok: false}` naming the field.
 *
 * AI 8110 (GS1 US, "North American Coupon Application Guideline Using GS1 DataBar Expanded
 * Symbols"; the GS1 General Specifications list AI 8110 as N..70): the GS1 Company Prefix length
 * indicator (VLI, 0–6 → 6–12 digits) and prefix, a 6-digit offer code, the save value (VLI 1–5 +
 * value), the primary purchase requirement (VLI 1–5 + value, a 1-digit requirement code, a 3-digit
 * family code), then optional data fields in ascending order, each opened by its field digit:
 * 1 second purchase, 2 third purchase, 3 expiration date YYMMDD, 4 start date YYMMDD, 5 serial
 * number (VLI 0–9 → 6–15 digits), 6 retailer GCP/GLN (VLI 1–7 → 7–13 digits), 9 miscellaneous
 * (save value code, applies-to-item, store coupon flag, don't-multiply flag; one digit each).
 *
 * AI 8112 (The Coupon Bureau's AI 8112 retailer guide; GS1 General Specifications, N..70): a format
 * code (0 or 1), the funder id (VLI 0–6 → 6–12 digits), a 6-digit offer code and the serial number
 * (VLI 0–9 → 6–15 digits), which every 8112 coupon has.
 */
export interface Gs1Coupon {
  ai: '8110' | '8112';
  /** GS1 Company Prefix of the offer's funder (8110) or the funder id (8112). */
  companyPrefix: string;
  offerCode: string;
  /** The printed save value (8110; US coupons: cents or units per the save value code); null for 8112. */
  saveValue: number | null;
  /** 8110 field 9's save value code (0 cents off, 1 free item, 2 multi-buy, 5 percent off, 6 cents off the final item); 0 when absent. */
  saveValueCode: number;
  /** The primary purchase requirement (8110): value, its code (0 units … 4) and family code. */
  purchase: { value: number; code: number; family: string } | null;
  /** YYYY-MM-DD, the last day the coupon is good (8110 field 3). */
  expires: string | null;
  /** YYYY-MM-DD, the first day (8110 field 4). */
  starts: string | null;
  /** '' when the coupon carries none (a public 8110 offer). */
  serial: string;
}

export type Gs1CouponResult = { ok: true; coupon: Gs1Coupon } | { ok: false; detail: string };

/** Shortest value of a well-formed 8110 (6-digit prefix, 1-digit value and requirement) and 8112. */
const MIN_8110 = 1 + 6 + 6 + 1 + 1 + 1 + 1 + 1 + 3;
const MIN_8112 = 1 + 1 + 6 + 6 + 1 + 6;
const MAX_VALUE = 70;

/** The AI 8110/8112 value in a scanned or printed text, or null when the text does not start with either. */
function split(text: string): { ai: '8110' | '8112'; value: string } | null {
  const m = /^\((811[02])\)|^(811[02])/.exec(text);
  if (!m) return null;
  const ai = (m[1] ?? m[2]) as '8110' | '8112';
  let value = text.slice(m[0].length);
  // The value ends at FNC1 (sent as ASCII GS) or, printed, at the next "(AI)".
  const end = value.search(/[\u001d(]/);
  if (end >= 0) value = value.slice(0, end);
  return { ai, value };
}

export function parseGs1Coupon(text: string): Gs1CouponResult | null {
  const s = split(text);
  if (!s) return null;
  // An all-digit text too short for a coupon is some other code (an EAN-13 of GS1 Italy starts with 811).
  if (/^\d+$/.test(text) && text.length < 4 + Math.min(MIN_8110, MIN_8112)) return null;
  const v = s.value;
  const pre = `AI ${s.ai}`;
  if (!/^\d+$/.test(v)) return { ok: false, detail: `${pre}: digits only` };
  if (v.length > MAX_VALUE) return { ok: false, detail: `${pre}: over ${MAX_VALUE} digits` };
  try {
    return { ok: true, coupon: s.ai === '8110' ? parse8110(new Digits(v, pre)) : parse8112(new Digits(v, pre)) };
  } catch (err) {
    if (err instanceof CouponFieldError) return { ok: false, detail: err.message };
    throw err;
  }
}

class CouponFieldError extends Error {}

/** A cursor over the digits; a short read is a CouponFieldError naming the field. */
class Digits {
  at = 0;
  constructor(
    readonly s: string,
    private readonly pre: string,
  ) {}
  get left(): number {
    return this.s.length - this.at;
  }
  take(n: number, field: string): string {
    if (this.at + n > this.s.length) throw new CouponFieldError(`${this.pre} ${field}: truncated`);
    const out = this.s.slice(this.at, this.at + n);
    this.at += n;
    return out;
  }
  /** A length indicator digit in [min, max], then that many + `add` digits. */
  vli(field: string, min: number, max: number, add: number): string {
    const d = Number(this.take(1, `${field} length indicator`));
    if (d < min || d > max) throw new CouponFieldError(`${this.pre} ${field} length indicator: ${d} is not ${min}..${max}`);
    return this.take(d + add, field);
  }
  fail(field: string, why: string): never {
    throw new CouponFieldError(`${this.pre} ${field}: ${why}`);
  }
}

function date(d: Digits, field: string): string {
  const t = d.take(6, field);
  const mm = Number(t.slice(2, 4));
  const dd = Number(t.slice(4, 6));
  if (mm < 1 || mm > 12 || dd < 1 || dd > 31) d.fail(field, `${t} is not a date YYMMDD`);
  return `20${t.slice(0, 2)}-${t.slice(2, 4)}-${t.slice(4, 6)}`;
}

function parse8110(d: Digits): Gs1Coupon {
  const companyPrefix = d.vli('company prefix', 0, 6, 6);
  const offerCode = d.take(6, 'offer code');
  const saveValue = Number(d.vli('save value', 1, 5, 0));
  const purchase = { value: Number(d.vli('purchase requirement', 1, 5, 0)), code: Number(d.take(1, 'purchase requirement code')), family: d.take(3, 'purchase family code') };
  if (purchase.code > 4) d.fail('purchase requirement code', `${purchase.code} is not 0..4`);
  const c: Gs1Coupon = { ai: '8110', companyPrefix, offerCode, saveValue, saveValueCode: 0, purchase, expires: null, starts: null, serial: '' };
  let last = 0;
  while (d.left > 0) {
    const field = Number(d.take(1, 'data field'));
    if (field <= last) d.fail('data field', `${field} after ${last} (fields come once, in ascending order)`);
    last = field;
    switch (field) {
      case 1: // second purchase: rules code, requirement, its code, family, prefix (VLI 9 = the primary's)
        if (Number(d.take(1, 'additional purchase rules code')) > 3) d.fail('additional purchase rules code', 'not 0..3');
        d.vli('second purchase requirement', 1, 5, 0);
        d.take(1 + 3, 'second purchase code and family');
        secondaryPrefix(d, 'second purchase company prefix');
        break;
      case 2:
        d.vli('third purchase requirement', 1, 5, 0);
        d.take(1 + 3, 'third purchase code and family');
        secondaryPrefix(d, 'third purchase company prefix');
        break;
      case 3:
        c.expires = date(d, 'expiration date');
        break;
      case 4:
        c.starts = date(d, 'start date');
        break;
      case 5:
        c.serial = d.vli('serial number', 0, 9, 6);
        break;
      case 6:
        d.vli('retailer id', 1, 7, 6);
        break;
      case 9: {
        c.saveValueCode = Number(d.take(1, 'save value code'));
        if (![0, 1, 2, 5, 6].includes(c.saveValueCode)) d.fail('save value code', `${c.saveValueCode} is not 0, 1, 2, 5 or 6`);
        d.take(3, 'applies-to-item, store coupon and don\u2019t-multiply flags');
        break;
      }
      default:
        d.fail('data field', `${field} is not 1, 2, 3, 4, 5, 6 or 9`);
    }
  }
  return c;
}

function secondaryPrefix(d: Digits, field: string): void {
  const vli = Number(d.take(1, `${field} length indicator`));
  if (vli === 9) return;
  if (vli > 6) d.fail(`${field} length indicator`, `${vli} is not 0..6 or 9`);
  d.take(vli + 6, field);
}

function parse8112(d: Digits): Gs1Coupon {
  const format = d.take(1, 'format code');
  if (format !== '0' && format !== '1') d.fail('format code', `${format} is not 0 or 1`);
  const companyPrefix = d.vli('funder id', 0, 6, 6);
  const offerCode = d.take(6, 'offer code');
  const serial = d.vli('serial number', 0, 9, 6);
  if (d.left > 0) d.fail('serial number', `${d.left} digits after it`);
  return { ai: '8112', companyPrefix, offerCode, saveValue: null, saveValueCode: 0, purchase: null, expires: null, starts: null, serial };
}
