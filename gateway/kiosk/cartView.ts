/**
 * What the kiosk page is sent (pure): the whole cart of one session with its version, never
 * another kiosk's. Internal fields (bag baselines, request details) stay in the gateway.
 */
import type { Catalog } from '../prices/catalog.js';
import type { CartView } from '../protocol/schemas/kiosk.js';
import type { Session } from './sessionMachine.js';
import { maskMemberId } from './receiptModel.js';

export type ProduceItem = CartView['produce'][number];

/** Where the page loads an item's picture: the gateway serves a stored file or a generated one (produceImages.ts). */
export function produceImagePath(gtin: string): string {
  return `/kiosk-images/${gtin}`;
}

/**
 * The produce lookup's list: weighed items with a price, in `order` (the store's most-sold first,
 * produceRanking.ts), at most `max` so a catalog with thousands of weighed items keeps the view
 * small; only those are priced. The PLU and a Chinese name come from the item's label fields
 * (`plu`, `name_zh`) when HQ sends them.
 */
export function produceList(cat: Catalog, priceOf: (gtin: string) => number | null, order: readonly string[] = [...cat.items.keys()], max = 60): ProduceItem[] {
  const out: ProduceItem[] = [];
  for (const gtin of order) {
    const item = cat.items.get(gtin);
    if (!item || item.unit !== 'kg') continue;
    const price = priceOf(gtin);
    if (price === null) continue;
    const f = item.fields;
    out.push({
      gtin,
      name: item.name,
      price,
      image: produceImagePath(gtin),
      ...(f?.plu !== undefined ? { plu: f.plu } : {}),
      ...(f?.name_zh !== undefined ? { nameZh: f.name_zh } : {}),
    });
    if (out.length >= max) break;
  }
  return out;
}

/** One attendant request as pages see it: the text, and the money and count as fields. */
export function requestView(r: Session['requests'][number]): CartView['requests'][number] {
  return {
    requestId: r.requestId,
    kind: r.kind,
    ...(r.item !== undefined ? { item: r.item } : {}),
    createdAt: r.createdAt,
    ...(r.amount !== undefined && r.currency !== undefined ? { amount: r.amount, currency: r.currency } : {}),
    ...(r.count !== undefined ? { count: r.count } : {}),
  };
}

export function cartView(s: Session, produce: ProduceItem[], demo: boolean): CartView {
  return {
    type: 'cart',
    kioskId: s.kioskId,
    sessionId: s.sessionId,
    version: s.version,
    phase: s.phase,
    lines: s.lines.map((l) => ({
      lineId: l.lineId,
      gtin: l.gtin,
      name: l.name,
      unit: l.unit,
      qty: l.qty,
      ...(l.grams !== undefined ? { grams: l.grams } : {}),
      unitPrice: l.unitPrice,
      basePrice: l.basePrice,
      // Before coupons: a coupon is its own line of the cart (`coupons`), its discount in the total.
      price: l.price + (l.couponOff ?? 0),
      saving: l.basePrice - l.price - (l.couponOff ?? 0),
      ...(l.serials !== undefined ? { serials: l.serials } : {}),
      ageRestricted: l.ageRestricted,
      source: l.source,
    })),
    subtotal: s.totals.subtotal,
    discounts: s.totals.discounts,
    total: s.totals.total,
    currency: s.currency,
    memberCode: s.memberCode,
    member: s.memberCode !== null ? { masked: maskMemberId(s.memberCode), tier: s.memberTier ?? null } : null,
    requests: s.requests.map((r) => requestView(r)),
    helpCalled: s.helpCalled,
    bagging: { state: s.bag.state, deltaG: s.bag.deltaG },
    payment: s.payment ? { requestId: s.payment.requestId, amount: s.payment.amount, status: s.payment.status } : null,
    receipt: s.receipt,
    notice: s.notice,
    produceWeight: s.produceWeight,
    produce,
    demo,
    ...(s.points ? { points: { earned: s.points.earned, spent: s.points.spent, discount: s.points.discount, available: s.points.available, spendable: s.points.spendable } } : {}),
    ...(s.coupons?.length ? { coupons: s.coupons.map((c) => ({ couponId: c.couponId, serial: c.serial, label: c.def.label, amount: c.amount, applied: c.applied, ...(c.reason !== undefined ? { reason: c.reason } : {}), ...(c.missing !== undefined ? { missing: c.missing } : {}) })) } : {}),
  };
}
