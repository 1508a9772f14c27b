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

/** One timer per kiosk, armed again only when the session's `key` changes. */
export class KioskTimers {
  private readonly timers = new Map<string, NodeJS.Timeout & { key?: string }>();
  constructor(
    private readonly rules: TimerRules,
    private readonly fire: (kioskId: string, action: Action) => void,
  ) {}

  arm(kioskId: string, s: Session): void {
    const want = timerFor(s, this.rules);
    const old = this.timers.get(kioskId);
    if (old && old.key === want?.key) return;
    if (old) clearTimeout(old);
    this.timers.delete(kioskId);
    if (!want) return;
    const t = setTimeout(() => {
      this.timers.delete(kioskId);
      this.fire(kioskId, want.action);
    }, want.ms) as NodeJS.Timeout & { key?: string };
    t.key = want.key;
    t.unref();
    this.timers.set(kioskId, t);
  }

  clear(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
