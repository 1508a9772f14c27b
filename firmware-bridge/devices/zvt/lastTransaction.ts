/**
 * Which of the terminal's transactions came last, as a mark the journal can keep: the trace number
 * (BMP 0B, 6 BCD digits, counted up by the terminal for every transaction) and the receipt number
 * (BMP 87, 4 BCD digits). Recovery uses it to tell "the terminal's last transaction is the charge
 * that lost its answer" from "it is an older one of the same amount" (README.md §Commit and recovery).
 */
import type { StatusInfo } from './codec.js';

export interface TxMark {
  trace?: string;
  receiptNo?: string;
}

/** The mark of a Status-Information, or undefined when it carries neither number. */
export function markOf(info: StatusInfo): TxMark | undefined {
  if (info.trace === undefined && info.receiptNo === undefined) return undefined;
  return { ...(info.trace !== undefined ? { trace: info.trace } : {}), ...(info.receiptNo !== undefined ? { receiptNo: info.receiptNo } : {}) };
}

/** True when `b` was counted after `a` on a counter of `modulus` that wraps (less than half a turn ahead). */
function ahead(a: string, b: string, modulus: number): boolean {
  if (!/^[0-9]+$/.test(a) || !/^[0-9]+$/.test(b)) return false;
  const d = (((Number(b) - Number(a)) % modulus) + modulus) % modulus;
  return d > 0 && d < modulus / 2;
}

/**
 * Whether `last` is a transaction the terminal made after `before` (undefined: not known, so none
 * can be proven newer). The trace decides when both carry one; else the receipt number; else
 * nothing is proven.
 */
export function isNewer(last: TxMark, before: TxMark | undefined): boolean {
  if (before === undefined) return false;
  if (last.trace !== undefined && before.trace !== undefined) return ahead(before.trace, last.trace, 1_000_000);
  if (last.receiptNo !== undefined && before.receiptNo !== undefined) return ahead(before.receiptNo, last.receiptNo, 10_000);
  return false;
}
