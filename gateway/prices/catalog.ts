/**
 * The catalog, pure: what a GTIN costs at a time, and what its shelf label must show at a time.
 * No clock, no I/O — the caller passes `t` from the gateway's clock, so promotions start and end on
 * time at the store while the WAN is down (protocol/README.md §Feed envelope). The kiosk prices from `priceAt`,
 * the labels from `labelContentAt`, both over the same `Catalog` (gateway/README.md §Retail rules, "One price").
 *
 * Rows come per scope (`all` for every store, `store` for this one); a store row overrides the
 * all-stores row with the same key.
 */
import { createHash } from 'node:crypto';
import type { CatalogItemT, PriceRowT, PromotionT } from '../protocol/schemas/feeds/priceFeeds.js';

export type FeedScope = 'all' | 'store';

export interface Binding {
  gtin: string;
  ap: string | null;
}

export interface Catalog {
  items: ReadonlyMap<string, CatalogItemT>;
  prices: ReadonlyMap<string, PriceRowT & { currency: string }>;
  /** Per GTIN, sorted by start. */
  promotions: ReadonlyMap<string, readonly (PromotionT & { startMs: number; endMs: number })[]>;
  members: ReadonlyMap<string, string>;
  /** Per member code: status and revoked credential ids, where the members feed gives them. */
  memberStates: ReadonlyMap<string, { status?: string; revoked?: readonly string[] }>;
  bindings: ReadonlyMap<string, Binding>;
}

export interface ScopedRows {
  items: { scope: FeedScope; item: CatalogItemT }[];
  prices: { scope: FeedScope; row: PriceRowT & { currency: string } }[];
  promotions: { scope: FeedScope; promo: PromotionT }[];
  members: { scope: FeedScope; code: string; tier: string; status?: string; revoked?: string[] }[];
  bindings: { scope: FeedScope; labelId: string; gtin: string; ap: string | null }[];
}

/** Keeps `store` rows over `all` rows with the same key. */
function pick<R extends { scope: FeedScope }, T>(list: readonly R[], key: (r: R) => string, val: (r: R) => T): Map<string, T> {
  const m = new Map<string, T>();
  for (const r of list) if (r.scope === 'all') m.set(key(r), val(r));
  for (const r of list) if (r.scope === 'store') m.set(key(r), val(r));
  return m;
}

function promotionsOf(rows: ScopedRows['promotions']): Catalog['promotions'] {
  const promoById = pick(rows, (r) => r.promo.id, (r) => r.promo);
  const promotions = new Map<string, (PromotionT & { startMs: number; endMs: number })[]>();
  for (const p of promoById.values()) {
    const list = promotions.get(p.gtin) ?? [];
    list.push({ ...p, startMs: Date.parse(p.start), endMs: Date.parse(p.end) });
    promotions.set(p.gtin, list);
  }
  for (const list of promotions.values()) list.sort((a, b) => a.startMs - b.startMs || a.id.localeCompare(b.id));
  return promotions;
}

function memberStatesOf(rows: ScopedRows['members']): Catalog['memberStates'] {
  const all = pick(rows, (r) => r.code, (r) => (r.status !== undefined || (r.revoked?.length ?? 0) > 0 ? { ...(r.status !== undefined ? { status: r.status } : {}), ...(r.revoked ? { revoked: r.revoked } : {}) } : null));
  const out = new Map<string, { status?: string; revoked?: readonly string[] }>();
  for (const [k, v] of all) if (v) out.set(k, v);
  return out;
}

const PART_BUILDERS: { [K in keyof ScopedRows]: (rows: ScopedRows) => Catalog[K] } = {
  items: (rows) => pick(rows.items, (r) => r.item.gtin, (r) => r.item),
  prices: (rows) => pick(rows.prices, (r) => r.row.gtin, (r) => r.row),
  promotions: (rows) => promotionsOf(rows.promotions),
  members: (rows) => pick(rows.members, (r) => r.code, (r) => r.tier),
  bindings: (rows) => pick(rows.bindings, (r) => r.labelId, (r) => ({ gtin: r.gtin, ap: r.ap })),
};

/** Merges scoped rows: `store` wins over `all` for the same key (GTIN, promotion id, member code, label id). */
export function buildCatalog(rows: ScopedRows): Catalog {
  return rebuildCatalog(null, rows, ['items', 'prices', 'promotions', 'members', 'bindings']);
}

/**
 * `prev` with only `parts` rebuilt from `rows` (a new object; `prev` is not touched). Each part
 * depends on its own rows only, so a prices feed rebuilds prices and promotions and keeps the 60k
 * items and bindings as they are — the rebuild runs in one synchronous step and costs per row.
 */
export function rebuildCatalog(prev: Catalog | null, rows: ScopedRows, parts: readonly (keyof ScopedRows)[]): Catalog {
  const has = (k: keyof ScopedRows) => prev === null || parts.includes(k);
  return {
    items: has('items') ? PART_BUILDERS.items(rows) : prev!.items,
    prices: has('prices') ? PART_BUILDERS.prices(rows) : prev!.prices,
    promotions: has('promotions') ? PART_BUILDERS.promotions(rows) : prev!.promotions,
    members: has('members') ? PART_BUILDERS.members(rows) : prev!.members,
    memberStates: has('members') ? memberStatesOf(rows.members) : prev!.memberStates,
    bindings: has('bindings') ? PART_BUILDERS.bindings(rows) : prev!.bindings,
  };
}

export interface PriceQuote {
  gtin: string;
  name: string;
  unit: 'each' | 'kg';
  currency: string;
  /** The regular price (minor units, per item or per kg). */
  base: number;
  /** What the shopper pays now: the lowest of base, an active promotion, the member's tier price. */
  price: number;
  source: 'base' | 'promo' | 'member';
  /** The public promotion active at `t` (what the label shows), if any. */
  promo: { id: string; price: number; until: string; text?: string } | null;
  expectedWeightG?: number;
  weightToleranceG?: number;
  ageRestriction?: number;
  /** VAT rate in basis points, included in every price (the receipt's VAT lines). */
  vatRateBp?: number;
  /** The item's category in the catalog, if it has one (coupons may target it). */
  category?: string;
  /** Feed versions (`feed/scope`) of the catalog this quote comes from (set by PriceService). */
  versions?: Readonly<Record<string, number>>;
}

/** A promotion is active on [start, end). */
function activePromos(cat: Catalog, gtin: string, t: number): readonly (PromotionT & { startMs: number; endMs: number })[] {
  return (cat.promotions.get(gtin) ?? []).filter((p) => p.startMs <= t && t < p.endMs);
}

/**
 * The price of `gtin` at time `t` (ms since epoch) for an optional member code; null when the
 * catalog has no item or no price for it (the kiosk must then refuse the item, never guess).
 */
export function priceAt(cat: Catalog, gtin: string, t: number, memberCode?: string, credentialTier?: string): PriceQuote | null {
  const item = cat.items.get(gtin);
  const row = cat.prices.get(gtin);
  if (!item || !row) return null;
  // The members feed's tier wins (HQ may have changed it since); a member the feed does not list
  // keeps the tier HQ signed into the credential the member QR carried.
  const tier = memberCode !== undefined ? (cat.members.get(memberCode) ?? credentialTier) : undefined;
  const active = activePromos(cat, gtin, t);
  // The label's promo: the cheapest public one (no tier) that is active now.
  let promo: PriceQuote['promo'] = null;
  for (const p of active) {
    if (p.tier !== undefined) continue;
    if (!promo || p.price < promo.price) promo = { id: p.id, price: p.price, until: p.end, ...(p.text !== undefined ? { text: p.text } : {}) };
  }
  let price = row.price;
  let source: PriceQuote['source'] = 'base';
  if (promo && promo.price < price) {
    price = promo.price;
    source = 'promo';
  }
  if (tier !== undefined) {
    const mp = row.memberPrices?.[tier];
    if (mp !== undefined && mp < price) {
      price = mp;
      source = 'member';
    }
    for (const p of active) {
      if (p.tier === tier && p.price < price) {
        price = p.price;
        source = 'member';
      }
    }
  }
  return {
    gtin,
    name: item.name,
    unit: item.unit ?? 'each',
    currency: row.currency,
    base: row.price,
    price,
    source,
    promo,
    ...(item.expectedWeightG !== undefined ? { expectedWeightG: item.expectedWeightG } : {}),
    ...(item.weightToleranceG !== undefined ? { weightToleranceG: item.weightToleranceG } : {}),
    ...(item.ageRestriction !== undefined ? { ageRestriction: item.ageRestriction } : {}),
    ...(item.vatRateBp !== undefined ? { vatRateBp: item.vatRateBp } : {}),
    ...(item.category !== undefined ? { category: item.category } : {}),
  };
}

/** What one label shows (an `EslShow` label without `flash`). */
export interface LabelContent {
  labelId: string;
  gtin: string;
  name: string;
  price: number;
  currency: string;
  promo?: { price: number; until: string; text?: string };
  unit: 'each' | 'kg';
  template?: string;
  fields?: Record<string, string>;
  contentHash: string;
}

/** Hash of everything a label shows; 16 hex chars (64 bits) keep the tracking row small. */
export function contentHashOf(c: Omit<LabelContent, 'contentHash'>): string {
  const canonical = JSON.stringify([
    c.labelId,
    c.gtin,
    c.name,
    c.price,
    c.currency,
    c.promo ? [c.promo.price, c.promo.until, c.promo.text ?? null] : null,
    c.unit,
    c.template ?? null,
    c.fields ? Object.entries(c.fields).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) : null,
  ]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/** The content of `labelId` at `t`; null when it is unbound or its GTIN has no item/price. */
export function labelContentAt(cat: Catalog, labelId: string, t: number): LabelContent | null {
  const b = cat.bindings.get(labelId);
  if (!b) return null;
  const q = priceAt(cat, b.gtin, t);
  if (!q) return null;
  const item = cat.items.get(b.gtin)!;
  const c: Omit<LabelContent, 'contentHash'> = {
    labelId,
    gtin: b.gtin,
    name: q.name,
    price: q.base,
    currency: q.currency,
    ...(q.promo ? { promo: { price: q.promo.price, until: q.promo.until, ...(q.promo.text !== undefined ? { text: q.promo.text } : {}) } } : {}),
    unit: q.unit,
    ...(item.template !== undefined ? { template: item.template } : {}),
    ...(item.fields !== undefined ? { fields: item.fields } : {}),
  };
  return { ...c, contentHash: contentHashOf(c) };
}

/** The first promotion start or end strictly after `t` (when some label may change), or null. */
export function nextChangeAfter(cat: Catalog, t: number): number | null {
  let next: number | null = null;
  for (const list of cat.promotions.values()) {
    for (const p of list) {
      if (p.startMs > t && (next === null || p.startMs < next)) next = p.startMs;
      if (p.endMs > t && (next === null || p.endMs < next)) next = p.endMs;
    }
  }
  return next;
}
