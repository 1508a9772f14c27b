/**
 * The day's numbers (gateway/README.md §Retail rules), pure: committed events in, hourly counters out.
 * No clock, no I/O; kpiStore.ts keeps the counters, kpiService.ts feeds the events.
 *
 * - visitors: footfall "in" at the doors (`count.in`, or one per `cross` with direction "in");
 * - transactions and sales: kiosk `transaction` records (exact class), `total` in minor units;
 * - conversion = transactions / visitors; average basket = sales / transactions;
 * - repeat rate = member transactions whose member had an earlier transaction at this store
 *   (any earlier one, also the same day) / member transactions;
 * - member share = sales of transactions with a member / all sales (money, not a count);
 * - points issued and spent, coupon redemptions: summed from the sale records' `points` and
 *   `coupons`, per hour;
 * - repeat rate by tier, per day: members with two or more transactions that day / members seen
 *   that day, grouped by the tier the sale record names (the member's last tier that day).
 * Members are kept only as a keyed hash of their code (HMAC-SHA-256 with the store's own secret,
 * memberHashKey.ts): the KPI database holds no member ids, and a copy of it cannot be reversed by
 * hashing every possible member code.
 *
 * `groupDelta` turns one committed group of events into the increments that commit in
 * the same transaction as the group (kpiService.ts says why).
 */
import { createHash, createHmac } from 'node:crypto';
import type { KpiDay } from '../protocol/schemas/api/ops.js';

/** The counters of one local hour of one local day. */
export interface HourCounts {
  visitors: number;
  transactions: number;
  /** Sum of transaction totals, minor units (cents). */
  sales: number;
  memberTransactions: number;
  repeatTransactions: number;
  /** Sum of the totals of transactions with a member, minor units. */
  memberSales: number;
  pointsIssued: number;
  pointsSpent: number;
  /** Coupons applied on sales (one per coupon per sale). */
  couponRedemptions: number;
}

/** The counters (or the increments) of one local hour of one local day. */
export interface HourCell extends HourCounts {
  day: string;
  hour: number;
}

export interface KpiFigures extends HourCounts {
  /** transactions / visitors; null without visitors. */
  conversion: number | null;
  /** sales / transactions in minor units, rounded; null without transactions. */
  averageBasket: number | null;
  /** repeat / member transactions; null without member transactions. */
  repeatRate: number | null;
  /** memberSales / sales; null without sales. */
  memberShare: number | null;
}

/** One member's transactions on one local day, with the tier its last sale named ('' = none). */
export interface MemberVisit {
  day: string;
  hash: string;
  tier: string;
  visits: number;
}

/** A day's numbers: totals and 24 local hours (the API's contract). */
export type { KpiDay } from '../protocol/schemas/api/ops.js';

/** What one committed event adds; null when it adds nothing. */
export interface KpiDelta {
  day: string;
  hour: number;
  visitors: number;
  /**
   * `sign` -1: a voided sale, taken out of the hour it was counted in; `member` then says it had
   * one (a void names no member, so `memberHash` is null).
   */
  transaction: { total: number; currency: string | null; memberHash: string | null; member?: boolean; memberTier: string; pointsEarned: number; pointsSpent: number; coupons: number; sign?: 1 | -1 } | null;
}

/** The fields of a committed event the KPIs read (outbox/store.ts NewEvent has them all). */
export interface KpiEventIn {
  kind: string;
  type: string;
  ts: string;
  recvTs: number;
  data: string;
}

/** A device clock further off than this from the gateway's receive time is not trusted for the hour. */
const MAX_CLOCK_SKEW_MS = 36 * 3600_000;

export function emptyCounts(): HourCounts {
  return { visitors: 0, transactions: 0, sales: 0, memberTransactions: 0, repeatTransactions: 0, memberSales: 0, pointsIssued: 0, pointsSpent: 0, couponRedemptions: 0 };
}

const formatters = new Map<string, Intl.DateTimeFormat>();
/** The last minute asked per zone: a group's events mostly share one (counted before the commit). */
const lastMinute = new Map<string, { minute: number; day: string; hour: number }>();

/** The local calendar day (YYYY-MM-DD) and hour (0..23) of an instant in an IANA time zone. */
export function localDayHour(ms: number, timezone: string): { day: string; hour: number } {
  // Today's zone offsets and their changes fall on whole minutes, so one minute has one local hour.
  const minute = Math.floor(ms / 60_000);
  const hit = lastMinute.get(timezone);
  if (hit && hit.minute === minute) return { day: hit.day, hour: hit.hour };
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', hourCycle: 'h23' });
    formatters.set(timezone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  const out = { day: `${parts.year}-${parts.month}-${parts.day}`, hour: Number(parts.hour) % 24 };
  lastMinute.set(timezone, { minute, ...out });
  return out;
}

/** When an event happened: the device's `ts`, unless its clock is clearly wrong (then receive time). */
export function eventTime(e: Pick<KpiEventIn, 'ts' | 'recvTs'>): number {
  const t = Date.parse(e.ts);
  return Number.isFinite(t) && Math.abs(t - e.recvTs) <= MAX_CLOCK_SKEW_MS ? t : e.recvTs;
}

/**
 * The stored form of a member code: HMAC-SHA-256 under the store's key of the unkeyed hash older
 * gateways stored, so a stored unkeyed hash is migrated by `keyedMemberHash` alone (kpiService.ts).
 */
export function memberHash(code: string, key: Buffer): string {
  return keyedMemberHash(createHash('sha256').update(`storegw-member:${code}`).digest('hex'), key);
}

/** An unkeyed member hash (hex) → the keyed one. */
export function keyedMemberHash(unkeyedHex: string, key: Buffer): string {
  return createHmac('sha256', key).update(unkeyedHex).digest('hex');
}

function parse(data: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(data) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** What a committed event adds to the KPIs (events were validated by ingest; still read defensively). */
export function kpiDelta(e: KpiEventIn, timezone: string, key: Buffer): KpiDelta | null {
  let visitors = 0;
  let transaction: KpiDelta['transaction'] = null;
  if (e.kind === 'footfall' && (e.type === 'count' || e.type === 'cross')) {
    const d = parse(e.data);
    if (!d) return null;
    if (e.type === 'count') visitors = Number.isInteger(d.in) && (d.in as number) > 0 ? (d.in as number) : 0;
    else visitors = d.direction === 'in' ? 1 : 0;
    if (visitors === 0) return null;
  } else if (e.kind === 'kiosk' && e.type === 'transaction') {
    const d = parse(e.data);
    if (!d || !Number.isInteger(d.total)) return null;
    const code = typeof d.memberCode === 'string' && d.memberCode.length > 0 ? d.memberCode : null;
    const p = typeof d.points === 'object' && d.points !== null ? (d.points as Record<string, unknown>) : {};
    const count = (v: unknown) => (Number.isInteger(v) && (v as number) > 0 ? (v as number) : 0);
    transaction = {
      total: d.total as number,
      currency: typeof d.currency === 'string' ? d.currency : null,
      memberHash: code ? memberHash(code, key) : null,
      memberTier: code && typeof d.memberTier === 'string' ? d.memberTier : '',
      pointsEarned: count(p.earned),
      pointsSpent: count(p.spent),
      coupons: Array.isArray(d.coupons) ? d.coupons.length : 0,
    };
  } else if (e.kind === 'kiosk' && e.type === 'saleVoided') {
    // A voided sale leaves the numbers of the hour it was made in (its `saleTs`), not the hour of
    // the void, with what its `counts` say it added: member sales and transactions, points,
    // coupons. The repeat counts and the member's visits by tier stay: the record names no member.
    const d = parse(e.data);
    if (!d || !Number.isInteger(d.total) || typeof d.saleTs !== 'string') return null;
    const c = typeof d.counts === 'object' && d.counts !== null ? (d.counts as Record<string, unknown>) : {};
    const count = (v: unknown) => (Number.isInteger(v) && (v as number) > 0 ? (v as number) : 0);
    const voided = { total: d.total as number, currency: typeof d.currency === 'string' ? d.currency : null, memberHash: null, member: c.member === true, memberTier: '', pointsEarned: count(c.pointsEarned), pointsSpent: count(c.pointsSpent), coupons: count(c.coupons), sign: -1 as const };
    return { ...localDayHour(eventTime({ ts: d.saleTs, recvTs: e.recvTs }), timezone), visitors: 0, transaction: voided };
  } else return null;
  return { ...localDayHour(eventTime(e), timezone), visitors, transaction };
}

/**
 * Adds a delta to an hour's counters. `seenBefore` says whether the transaction's member had an
 * earlier transaction; the caller records the member afterwards.
 */
export function addDelta(c: HourCounts, d: KpiDelta, seenBefore: boolean): HourCounts {
  const t = d.transaction;
  const sign = t?.sign ?? 1;
  return {
    visitors: c.visitors + d.visitors,
    transactions: c.transactions + (t ? sign : 0),
    sales: c.sales + (t ? sign * t.total : 0),
    memberTransactions: c.memberTransactions + (t?.memberHash || t?.member ? sign : 0),
    repeatTransactions: c.repeatTransactions + (t?.memberHash && seenBefore ? 1 : 0),
    memberSales: c.memberSales + (t?.memberHash || t?.member ? sign * t.total : 0),
    pointsIssued: c.pointsIssued + (t ? sign * t.pointsEarned : 0),
    pointsSpent: c.pointsSpent + (t ? sign * t.pointsSpent : 0),
    couponRedemptions: c.couponRedemptions + (t ? sign * t.coupons : 0),
  };
}

/** Two counters added field by field. */
export function addCounts(a: HourCounts, b: HourCounts): HourCounts {
  return {
    visitors: a.visitors + b.visitors,
    transactions: a.transactions + b.transactions,
    sales: a.sales + b.sales,
    memberTransactions: a.memberTransactions + b.memberTransactions,
    repeatTransactions: a.repeatTransactions + b.repeatTransactions,
    memberSales: a.memberSales + b.memberSales,
    pointsIssued: a.pointsIssued + b.pointsIssued,
    pointsSpent: a.pointsSpent + b.pointsSpent,
    couponRedemptions: a.couponRedemptions + b.couponRedemptions,
  };
}

/** What one group of committed events adds to the KPIs. */
export interface GroupDelta {
  /** Increments per local (day, hour), in the order the hours were first touched. */
  hours: HourCell[];
  /** Members whose first transaction is in this group, with the seq of that transaction. */
  members: { hash: string; firstSeq: number }[];
  /** Member transactions per (local day, member), for the repeat rate by tier. */
  visits: MemberVisit[];
  /** The currency of the group's last transaction that names one; null when none does. */
  currency: string | null;
  /** The highest seq that counted. */
  lastSeq: number;
}

/**
 * The KPI increments of one group of events, in seq order; null when the group counts nothing.
 * `known(hash)` says whether a member had a transaction before this group; within the group the
 * first transaction of a member is not a repeat and the later ones are.
 */
export function groupDelta(events: readonly (KpiEventIn & { seq: number })[], timezone: string, known: (hash: string) => boolean, memberKey: Buffer): GroupDelta | null {
  const cells = new Map<string, HourCell>();
  const members: GroupDelta['members'] = [];
  const fresh = new Set<string>();
  const visits = new Map<string, MemberVisit>();
  let currency: string | null = null;
  let lastSeq = 0;
  for (const e of events) {
    const d = kpiDelta(e, timezone, memberKey);
    if (!d) continue;
    const key = `${d.day}|${d.hour}`;
    let cell = cells.get(key);
    if (!cell) cells.set(key, (cell = { day: d.day, hour: d.hour, ...emptyCounts() }));
    const hash = d.transaction?.memberHash ?? null;
    const seen = hash !== null && (fresh.has(hash) || known(hash));
    Object.assign(cell, addDelta(cell, d, seen));
    if (hash !== null && !seen) {
      fresh.add(hash);
      members.push({ hash, firstSeq: e.seq });
    }
    if (hash !== null) {
      const vk = `${d.day}|${hash}`;
      const v = visits.get(vk);
      if (v) (v.visits += 1), (v.tier = d.transaction!.memberTier);
      else visits.set(vk, { day: d.day, hash, tier: d.transaction!.memberTier, visits: 1 });
    }
    if (d.transaction?.currency) currency = d.transaction.currency;
    lastSeq = Math.max(lastSeq, e.seq);
  }
  return cells.size === 0 ? null : { hours: [...cells.values()], members, visits: [...visits.values()], currency, lastSeq };
}

export function figures(c: HourCounts): KpiFigures {
  return {
    ...c,
    conversion: c.visitors > 0 ? c.transactions / c.visitors : null,
    averageBasket: c.transactions > 0 ? Math.round(c.sales / c.transactions) : null,
    repeatRate: c.memberTransactions > 0 ? c.repeatTransactions / c.memberTransactions : null,
    memberShare: c.sales > 0 ? c.memberSales / c.sales : null,
  };
}

/** The repeat rate by tier of one day, from its members' visits (tiers sorted by name). */
export function tierRepeat(members: Iterable<{ tier: string; visits: number }>): KpiDay['tiers'] {
  const by = new Map<string, { members: number; repeatMembers: number }>();
  for (const m of members) {
    let t = by.get(m.tier);
    if (!t) by.set(m.tier, (t = { members: 0, repeatMembers: 0 }));
    t.members += 1;
    if (m.visits >= 2) t.repeatMembers += 1;
  }
  return [...by.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([tier, t]) => ({ tier, ...t, repeatRate: t.repeatMembers / t.members }));
}

/** A day's view from its hourly counters (missing hours are zero). */
export function dayView(day: string, timezone: string, currency: string | null, hours: ReadonlyMap<number, HourCounts>, members: Iterable<{ tier: string; visits: number }> = []): KpiDay {
  let total = emptyCounts();
  const out: KpiDay['hours'] = [];
  for (let h = 0; h < 24; h++) {
    const c = hours.get(h) ?? emptyCounts();
    total = addCounts(total, c);
    out.push({ hour: h, ...figures(c) });
  }
  return { day, timezone, currency, totals: figures(total), hours: out, tiers: tierRepeat(members) };
}
