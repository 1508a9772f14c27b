/**
 * The chain view's pure core: the stores' rows (chainQuery.ts) plus the versions HQ signed last
 * (hq/tools/feedVersions.ts) → one entry per store, the ones needing attention first, and the
 * same as a text table. No clock of its own (the database's `now()` comes with the rows), no I/O.
 *
 * The stores publish their status and sync report themselves: both are untrusted input, checked
 * against their schemas; a report that does not pass is shown as missing, never guessed at.
 */
import { compile } from '../../gateway/protocol/validate.js';
import { SyncReport, type SyncReportT } from '../../gateway/protocol/schemas/syncReport.js';
import type { StoreRow } from './chainQuery.js';

export interface FeedState {
  feed: string;
  /** `all`, or `store:{storeId}` (as HQ signs it). */
  scope: string;
  applied: number | null;
  appliedAt: string | null;
  /** The latest version HQ signed, when its keys folder is readable. */
  latest: number | null;
  behind: boolean;
}

export interface ChainStore {
  storeId: string;
  state: 'online' | 'offline' | 'unknown';
  stateSince: string | null;
  gatewayVersion: string | null;
  installId: string | null;
  lastBatch: { at: string; seq: number | null; batchId: string | null } | null;
  /** HQ's lag: now − the store's last committed batch (s); null before its first batch. */
  lagS: number | null;
  /** The store's own lag: the age of its oldest record HQ has not acknowledged, as of its last sync report (s). */
  storeLagS: number | null;
  syncAt: string | null;
  outboxRecords: number | null;
  unackedBatches: number | null;
  records24h: Record<string, number>;
  feeds: FeedState[];
  batches: number;
  duplicateBatches: number;
  conflictBatches: number;
  duplicates: number;
  conflicts: number;
  rejectedBatches: number;
  lagging: boolean;
  /** Offline, lagging, behind on a feed, or with refused batches or conflicts: listed first. */
  attention: boolean;
}

const validSync = compile(SyncReport);

function statusOf(body: unknown): { state: 'online' | 'offline' | 'unknown'; since: string | null; version: string | null; installId: string | null } {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const str = (v: unknown, max = 64): string | null => (typeof v === 'string' && v.length <= max ? v : null);
  return {
    state: b.state === 'online' || b.state === 'offline' ? b.state : 'unknown',
    since: str(b.ts, 40),
    version: str(b.version),
    installId: str(b.installId),
  };
}

/** Latest signed versions keyed `"{feed} {scope}"` (versions.json). */
export type SignedVersions = Record<string, number>;

export function chainView(rows: readonly StoreRow[], opts: { lagSeconds: number; signed?: SignedVersions }): ChainStore[] {
  const out = rows.map((r) => storeView(r, opts));
  return out.sort((a, b) => Number(b.attention) - Number(a.attention) || (b.lagS ?? Infinity) - (a.lagS ?? Infinity) || a.storeId.localeCompare(b.storeId));
}

function storeView(r: StoreRow, opts: { lagSeconds: number; signed?: SignedVersions }): ChainStore {
  const st = statusOf(r.status);
  const sync: SyncReportT | null = validSync(r.sync) && r.sync.storeId === r.storeId ? r.sync : null;
  const now = r.dbNow.getTime();
  const lagS = r.lastBatchAt ? Math.max(0, (now - r.lastBatchAt.getTime()) / 1000) : null;
  // The store's own age of its oldest un-acked record, grown by the time since it said so.
  let storeLagS: number | null = null;
  if (sync && sync.outbox.oldestUnackedAgeS !== null) {
    const said = Date.parse(sync.ts);
    storeLagS = sync.outbox.oldestUnackedAgeS + (Number.isFinite(said) ? Math.max(0, (now - said) / 1000) : 0);
  }
  const feeds = new Map<string, FeedState>();
  for (const f of sync?.feeds ?? []) {
    const scope = f.scope === 'all' ? 'all' : `store:${r.storeId}`;
    feeds.set(`${f.feed} ${scope}`, { feed: f.feed, scope, applied: f.version, appliedAt: f.appliedAt, latest: null, behind: false });
  }
  for (const [key, version] of Object.entries(opts.signed ?? {})) {
    const [feed, scope] = key.split(' ');
    if (!feed || (scope !== 'all' && scope !== `store:${r.storeId}`)) continue;
    const f = feeds.get(key) ?? { feed, scope, applied: null, appliedAt: null, latest: null, behind: false };
    f.latest = version;
    f.behind = f.applied === null || f.applied < version;
    feeds.set(key, f);
  }
  const lagging = (lagS !== null && lagS > opts.lagSeconds) || (storeLagS !== null && storeLagS > opts.lagSeconds);
  const feedList = [...feeds.values()].sort((a, b) => a.feed.localeCompare(b.feed) || a.scope.localeCompare(b.scope));
  return {
    storeId: r.storeId,
    state: st.state,
    stateSince: st.since,
    gatewayVersion: sync?.gatewayVersion ?? st.version,
    installId: sync?.installId ?? st.installId,
    lastBatch: r.lastBatchAt ? { at: r.lastBatchAt.toISOString(), seq: r.lastSeq, batchId: r.lastBatchId } : null,
    lagS,
    storeLagS,
    syncAt: sync ? sync.ts : null,
    outboxRecords: sync ? sync.outbox.records : null,
    unackedBatches: sync ? sync.outbox.unackedBatches : null,
    records24h: r.classes24h,
    feeds: feedList,
    batches: r.batches,
    duplicateBatches: r.duplicateBatches,
    conflictBatches: r.conflictBatches,
    duplicates: r.duplicates,
    conflicts: r.conflicts,
    rejectedBatches: r.rejectedBatches,
    lagging,
    attention: st.state !== 'online' || lagging || feedList.some((f) => f.behind) || r.rejectedBatches > 0 || r.conflicts > 0,
  };
}

/** 90 → "1m30s"; null → "-". */
export function duration(s: number | null): string {
  if (s === null) return '-';
  const t = Math.round(s);
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
  if (t < 86400) return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(t / 86400)}d${String(Math.floor((t % 86400) / 3600)).padStart(2, '0')}h`;
}

export const COLUMNS = ['store', 'state', 'last batch', 'seq', 'lag', 'own lag', 'records 24h', 'feeds', 'dup/conf/rej batches'] as const;

/** One row of cells per store, in COLUMNS order (the CLI's table and the page share it). */
export function cells(s: ChainStore): string[] {
  const classes = Object.entries(s.records24h).sort(([a], [b]) => a.localeCompare(b)).map(([c, n]) => `${c} ${n}`).join(', ') || '-';
  const behind = s.feeds.filter((f) => f.behind);
  const feeds = s.feeds.length === 0 ? '-' : behind.length === 0 ? `${s.feeds.length} current` : behind.map((f) => `${f.feed}@${f.scope === 'all' ? 'all' : 'store'} ${f.applied ?? 'none'}<${f.latest}`).join(', ');
  return [
    s.storeId,
    s.state + (s.lagging ? ', lagging' : ''),
    s.lastBatch ? s.lastBatch.at.replace('T', ' ').slice(0, 19) : '-',
    s.lastBatch?.seq === null || s.lastBatch === null ? '-' : String(s.lastBatch.seq),
    duration(s.lagS),
    duration(s.storeLagS),
    classes,
    feeds,
    `${s.duplicateBatches}/${s.conflictBatches}/${s.rejectedBatches}`,
  ];
}

export function formatTable(stores: readonly ChainStore[]): string {
  const rows = [COLUMNS.map((c) => c.toUpperCase()), ...stores.map(cells)];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n') + '\n';
}
