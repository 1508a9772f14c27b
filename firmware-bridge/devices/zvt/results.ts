/**
 * From terminal messages to the gateway's payment payloads (gateway/protocol/schemas/payment.ts):
 * the intermediate status codes (ZVT spec §3.7, table 17) as shopper prompts, and the
 * Status-Information fields as a result, cut to the schema's limits (terminal bytes are untrusted,
 * and a result the bridge refused to send would lose a payment).
 */
import { currencyByNumeric } from '../../../gateway/protocol/currency.js';
import type { PaymentPrompt } from '../../../gateway/protocol/schemas/payment.js';
import type { StatusInfo } from './codec.js';

const PIN = [0x01, 0x02, 0xcc];
const PIN_WRONG = [0x15, 0x18];
const WAIT = [0x0e, 0x17, 0x9c];
const PROCESSING = [0x04, 0x05, 0x06, 0xd2, 0xd3, 0xf1, 0xf2, 0xf3];
const TRY_AGAIN = [0x0c, 0x0d, 0x19];
const NOT_ACCEPTED = [0x03, 0x07, 0x08, 0x09, 0x10, 0x13, 0x14, 0x1d];

/** The prompt for a `04 FF` status code; an unknown code is `other` (its number is passed on). */
export function promptFor(code: number): PaymentPrompt {
  if (code === 0x0a) return 'insertCard';
  if (code === 0x0b) return 'removeCard';
  if (PIN.includes(code)) return 'enterPin';
  if (PIN_WRONG.includes(code)) return 'pinWrong';
  if (WAIT.includes(code)) return 'pleaseWait';
  if (PROCESSING.includes(code)) return 'processing';
  if (TRY_AGAIN.includes(code)) return 'tryAgain';
  if (NOT_ACCEPTED.includes(code)) return 'notAccepted';
  // 41–5D: the same states as 01–1D, with "please remove card" shown as well.
  if (code >= 0x41 && code <= 0x5d) return 'removeCard';
  return 'other';
}

function clip(s: string | undefined, max: number): string | undefined {
  if (s === undefined) return undefined;
  const t = s.replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
  return t ? t.slice(0, max) : undefined;
}

function digits(s: string | undefined, max: number): string | undefined {
  return s !== undefined && /^[0-9]+$/.test(s) && s.length <= max ? s : undefined;
}

/** Result fields from a Status-Information; `currency` is the registered one when the PT did not echo it. */
export function resultFields(info: StatusInfo, fallback: { amount: number; currency: string }, receipt: string[]): Record<string, unknown> {
  const pan = info.maskedPan !== undefined && /^[*]*[0-9]{0,4}$/.test(info.maskedPan) && info.maskedPan.length <= 19 ? info.maskedPan : undefined;
  const out: Record<string, unknown> = {
    // A terminal never approves more than the register asked; a larger number is not one to book.
    amount: info.amount !== undefined && info.amount <= fallback.amount ? info.amount : fallback.amount,
    currency: (info.currency && currencyByNumeric(info.currency)?.alpha) ?? fallback.currency,
    resultCode: info.resultCode,
    authCode: clip(info.authCode, 32),
    receiptNo: digits(info.receiptNo, 8),
    trace: digits(info.trace, 12),
    terminalId: info.terminalId !== undefined && /^[A-Za-z0-9 ._-]{0,16}$/.test(info.terminalId) ? info.terminalId : undefined,
    cardType: clip(info.cardName, 40),
    maskedPan: pan,
    receipt: receiptLines(receipt),
  };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}

/** At most 200 lines of at most 80 characters; a terminal line break starts a new line. */
export function receiptLines(lines: string[]): string[] {
  return lines
    .flatMap((l) => l.split(/\r?\n/))
      .map((l) => l.replace(/[\u0000-\u001f\u007f]/g, ' ').trimEnd().slice(0, 80))
    .slice(0, 200);
}

/** The result status of a failed payment by its result code: 6C is an abort (timeout or cancel key). */
export function failedStatus(resultCode: number): 'declined' | 'cancelled' {
  return resultCode === 0x6c ? 'cancelled' : 'declined';
}

/** BMP 60 of an End-of-Day: 2+2 bytes of receipt numbers, then per card family 1 byte count + 6 BCD turnover. */
export function totalsCount(totals: Buffer | undefined): number | undefined {
  if (!totals || totals.length < 4 + 7 || (totals.length - 4) % 7 !== 0) return undefined;
  let n = 0;
  for (let i = 4; i < totals.length; i += 7) n += totals[i]!;
  return n;
}
