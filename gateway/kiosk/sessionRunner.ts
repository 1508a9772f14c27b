/**
 * Runs actions on the kiosks' sessions, one at a time per kiosk (a promise chain each): the pure
 * machine (sessionMachine.ts) steps, the new state is saved to kiosk.db before anything shows it,
 * then the effects it asked for run (kioskEffects.ts). A failing action is logged and the kiosk's
 * next one still runs. The session service (sessions.ts) owns the sessions and wires this in.
 */
import type { EventEmitter } from 'node:events';
import type { LogLimiter, Logger } from '../log.js';
import type { CartView } from '../protocol/schemas/kiosk.js';
import { REFUSAL_NOTICES, step, type Action, type Ctx, type Session } from './sessionMachine.js';
import { savedStep, type SaleStep } from './saleLedger.js';
import type { KioskStore } from './store.js';
import type { KioskEffects } from './kioskEffects.js';
import type { CouponBook } from './coupons/couponBook.js';
import type { PickupFlow } from './pickupFlow.js';
import type { PaymentPrompts } from './paymentPrompts.js';

export interface SessionRunnerHost {
  /** The live sessions by kiosk id: read here, and each saved state replaces its kiosk's entry. */
  sessions: Map<string, Session>;
  store: Pick<KioskStore, 'saveSession' | 'updatePayment'>;
  effects: Pick<KioskEffects, 'run' | 'sendLight'>;
  coupons: Pick<CouponBook, 'sessionChanged'>;
  pickup: Pick<PickupFlow, 'sessionChanged'>;
  prompts: Pick<PaymentPrompts, 'sessionChanged'>;
  /** Where 'view' and 'hop' are emitted (the service's `changes`). */
  changes: EventEmitter;
  view(kioskId: string): CartView | null;
  /** What the machine may ask while it steps (prices, rules, points, serials, tiers). */
  ctx(): Ctx;
  /** Payment timeout → cancel; unanswered cancel → attendant; done/cancelled → idle again (sessionTimers.ts). */
  armTimers(kioskId: string): void;
  checkpoint(step: SaleStep, kioskId: string): void;
  /** A page's intent refused by the machine: the gateway counts it. */
  onRefused?: (code: string) => void;
  /** Refused intents are logged at most a few per kiosk and window: a page may send them in a loop. */
  refusalLog: LogLimiter;
  log: Logger;
  now: () => number;
  mono: () => number;
}

export class SessionRunner {
  private readonly chains = new Map<string, Promise<void>>();

  constructor(private readonly h: SessionRunnerHost) {}

  /** Runs one action after the kiosk's previous one; never rejects (a failure is logged). */
  dispatch(kioskId: string, action: Action, eventMono: number | null, peek?: (before: Session) => void): Promise<void> {
    const prev = this.chains.get(kioskId) ?? Promise.resolve();
    const next = prev.then(() => {
      const s = this.h.sessions.get(kioskId);
      if (!s) return;
      peek?.(s);
      return this.applyNow(kioskId, action, eventMono);
    }).catch((err: Error) => this.h.log.error({ err, deviceId: kioskId, action: action.type }, 'a kiosk action failed'));
    this.chains.set(kioskId, next);
    return next;
  }

  /** Runs a step after the kiosk's previous one; never rejects (a failure is logged). */
  enqueue(kioskId: string, fn: () => Promise<void>): Promise<void> {
    const next = (this.chains.get(kioskId) ?? Promise.resolve()).then(fn).catch((err: Error) => this.h.log.error({ err, deviceId: kioskId }, 'a kiosk step failed'));
    this.chains.set(kioskId, next);
    return next;
  }

  /** Resolves once every kiosk's queued work has finished (for stop). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.chains.values()]);
  }

  /** One action on the kiosk's current session; only from its chain (dispatch, enqueue). */
  async applyNow(kioskId: string, action: Action, eventMono: number | null = null): Promise<void> {
    const s = this.h.sessions.get(kioskId);
    if (!s) return;
    const { session, effects } = step(s, action, this.h.ctx());
    if (session === s) return;
    if (session.notice && REFUSAL_NOTICES.has(session.notice.code)) this.refused(session.kioskId, action.type, session.notice);
    await this.commitState(s, session, eventMono);
    await this.h.coupons.sessionChanged(s, session);
    if (s.payment && !session.payment) {
      // A payment the machine gave up on: settled as its result says, or reversed.
      const reversed = effects.some((fx) => fx.type === 'reverseCharge' && fx.requestId === s.payment!.requestId);
      await this.h.store.updatePayment(s.payment.requestId, reversed ? 'reversed' : action.type === 'paymentResult' ? action.status : 'cancelled', this.h.now());
    }
    for (const fx of effects) await this.h.effects.run(session.kioskId, fx);
  }

  private async commitState(prev: Session, session: Session, eventMono: number | null): Promise<void> {
    await this.h.store.saveSession(session, this.h.now());
    const crossed = savedStep(prev, session);
    if (crossed) this.h.checkpoint(crossed, session.kioskId);
    this.h.sessions.set(session.kioskId, session);
    this.h.pickup.sessionChanged(session);
    this.h.prompts.sessionChanged(session);
    this.h.changes.emit('view', session.kioskId, this.h.view(session.kioskId), eventMono);
    if (eventMono !== null) this.h.changes.emit('hop', session.kioskId, this.h.mono() - eventMono);
    if (crossed === 'sessionSaved') this.h.checkpoint('thankYou', session.kioskId);
    this.h.effects.sendLight(session.kioskId);
    this.h.armTimers(session.kioskId);
  }

  /** Counted always, logged rate-limited, naming the field in `detail`. */
  private refused(kioskId: string, intent: string, notice: { code: string; detail?: string }): void {
    this.h.onRefused?.(notice.code);
    const suppressed = this.h.refusalLog.take(`${kioskId}:${notice.code}`);
    if (suppressed >= 0) this.h.log.warn({ deviceId: kioskId, intent, code: notice.code, reason: notice.detail, suppressed }, 'kiosk intent refused');
  }
}
