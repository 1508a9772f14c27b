/**
 * GS1 element strings (GS1-128, DataBar, GS1 DataMatrix/QR/DotCode): splitting them into
 * application identifiers, checking each value, and lifting out the retail ones (GTIN, weight,
 * price, count). See gateway/kiosk/README.md §GS1 element strings.
 */
import { currencyByNumeric } from '../../protocol/currency.js';
import { gtinCheckDigit, hasValidCheck } from './checkDigits.js';
import { describe, fail, type BarcodeError, type Gs1Element, type Gs1Scan, type ScanBase, type ScanResult, type StoreCurrency } from './scanTypes.js';

export const GS = '\u001d'; // FNC1 after the first position is transmitted as ASCII GS (GS1 General Specifications)

interface AiSpec {
  title: string;
  /** Value length when fixed (the table of predefined lengths); else min..max. */
  fixed?: number;
  min?: number;
  max?: number;
  numeric: boolean;
  /** The value is a GTIN/SSCC ending in a mod-10 check digit. */
  check?: boolean;
  date?: boolean;
}

// The AIs a store checkout meets; any other AI is refused, because its length is unknown and the
// rest of the string could not be split safely.
const AI2: Readonly<Record<string, AiSpec>> = {
  '00': { title: 'SSCC', fixed: 18, numeric: true, check: true },
  '01': { title: 'GTIN', fixed: 14, numeric: true, check: true },
  '02': { title: 'CONTENT', fixed: 14, numeric: true, check: true },
  '10': { title: 'BATCH/LOT', min: 1, max: 20, numeric: false },
  '11': { title: 'PROD DATE', fixed: 6, numeric: true, date: true },
  '13': { title: 'PACK DATE', fixed: 6, numeric: true, date: true },
  '15': { title: 'BEST BEFORE', fixed: 6, numeric: true, date: true },
  '16': { title: 'SELL BY', fixed: 6, numeric: true, date: true },
  '17': { title: 'USE BY', fixed: 6, numeric: true, date: true },
  '21': { title: 'SERIAL', min: 1, max: 20, numeric: false },
  '30': { title: 'VAR. COUNT', min: 1, max: 8, numeric: true },
  '37': { title: 'COUNT', min: 1, max: 8, numeric: true },
};
// Four-digit AIs `xxxn`, n = implied decimals.
const AI3: Readonly<Record<string, AiSpec & { maxN: number }>> = {
  '310': { title: 'NET WEIGHT (kg)', fixed: 6, numeric: true, maxN: 5 },
  '320': { title: 'NET WEIGHT (lb)', fixed: 6, numeric: true, maxN: 5 },
  '390': { title: 'AMOUNT', min: 1, max: 15, numeric: true, maxN: 9 },
  '391': { title: 'AMOUNT + ISO', min: 4, max: 18, numeric: true, maxN: 9 },
  '392': { title: 'PRICE', min: 1, max: 15, numeric: true, maxN: 9 },
  '393': { title: 'PRICE + ISO', min: 4, max: 18, numeric: true, maxN: 9 },
};
// GS1 character set 82, the characters an alphanumeric AI value may hold.
const CSET82 = /^[!"%&'()*+,\-./0-9:;<=>?A-Z_a-z]*$/;

function aiAt(s: string, i: number): { ai: string; spec: AiSpec } | null {
  const two = s.slice(i, i + 2);
  const s2 = AI2[two];
  if (s2) return { ai: two, spec: s2 };
  const four = s.slice(i, i + 4);
  const s3 = AI3[four.slice(0, 3)];
  if (s3 && /^[0-9]{4}$/.test(four) && Number(four[3]) <= s3.maxN) return { ai: four, spec: s3 };
  return null;
}

export function startsWithKnownAi(s: string): boolean {
  return aiAt(s, 0) !== null;
}

function checkElement(ai: string, spec: AiSpec, value: string): BarcodeError | null {
  const field = `ai(${ai})`;
  if (spec.fixed !== undefined && value.length !== spec.fixed) {
    return fail('SGW_ERR_BAD_AI', `${field}: ${spec.title} needs ${spec.fixed} characters (got ${value.length})`);
  }
  if (spec.fixed === undefined && (value.length < (spec.min ?? 1) || value.length > (spec.max ?? 0))) {
    return fail('SGW_ERR_BAD_AI', `${field}: ${spec.title} needs ${spec.min}–${spec.max} characters (got ${value.length})`);
  }
  if (spec.numeric ? !/^[0-9]+$/.test(value) : !CSET82.test(value)) {
    return fail('SGW_ERR_BAD_AI', `${field}: ${spec.title} must be ${spec.numeric ? 'digits' : 'GS1 character set 82'}`);
  }
  if (spec.check && !hasValidCheck(value)) {
    return fail('SGW_ERR_BAD_CHECK_DIGIT', `${field}: ${spec.title} check digit ${value[value.length - 1]} is wrong, expected ${gtinCheckDigit(value.slice(0, -1))}`);
  }
  if (spec.date) {
    const mm = Number(value.slice(2, 4));
    const dd = Number(value.slice(4, 6));
    // DD 00 means "end of month" in GS1 dates.
    if (mm < 1 || mm > 12 || dd > 31) return fail('SGW_ERR_BAD_AI', `${field}: ${spec.title} must be YYMMDD`);
  }
  return null;
}

/** Splits `(01)…(3103)…` (human-readable) or the raw form with GS separators into elements. */
function splitElements(data: string, hri: boolean): { ok: true; elements: Gs1Element[] } | BarcodeError {
  const elements: Gs1Element[] = [];
  const seen = new Map<string, string>();
  const push = (ai: string, spec: AiSpec, value: string): BarcodeError | null => {
    const bad = checkElement(ai, spec, value);
    if (bad) return bad;
    // An AI twice with different values is a contradiction the shopper must not pay for.
    const before = seen.get(ai);
    if (before !== undefined && before !== value) return fail('SGW_ERR_BAD_AI', `ai(${ai}): appears twice with different values`);
    if (before === undefined) elements.push({ ai, value });
    seen.set(ai, value);
    return null;
  };
  if (hri) {
    const re = /\(([0-9]{2,4})\)([^(]*)/y;
    let i = 0;
    while (i < data.length) {
      re.lastIndex = i;
      const m = re.exec(data);
      if (!m) return fail('SGW_ERR_BAD_AI', `code[${i}]: expected "(AI)value"`);
      const hit = aiAt(m[1], 0);
      if (!hit || hit.ai !== m[1]) return fail('SGW_ERR_BAD_AI', `ai(${m[1]}): not an AI this gateway reads`);
      const bad = push(hit.ai, hit.spec, m[2]);
      if (bad) return bad;
      i = re.lastIndex;
    }
  } else {
    let i = 0;
    while (i < data.length) {
      if (data[i] === GS) {
        i++; // FNC1 separator; a leading one is the FNC1 of the first position
        continue;
      }
      const hit = aiAt(data, i);
      if (!hit) return fail('SGW_ERR_BAD_AI', `code[${i}]: no AI this gateway reads starts at ${describe(data.slice(i, i + 4))}`);
      i += hit.ai.length;
      let end: number;
      if (hit.spec.fixed !== undefined) {
        end = Math.min(i + hit.spec.fixed, data.length);
      } else {
        end = data.indexOf(GS, i);
        if (end < 0) end = data.length;
      }
      const bad = push(hit.ai, hit.spec, data.slice(i, end));
      if (bad) return bad;
      i = end;
    }
  }
  if (elements.length === 0) return fail('SGW_ERR_BAD_AI', 'code: element string holds no AI');
  return { ok: true, elements };
}

/** value × 10^(exp − decimals), exact, or null when that needs a fraction or leaves the safe range. */
function toMinor(value: string, decimals: number, exponent: number): number | null {
  let v = BigInt(value);
  if (decimals <= exponent) v *= 10n ** BigInt(exponent - decimals);
  else {
    const div = 10n ** BigInt(decimals - exponent);
    if (v % div !== 0n) return null;
    v /= div;
  }
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : null;
}

/** num/den rounded half-up, in integers. */
function roundDiv(num: bigint, den: bigint): number {
  return Number((2n * num + den) / (2n * den));
}

export function parseGs1(c: StoreCurrency, base: ScanBase, data: string, hri: boolean): ScanResult {
  const split = splitElements(data, hri);
  if (!split.ok) return split;
  const out: Gs1Scan = { ok: true, kind: 'gs1', ...base, elements: split.elements };
  for (const { ai, value } of split.elements) {
    const head = ai.slice(0, 3);
    const n = Number(ai[3]);
    if (ai === '01') out.gtin14 = value;
    else if (ai === '30') out.count = Number(value);
    else if ((head === '310' || head === '320') && out.grams === undefined) {
      const v = BigInt(value);
      out.grams =
        head === '310'
          ? roundDiv(v * 1000n, 10n ** BigInt(n)) // kg with n decimals
          : roundDiv(v * 45359237n, 10n ** BigInt(n + 5)); // lb: 1 lb = 0.45359237 kg exactly
    } else if ((head === '392' || head === '393') && out.priceMinor === undefined) {
      let amount = value;
      let exponent = c.currencyExponent;
      let currency = c.currency ?? undefined;
      if (head === '393') {
        const cur = currencyByNumeric(value.slice(0, 3));
        if (!cur) return fail('SGW_ERR_BAD_VALUE', `ai(${ai}).currency: ISO 4217 numeric ${value.slice(0, 3)} is not a currency this gateway knows`);
        // The store sells in one currency: an amount in another is refused, never read as the
        // store's (393n with USD 2.99 at a EUR store was charged €2.99).
        if (c.currency !== null && cur.alpha !== c.currency) return { ...fail('SGW_ERR_WRONG_CURRENCY', `ai(${ai}).currency: ${cur.alpha} (${cur.numeric}) is not the store currency ${c.currency}`), currency: cur.alpha };
        amount = value.slice(3);
        exponent = cur.exponent;
        currency = cur.alpha;
      }
      const minor = toMinor(amount, n, exponent);
      if (minor === null) return fail('SGW_ERR_BAD_VALUE', `ai(${ai}): ${amount} with ${n} decimals is not a whole number of minor units`);
      out.priceMinor = minor;
      if (currency !== undefined) out.currency = currency;
    }
  }
  return out;
}
