/**
 * What the kiosk page is sent (pure): the whole cart of one session with its version, never
 * another kiosk's. Internal fields (bag baselines, request details) stay in the gateway.
 */
import type { Catalog } from '../prices/catalog.js';
import type { CartView } from '../protocol/schemas/kiosk.js';
import type { Session } from './sessionMachine.js';

export type ProduceItem = CartView['produce'][number];

/** The produce picture list: items sold by weight, PLU from the item's label fields when HQ sends one. */
export function produceList(cat: Catalog, priceOf: (gtin: string) => number | null, max = 60): ProduceItem[] {
  const out: ProduceItem[] = [];
  for (const item of cat.items.values()) {
    if (item.unit !== 'kg') continue;
    const price = priceOf(item.gtin);
    if (price === null) continue;
    out.push({ gtin: item.gtin, name: item.name, price, ...(item.fields?.plu !== undefined ? { plu: item.fields.plu } : {}) });
    if (out.length >= max) break;
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
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
      price: l.price,
      saving: l.basePrice - l.price,
      ...(l.serials !== undefined ? { serials: l.serials } : {}),
      ageRestricted: l.ageRestricted,
      source: l.source,
    })),
    subtotal: s.totals.subtotal,
    discounts: s.totals.discounts,
    total: s.totals.total,
    currency: s.currency,
    memberCode: s.memberCode,
    requests: s.requests.map((r) => requestView(r)),
    helpCalled: s.helpCalled,
    bagging: { state: s.bag.state, deltaG: s.bag.deltaG },
    payment: s.payment ? { requestId: s.payment.requestId, amount: s.payment.amount, status: s.payment.status } : null,
    receipt: s.receipt,
    notice: s.notice,
    produceWeight: s.produceWeight,
    produce,
    demo,
  };
}
