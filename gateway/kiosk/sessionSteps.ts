/**
 * The parts of a session step that stand alone (kept apart so sessionMachine.ts stays readable):
 * the security scale's comparison, an attendant's decision, and the exact record of a sale.
 */
import { pointsOfSale, saleVat } from './pointsPricing.js';
import { pointsShares } from './pointsVat.js';
import type { KioskTransactionRec } from '../protocol/schemas/kiosk.js';
import type { Line } from './cartPricing.js';
import { saleCouponsOf } from './coupons/couponSteps.js';
import type { Action, Bag, Ctx, Effect, MachineRules, Session, StepResult } from './sessionTypes.js';

/** Security (bagging) scale: compare the stable change with what the scans since the last accepted weight expect. */
export function bagStep(s: Session, grams: number, rules: MachineRules): Bag {
  const b = { ...s.bag, lastStableG: grams };
  if (b.acceptedG === null || s.phase === 'idle' || s.phase === 'done' || s.phase === 'cancelled') return { ...b, acceptedG: grams, pendingG: 0, pendingTolG: 0, pendingAny: false, state: 'ok', deltaG: 0 };
  const delta = grams - b.acceptedG;
  const tol = Math.max(rules.bagToleranceG, (Math.abs(b.pendingG) * rules.bagTolerancePct) / 100, b.pendingTolG);
  const accept = (): Bag => ({ ...b, acceptedG: grams, pendingG: 0, pendingTolG: 0, pendingAny: false, state: 'ok', deltaG: 0 });
  if (b.pendingAny && delta >= b.pendingG - tol) return accept();
  if (b.pendingG !== 0 && Math.abs(delta - b.pendingG) <= tol) return accept();
  if (Math.abs(delta) <= rules.bagNoiseG) return { ...b, state: b.pendingG !== 0 || b.pendingAny ? 'placeItem' : 'ok', deltaG: 0 };
  return { ...b, state: delta > b.pendingG ? 'unexpected' : 'removed', deltaG: delta - b.pendingG };
}

export function attendantStep(
  s: Session,
  s0: Session,
  a: Extract<Action, { type: 'attendant' }>,
  ctx: Ctx,
  effects: Effect[],
  iso: string,
  out: () => StepResult,
  changeQty: (line: Line, qty: number, serial?: string) => void,
): StepResult {
  const r = s.requests.find((x) => x.requestId === a.requestId);
  if (!r) return { session: s0, effects };
  s.requests = s.requests.filter((x) => x.requestId !== a.requestId);
  s.attendant = [...s.attendant, { requestId: r.requestId, kind: r.kind, decision: a.decision, by: a.by, at: iso }];
  effects.push({ type: 'recordAttendant', data: { ts: iso, requestId: r.requestId, kioskId: s.kioskId, kind: r.kind, decision: a.decision, by: a.by, at: iso } });
  const ok = a.decision === 'approved';
  switch (r.kind) {
    case 'age':
      if (ok) s.ageApproved = true;
      else for (const l of s.lines.filter((x) => x.ageRestricted)) changeQty(l, 0); // rejected: the items go
      break;
    case 'removal': {
      const line = s.lines.find((l) => l.lineId === r.lineId);
      if (ok && line) changeQty(line, r.qty ?? 0, r.serial);
      break;
    }
    case 'security':
      // Approved: what is on the scale now is accepted. Rejected: the shopper must fix it (still blocked).
      if (ok && s.bag.lastStableG !== null) s.bag = { ...s.bag, acceptedG: s.bag.lastStableG, pendingG: 0, pendingTolG: 0, pendingAny: false, state: 'ok', deltaG: 0 };
      else s.notice = { code: 'fixBagging' };
      break;
    case 'override':
      if (r.paymentRequestId !== undefined && s.phase === 'paying' && s.payment?.requestId === r.paymentRequestId) {
        if (ok) {
          // The attendant confirmed the terminal took the money: the sale is recorded.
          s.payment = { ...s.payment, status: 'approved', authCode: s.payment.authCode ?? `attendant:${a.by}` };
          effects.push({ type: 'recordTransaction', data: transactionOf(s, iso) });
        } else {
          s.payment = null;
          s.phase = 'shopping';
          s.notice = { code: 'payment_cancelled' };
        }
      } else if (r.serial !== undefined && !ok) {
        // A serial sold before or blocked, refused: that one item leaves the cart.
        const line = s.lines.find((l) => l.lineId === r.lineId && l.serials?.includes(r.serial!));
        if (line) changeQty(line, line.qty - 1, r.serial);
      }
      break;
    case 'void':
      if (ok) s.phase = 'cancelled';
      break;
  }
  if (ok && r.kind !== 'override') s.helpCalled = false;
  void ctx;
  return out();
}

/** The exact record of a completed sale (the `transaction` record HQ receives). */
export function transactionOf(s: Session, iso: string): KioskTransactionRec {
  const p = s.payment!;
  const pointsOff = pointsShares(s.lines, s.points?.discount ?? 0, s.points?.as ?? 'discount');
  return {
    ts: iso,
    transactionId: s.sessionId,
    kioskId: s.kioskId,
    lines: s.lines.map((l, i) => ({
      gtin: l.gtin,
      name: l.name,
      qty: l.qty,
      unitPrice: l.unitPrice,
      ...(l.grams !== undefined ? { grams: l.grams } : {}),
      price: l.price,
      ...(l.basePrice > l.price ? { saving: l.basePrice - l.price } : {}),
      ...(l.serials !== undefined ? { serials: l.serials } : {}),
      ...(l.vatRateBp !== undefined ? { vatRateBp: l.vatRateBp } : {}),
      // Shelf = till; the line's label state is added when the sale is recorded (sessions.ts).
      ...(l.catalogVersions !== undefined ? { catalogVersions: { ...l.catalogVersions } } : {}),
      ...(l.shelfPrice !== undefined && l.source !== 'embedded' ? { shelfPrice: l.shelfPrice } : {}),
      ...(l.couponOff !== undefined ? { couponOff: l.couponOff } : {}),
      ...(pointsOff[i]! > 0 ? { pointsOff: pointsOff[i]! } : {}),
    })),
    ...(s.coupons?.length ? { coupons: saleCouponsOf(s) } : {}),
    subtotal: s.totals.subtotal,
    discounts: s.totals.discounts,
    total: s.totals.total,
    currency: s.currency,
    vat: saleVat(s),
    ...(s.memberCode !== null ? { memberCode: s.memberCode } : {}),
    ...(s.memberCode !== null && s.memberTier ? { memberTier: s.memberTier } : {}),
    payment: { requestId: p.requestId, authCode: p.authCode ?? '', amount: p.amount, ...p.terminal },
    attendant: s.attendant.map((x) => ({ requestId: x.requestId, kind: x.kind, decision: x.decision, by: x.by, at: x.at })),
    ...pointsOfSale(s),
  };
}
