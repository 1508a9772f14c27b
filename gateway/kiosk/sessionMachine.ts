/**
 * One kiosk's checkout session as a pure state machine: `step(session, action, ctx)` returns the
 * next session and the effects the shell (sessions.ts) must carry out (charge the terminal, commit
 * an exact record). No clock, no I/O: `ctx.now` and `ctx.newId` are passed in.
 *
 * Phases: idle → shopping ⇄ needsAttendant → paying → done, or cancelled. `needsAttendant` is
 * derived: a bagging-area mismatch or an open blocking request (security, removal, void, override).
 * An open age request does not block scanning, only payment (the light tower shows amber: the
 * shopper may go on scanning, payment waits for the attendant); age is approved once per transaction.
 */
import type { AttendantKind, SessionPhase } from '../protocol/schemas/kiosk.js';
import { expectedGrams, priceLine, totalsOf, type Line } from './cartPricing.js';
import { isSoldHere, lineHasTag, liveSold, rememberSold, sameTag } from './rfidTags.js';
import { formatMinor } from '../protocol/currency.js';
import { attendantStep, bagStep, transactionOf } from './sessionSteps.js';
import { pricePoints, saleVat, spendPointsStep } from './pointsPricing.js';
import { serialRequestItem } from './serialCheck.js';
import type { Action, AttendantRequest, Ctx, Effect, Session, StepResult } from './sessionTypes.js';
import { withoutCoupon } from './coupons/couponPricing.js';
import { couponStep, priceCartCoupons } from './coupons/couponSteps.js';

export * from './sessionTypes.js';
export { bagStep, transactionOf } from './sessionSteps.js';

const BLOCKING: ReadonlySet<AttendantKind> = new Set(['security', 'removal', 'void', 'override']);

export function newSession(kioskId: string, sessionId: string, currency: string, now: number, bagEnabled: boolean, bagBaseline: number | null = null): Session {
  return {
    kioskId,
    sessionId,
    phase: 'idle',
    version: 0,
    lineSeq: 0,
    lines: [],
    totals: { subtotal: 0, discounts: 0, total: 0 },
    currency,
    memberCode: null,
    ageApproved: false,
    requests: [],
    attendant: [],
    helpCalled: false,
    bag: { enabled: bagEnabled, acceptedG: bagBaseline, lastStableG: bagBaseline, pendingG: 0, pendingTolG: 0, pendingAny: false, state: bagEnabled ? 'ok' : 'off', deltaG: 0 },
    payment: null,
    receipt: null,
    notice: null,
    produceWeight: null,
    createdAt: new Date(now).toISOString(),
  };
}

/** True while the cart may change (scans, quantities, member). */
export function isShopping(p: SessionPhase): boolean {
  return p === 'idle' || p === 'shopping' || p === 'needsAttendant';
}

/** The light tower for a session (the usual SCO convention): green in use, amber attention, red intervention; flashing while help is called. */
export function lightFor(s: Session): { color: 'green' | 'amber' | 'red'; mode: 'steady' | 'flash' } {
  let color: 'green' | 'amber' | 'red' = 'green';
  if (s.phase === 'needsAttendant') color = 'red';
  else if (s.requests.length > 0 || s.bag.state === 'placeItem') color = 'amber';
  return { color, mode: s.helpCalled ? 'flash' : 'steady' };
}

export function step(s0: Session, a: Action, ctx: Ctx): StepResult {
  const s: Session = { ...s0, notice: null };
  const effects: Effect[] = [];
  const iso = new Date(ctx.now).toISOString();
  const out = (): StepResult => {
    if (isShopping(s.phase) && (s.lines.length > 0 || s.phase !== 'idle' || s.memberCode !== null)) s.phase = blocked(s) ? 'needsAttendant' : 'shopping';
    s.version = s0.version + 1;
    return { session: s, effects };
  };
  const reprice = () => {
    s.lines = s.lines.map((l) => priceLine(withoutCoupon(l), ctx.quote, s.memberCode));
    priceCartCoupons(s, ctx); // coupons after promotions and member prices
    s.totals = totalsOf(s.lines);
    pricePoints(s, ctx.points);
  };
  const expectChange = (g: number | null, tol: number) => {
    if (!s.bag.enabled) return;
    if (g === null) s.bag = { ...s.bag, pendingAny: true };
    else s.bag = { ...s.bag, pendingG: s.bag.pendingG + g, pendingTolG: s.bag.pendingTolG + tol };
  };
  const request = (kind: AttendantKind, extra: Partial<AttendantRequest> = {}) => {
    s.requests = [...s.requests, { requestId: ctx.newId(), kind, createdAt: iso, ...extra }];
  };
  const changeQty = (line: Line, qty: number, serial?: string) => {
    if (line.serials !== undefined) return dropTags(line, serial !== undefined ? [serial] : line.serials.slice(Math.max(0, qty)));
    const perUnit = line.expectedG !== null && line.grams === undefined ? line.expectedG / line.qty : null;
    if (qty <= 0) {
      s.lines = s.lines.filter((l) => l.lineId !== line.lineId);
      expectChange(line.expectedG === null ? null : -line.expectedG, line.toleranceG);
    } else {
      s.lines = s.lines.map((l) => (l.lineId === line.lineId ? { ...l, qty, expectedG: perUnit === null ? l.expectedG : perUnit * qty } : l));
      if (perUnit !== null) expectChange(perUnit * (qty - line.qty), (line.toleranceG / line.qty) * Math.abs(qty - line.qty));
    }
    reprice();
  };
  /** Tags taken out of an RFID line: the bag expects their weight to go, a read of them again adds nothing. */
  const dropTags = (line: Line, gone: string[]) => {
    const all = line.serials ?? [];
    const left = all.filter((x) => !gone.includes(x));
    const n = all.length - left.length;
    if (n === 0) return;
    const perUnitG = line.expectedG === null ? null : line.expectedG / line.qty;
    const perUnitTol = line.toleranceG / line.qty;
    s.removedTags = [...(s.removedTags ?? []), ...all.filter((x) => gone.includes(x)).map((serial) => ({ gtin: line.gtin, serial, told: false }))];
    if (left.length === 0) s.lines = s.lines.filter((l) => l.lineId !== line.lineId);
    else s.lines = s.lines.map((l) => (l.lineId === line.lineId ? { ...l, serials: left, qty: left.length, expectedG: perUnitG === null ? null : perUnitG * left.length, toleranceG: perUnitTol * left.length } : l));
    expectChange(perUnitG === null ? null : -perUnitG * n, perUnitTol * n);
    reprice();
  };

  switch (a.type) {
    case 'addItem': {
      if (!isShopping(s.phase)) return { session: s0, effects };
      if (a.serial !== undefined) {
        // An item is its GTIN and its serial.
        const serial = a.serial;
        if (a.via === 'rfid' && isSoldHere(s.soldTags, a.gtin, serial, ctx.now)) return { session: s0, effects }; // the last shopper's basket
        if (s.lines.some((l) => lineHasTag(l, a.gtin, serial))) return { session: s0, effects }; // counted once
        const removed = (s.removedTags ?? []).find((t) => sameTag(t, a.gtin, serial));
        if (removed) {
          if (removed.told) return { session: s0, effects };
          s.removedTags = (s.removedTags ?? []).map((t) => (t === removed ? { ...t, told: true } : t));
          s.notice = { code: 'removedTagRead', detail: ctx.quote(a.gtin, s.memberCode)?.name ?? a.gtin };
          return out();
        }
      }
      const q = ctx.quote(a.gtin, s.memberCode);
      if (!q) {
        // A basket reader reads the same tag many times a second: the help call it already raised
        // is not raised (nor the session saved) again for every read.
        if (a.serial !== undefined && s0.helpCalled && s0.notice?.code === 'unknownItem' && s0.notice.detail === a.gtin) return { session: s0, effects };
        s.notice = { code: 'unknownItem', detail: a.gtin };
        s.helpCalled = true; // an unknown code gets a clear message and a call for help
        return out();
      }
      if (q.unit === 'kg' && a.grams === undefined && a.embeddedPrice === undefined) {
        s.notice = { code: 'weighItem', detail: q.name };
        return out();
      }
      const tol = q.weightToleranceG ?? 0;
      const existing = a.grams === undefined && a.embeddedPrice === undefined ? s.lines.find((l) => l.gtin === a.gtin && l.grams === undefined && l.embeddedPrice === undefined && (l.serials !== undefined) === (a.serial !== undefined)) : undefined;
      if (existing) {
        const qty = existing.qty + 1;
        s.lines = s.lines.map((l) => (l.lineId === existing.lineId ? { ...l, qty, serials: a.serial !== undefined ? [...(l.serials ?? []), a.serial] : l.serials, expectedG: q.expectedWeightG !== undefined ? q.expectedWeightG * qty : null, toleranceG: tol * qty } : l));
      } else {
        s.lineSeq = s0.lineSeq + 1;
        const line: Line = {
          lineId: `L${s.lineSeq}`,
          gtin: a.gtin,
          name: q.name,
          unit: q.unit,
          qty: 1,
          ...(a.grams !== undefined ? { grams: a.grams } : {}),
          ...(a.embeddedPrice !== undefined ? { embeddedPrice: a.embeddedPrice } : {}),
          ...(a.serial !== undefined ? { serials: [a.serial] } : {}),
          unitPrice: 0,
          basePrice: 0,
          price: 0,
          source: 'base',
          ageRestricted: (q.ageRestriction ?? 0) > 0,
          expectedG: expectedGrams(q, 1, a.grams),
          toleranceG: tol,
        };
        s.lines = [...s.lines, line];
      }
      expectChange(a.grams ?? q.expectedWeightG ?? null, tol);
      if ((q.ageRestriction ?? 0) > 0 && !s.ageApproved && !s.requests.some((r) => r.kind === 'age')) request('age', { item: q.name });
      const against = a.serial !== undefined ? ctx.serialState?.(a.gtin, a.serial) : null;
      if (against) {
        // A serial sold before or blocked is sold again only if an attendant says so (serialCheck.ts).
        const serial = a.serial!;
        const line = s.lines.find((l) => lineHasTag(l, a.gtin, serial))!;
        request('override', { item: serialRequestItem(q.name, serial, against), lineId: line.lineId, serial });
      }
      reprice();
      return out();
    }
    case 'badCode':
      if (!isShopping(s.phase)) return { session: s0, effects };
      s.notice = a.currency !== undefined ? { code: 'wrongCurrency', detail: a.currency } : { code: 'badCode', detail: a.detail };
      s.helpCalled = true;
      return out();
    case 'setQty':
    case 'remove': {
      if (!isShopping(s.phase)) return { session: s0, effects };
      const line = s.lines.find((l) => l.lineId === a.lineId);
      if (!line) return { session: s0, effects };
      const serial = a.type === 'remove' ? a.serial : undefined;
      if (serial !== undefined && !line.serials?.includes(serial)) return { session: s0, effects };
      // One tag of an RFID line, or the whole line.
      const qty = serial !== undefined ? line.qty - 1 : a.type === 'remove' ? 0 : Math.max(0, Math.min(999, Math.floor(a.qty)));
      if ((line.serials !== undefined && a.type === 'setQty') || (line.grams !== undefined && qty > 0)) {
        s.notice = { code: 'qtyFixed', detail: line.name }; // counted by RFID or weighed: remove only
        return out();
      }
      if (qty < line.qty && ctx.rules.removalNeedsAttendant) {
        request('removal', { item: line.name, lineId: line.lineId, qty, ...(serial !== undefined ? { serial } : {}) });
        return out();
      }
      changeQty(line, qty, serial);
      return out();
    }
    case 'member':
      if (!isShopping(s.phase)) return { session: s0, effects };
      if (!a.known) {
        s.notice = { code: 'unknownMember' };
        return out();
      }
      s.memberCode = a.code;
      s.memberTier = ctx.memberTier?.(a.code) ?? undefined;
      if (s.memberTier === undefined) delete s.memberTier;
      reprice();
      s.notice = { code: 'memberOk' };
      return out();
    case 'memberRefused':
      if (!isShopping(s.phase)) return { session: s0, effects };
      s.notice = a.notice;
      return out();
    case 'spendPoints':
      if (!isShopping(s.phase)) return { session: s0, effects };
      spendPointsStep(s, a.points, ctx.points);
      return out();
    case 'pickProduce': {
      if (!isShopping(s.phase)) return { session: s0, effects };
      // Only an item sold by weight is priced from the produce scale; a page asking for any other is refused.
      const q = ctx.quote(a.gtin, s.memberCode);
      if (q && q.unit !== 'kg') {
        s.notice = { code: 'notSoldByWeight', detail: `gtin: ${a.gtin} is sold per item, not by weight` };
        return out();
      }
      const w = s.produceWeight;
      if (!w || !w.stable || w.grams <= 0) {
        s.notice = { code: 'placeOnScale' };
        return out();
      }
      return step({ ...s, version: s0.version }, { type: 'addItem', gtin: a.gtin, grams: w.grams }, ctx);
    }
    case 'produceWeight':
      // A streaming scale repeats its weight ~10 times a second: only a change is a new version.
      if (s0.produceWeight?.grams === a.grams && s0.produceWeight.stable === a.stable) return { session: s0, effects };
      s.produceWeight = { grams: a.grams, stable: a.stable };
      return { session: { ...s, notice: s0.notice, version: s0.version + 1 }, effects };
    case 'bagWeight':
      if (!s.bag.enabled || !a.stable) return { session: s0, effects };
      s.bag = bagStep(s, a.grams, ctx.rules);
      // The list is replaced only when a security request goes: a fresh empty list made every repeated weight a new version.
      if (s.bag.state !== 'unexpected' && s.bag.state !== 'removed') {
        if (s.requests.some((r) => r.kind === 'security')) s.requests = s.requests.filter((r) => r.kind !== 'security');
      } else if (isShopping(s.phase) && s.phase !== 'idle' && !s.requests.some((r) => r.kind === 'security')) request('security', { item: `${s.bag.state} ${s.bag.deltaG} g` });
      if (s.bag.state === s0.bag.state && s.bag.acceptedG === s0.bag.acceptedG && s.bag.deltaG === s0.bag.deltaG && s.requests === s0.requests) return { session: s0, effects };
      return out();
    case 'help':
      s.helpCalled = !s0.helpCalled;
      return out();
    case 'pay': {
      if (!isShopping(s.phase)) return { session: s0, effects };
      if (s.lines.length === 0) s.notice = { code: 'emptyCart' };
      else if (s.requests.length > 0 || blocked(s)) s.notice = { code: s.requests.some((r) => r.kind === 'age') ? 'ageCheck' : 'needsAttendant' };
      else if (s.totals.total <= 0) s.notice = { code: 'nothingToPay' };
      // Points are checked against the balance once more: a feed or another kiosk may have spent them since.
      else if (s.pointsSpend !== undefined) pricePoints(s, ctx.points);
      if (s.notice) return out();
      const requestId = ctx.newId();
      s.payment = { requestId, amount: s.totals.total, status: 'sent' };
      s.phase = 'paying';
      effects.push({ type: 'charge', requestId, amount: s.totals.total, currency: s.currency });
      return out();
    }
    case 'paymentTimeout':
    case 'cancel':
      if (s.phase === 'paying' && s.payment && s.payment.status === 'sent' && (a.type === 'cancel' || a.requestId === s.payment.requestId)) {
        s.payment = { ...s.payment, status: 'cancelling' };
        effects.push({ type: 'cancelCharge', requestId: s.payment.requestId });
        return out();
      }
      if (a.type === 'paymentTimeout') return { session: s0, effects };
      if (s.phase === 'done' || s.phase === 'cancelled') return step(s0, { type: 'reset' }, ctx); // "Done": the next customer
      if (!isShopping(s.phase)) return { session: s0, effects };
      if (ctx.rules.voidNeedsAttendant && s.lines.length > 0) {
        // A transaction with items ends only with an attendant's approval (the void request).
        // the amount is minor units ("1234 EUR" was shown for €12.34); the text is for logs and HQ, pages use the fields.
        const count = s.lines.reduce((n, l) => n + l.qty, 0);
        if (!s.requests.some((r) => r.kind === 'void')) request('void', { item: `${count} item(s), ${formatMinor(s.totals.total, s.currency)}`, count, amount: s.totals.total, currency: s.currency });
        return out();
      }
      s.phase = 'cancelled';
      return out();
    case 'paymentUnknown':
      if (s.phase !== 'paying' || s.payment?.requestId !== a.requestId || s.payment.status === 'approved' || s.requests.some((r) => r.paymentRequestId === a.requestId)) return { session: s0, effects };
      request('override', { item: 'payment result unknown', paymentRequestId: a.requestId });
      return out();
    case 'paymentResult': {
      const p = s.payment;
      if (!p || p.requestId !== a.requestId || s.phase !== 'paying') {
        // Money taken for a sale that moved on: never silent ("an alert for the attendant"),
        // and given back. The shell never passes a result of a payment whose sale is recorded.
        if (a.status === 'approved' && !s.requests.some((r) => r.paymentRequestId === a.requestId) && s.receipt?.transactionId === undefined) {
          request('override', { item: `approved payment ${a.requestId} (${formatMinor(a.amount, a.currency ?? s.currency)}) without a sale: reversed`, paymentRequestId: a.requestId, amount: a.amount, currency: a.currency ?? s.currency });
          effects.push({ type: 'reverseCharge', requestId: a.requestId, amount: a.amount, currency: a.currency ?? s.currency, reason: 'noSale', ...receiptNoOf(a) });
        } else return { session: s0, effects };
        return out();
      }
      if (p.status === 'approved' || p.status === 'recorded') return { session: s0, effects };
      if (a.status === 'approved' && (a.amount !== p.amount || a.currency !== s.currency)) {
        // Issue 14: paid means approved for exactly the charge, in the store's currency (a result
        // without a currency proves nothing). Anything else (a partial approval on a prepaid card)
        // counts as declined: the money goes back, an attendant is asked, no sale is recorded.
        s.payment = null;
        s.requests = [
          ...s.requests.filter((r) => r.paymentRequestId !== p.requestId),
          { requestId: ctx.newId(), kind: 'override', createdAt: iso, paymentRequestId: p.requestId, item: `payment mismatch: approved ${a.amount} ${a.currency ?? '?'} for a charge of ${p.amount} ${s.currency}; reversed` },
        ];
        s.phase = 'shopping';
        s.notice = { code: 'payment_mismatch' };
        effects.push({ type: 'reverseCharge', requestId: p.requestId, amount: a.amount, currency: a.currency ?? s.currency, reason: 'mismatch', ...receiptNoOf(a) });
        return out();
      }
      if (a.status === 'approved') {
        s.payment = { ...p, status: 'approved', authCode: a.authCode ?? '', ...(a.terminal ? { terminal: a.terminal } : {}), ...(a.receipt ? { receipt: a.receipt } : {}) };
        s.requests = s.requests.filter((r) => r.paymentRequestId !== p.requestId);
        effects.push({ type: 'recordTransaction', data: transactionOf(s, iso) });
        return out();
      }
      s.payment = null;
      s.requests = s.requests.filter((r) => r.paymentRequestId !== p.requestId);
      s.phase = 'shopping';
      // Literal codes: the kiosk page has a text for each, in every language (a unit test checks).
      s.notice = a.status === 'declined' ? { code: 'payment_declined' } : a.status === 'timeout' ? { code: 'payment_timeout' } : { code: 'payment_cancelled' };
      return out();
    }
    case 'recorded':
      if (s.phase !== 'paying' || !s.payment || s.payment.status !== 'approved') return { session: s0, effects };
      s.payment = { ...s.payment, status: 'recorded' };
      s.soldTags = rememberSold(s0.soldTags, s.lines, ctx.now, ctx.now + (ctx.rules.soldTagQuietMs ?? 0));
      s.receipt = { transactionId: a.transactionId, total: s.totals.total, authCode: s.payment.authCode ?? '', vat: saleVat(s) };
      s.phase = 'done';
      s.helpCalled = false;
      return out();
    case 'attendant':
      return attendantStep(s, s0, a, ctx, effects, iso, out, changeQty);
    case 'attendantVoid': {
      // While paying (a kiosk must never stay "paying" for good) only before an approval:
      // the charge is cancelled, and an approval that still comes is reversed (the stale branch above).
      const payingVoid = s.phase === 'paying' && s.payment !== null && (s.payment.status === 'sent' || s.payment.status === 'cancelling');
      if ((!isShopping(s.phase) && !payingVoid) || (s.phase === 'idle' && s.lines.length === 0)) return { session: s0, effects };
      if (payingVoid) {
        if (s.payment!.status === 'sent') effects.push({ type: 'cancelCharge', requestId: s.payment!.requestId });
        s.payment = null;
      }
      const requestId = ctx.newId();
      s.attendant = [...s.attendant, { requestId, kind: 'void', decision: 'approved', by: a.by, at: iso }];
      effects.push({ type: 'recordAttendant', data: { ts: iso, requestId, kioskId: s.kioskId, kind: 'void', decision: 'approved', by: a.by, at: iso } });
      s.requests = [];
      s.helpCalled = false;
      s.phase = 'cancelled';
      return out();
    }
    case 'couponAdd':
    case 'couponRefused':
    case 'couponRemove':
    case 'couponRevoked':
      return couponStep(s, s0, a, out, reprice, isShopping(s.phase));
    case 'reset': {
      const soldTags = liveSold(s0.soldTags, ctx.now); // the sold pairs stay quiet into the next sessions
      return { session: { ...newSession(s0.kioskId, ctx.newId(), s0.currency, ctx.now, s0.bag.enabled, s0.bag.lastStableG), version: s0.version + 1, ...(soldTags.length > 0 ? { soldTags } : {}) }, effects };
    }
  }
}

/** A reversal names the terminal's receipt number when the result had one (the terminal reverses exactly that payment). */
function receiptNoOf(a: { terminal?: { receiptNo?: string } }): { receiptNo?: string } {
  return a.terminal?.receiptNo !== undefined ? { receiptNo: a.terminal.receiptNo } : {};
}

/** A bagging mismatch or an open blocking request; a payment override is handled while paying instead. */
function blocked(s: Session): boolean {
  return s.bag.state === 'unexpected' || s.bag.state === 'removed' || s.requests.some((r) => BLOCKING.has(r.kind) && r.paymentRequestId === undefined);
}
