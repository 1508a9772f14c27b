/**
 * Which timer a kiosk session needs (pure): a payment unanswered → cancel it; a cancel unanswered →
 * ask an attendant; done or cancelled → back to idle. `key` changes whenever the timer must be
 * armed again; sessions.ts keeps one timer per kiosk.
 */
import type { Action, Session } from './sessionMachine.js';

export interface TimerRules {
  paymentTimeoutMs: number;
  paymentUnknownMs: number;
  doneResetMs: number;
}

export function timerFor(s: Session, k: TimerRules): { key: string; ms: number; action: Action } | null {
  const key = `${s.phase}/${s.payment?.requestId ?? ''}/${s.payment?.status ?? ''}`;
  if (s.phase === 'paying' && s.payment?.status === 'sent') return { key, ms: k.paymentTimeoutMs, action: { type: 'paymentTimeout', requestId: s.payment.requestId } };
  if (s.phase === 'paying' && s.payment?.status === 'cancelling') return { key, ms: k.paymentUnknownMs, action: { type: 'paymentUnknown', requestId: s.payment.requestId } };
  if (s.phase === 'done' || s.phase === 'cancelled') return { key, ms: k.doneResetMs, action: { type: 'reset' } };
  return null;
}
