/**
 * A payment terminal's events as the kiosk reads them (pure): a `result` becomes the machine's
 * `paymentResult` action with the terminal's references, a `status` becomes the prompt shown on the
 * kiosk page. Both were checked against their schemas at ingest (gateway/protocol/schemas/
 * payment.ts), so only the shape is picked here; nothing a terminal sends sets a price or total.
 */
import type { KioskPaymentPrompt } from '../protocol/schemas/kiosk.js';
import { PAYMENT_PROMPTS, type PaymentPrompt } from '../protocol/schemas/payment.js';
import type { Action, Session, TerminalRefs } from './sessionTypes.js';

const REF_FIELDS = ['receiptNo', 'trace', 'terminalId', 'cardType', 'maskedPan'] as const;

/** The terminal's references of a result, only the fields it sent (an empty object for none). */
export function terminalRefsOf(d: Record<string, unknown>): TerminalRefs {
  const out: TerminalRefs = {};
  for (const k of REF_FIELDS) if (typeof d[k] === 'string') out[k] = d[k];
  return out;
}

/** A committed `result` event → the machine's action for the request it names. */
export function resultAction(requestId: string, d: Record<string, unknown>): Extract<Action, { type: 'paymentResult' }> {
  const terminal = terminalRefsOf(d);
  const receipt = Array.isArray(d.receipt) ? d.receipt.filter((l): l is string => typeof l === 'string') : [];
  return {
    type: 'paymentResult',
    requestId,
    status: d.status as 'approved',
    amount: Number(d.amount),
    ...(typeof d.currency === 'string' ? { currency: d.currency } : {}),
    ...(typeof d.authCode === 'string' ? { authCode: d.authCode } : {}),
    ...(Object.keys(terminal).length > 0 ? { terminal } : {}),
    ...(receipt.length > 0 ? { receipt } : {}),
  };
}

/** A committed `status` event → the page's prompt message; null when it names no known prompt. */
export function promptOf(d: Record<string, unknown>): KioskPaymentPrompt | null {
  const prompt = d.prompt;
  if (typeof d.requestId !== 'string' || typeof prompt !== 'string' || !(PAYMENT_PROMPTS as readonly string[]).includes(prompt)) return null;
  return {
    type: 'paymentPrompt',
    requestId: d.requestId,
    prompt: prompt as PaymentPrompt,
    ...(typeof d.code === 'number' ? { code: d.code } : {}),
    ...(typeof d.text === 'string' ? { text: d.text } : {}),
  };
}

/**
 * The kiosk whose terminal `paymentId` is and its payment under way, or null when none is paying:
 * a terminal's end of day must not run while it takes a payment.
 */
export function paymentInFlightOf(devices: Record<string, { payment?: string }>, session: (kioskId: string) => Session | undefined, paymentId: string): { kioskId: string; requestId: string | null } | null {
  for (const [kioskId, devs] of Object.entries(devices)) {
    if (devs.payment !== paymentId) continue;
    const s = session(kioskId);
    if (s?.phase === 'paying') return { kioskId, requestId: s.payment?.requestId ?? null };
  }
  return null;
}
