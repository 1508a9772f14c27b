/**
 * Label tracking, pure (time passed in, no I/O): per label the content it must show (`target`
 * hash), what its AP last confirmed (`acked`), and where the transfer stands — pending, sent,
 * acked, failed — with retries and backoff. A label is *stale* while `acked !== target`
 * (gateway/README.md §Retail rules, "One price").
 *
 * Loss detection, per AP. Most ESL access points work through their commands in the order they
 * received them (one radio, one queue): the first ack for a command proves every label of an
 * EARLIER command to that AP still unanswered was lost, and a watchdog covers the tail (an AP with
 * commands outstanding, silent for `ackTimeoutMs`, lost the oldest). An AP whose birth announces
 * the capability `acksOutOfOrder` (OpenEPaperLink: each tag fetches its image when it next checks
 * in, so tags answer in their own order) gets no inference from order: each of its commands is lost
 * only when unanswered `ackTimeoutMs` after it was sent. Per AP rather than for all, because an
 * in-order AP then reports a loss at its next ack instead of a whole timeout later. No timer per label.
 *
 * A label whose target did not change is never re-sent: `setTarget` with the same hash is a no-op
 * (each transfer costs a label's battery about a hundred check-ins).
 */
import { backoffDelay, resolveBackoffConfig, type BackoffConfig } from '../uplink/backoff.js';
import { bucketOf, LABEL_STATES, STATE_CODE, type AckEntry, type Bucket, type LabelCounts, type Outstanding, type TargetPlan, type TrackedLabel, type TrackerOptions } from './labelState.js';

export { LABEL_STATES, STATE_CODE, type AckEntry, type LabelCounts, type LabelState, type TargetPlan, type TrackedLabel, type TrackerOptions } from './labelState.js';

export class LabelTracker {
  readonly labels = new Map<string, TrackedLabel>();
  private readonly commands = new Map<string, Outstanding>();
  /** Per AP, outstanding cmdIds in send order, and when the AP last made progress. */
  private readonly apQueues = new Map<string, { order: string[]; lastProgress: number }>();
  /** Labels whose row must be written to SQLite. */
  readonly dirty = new Set<string>();
  readonly removed = new Set<string>();
  /** Bumped whenever a label is added, removed, restored or retargeted (a TargetPlan made before is then re-checked). */
  private epoch = 0;
  /** Labels per bucket, kept up to date by every mutation (counts() is O(1): it runs per ack). */
  private readonly cnt: Record<Bucket, number> = { none: 0, current: 0, pending: 0, sent: 0, failed: 0 };
  private readonly backoff: Readonly<BackoffConfig>;
  private readonly random: () => number;

  constructor(private readonly o: TrackerOptions) {
    if (!(o.ackTimeoutMs > 0)) throw new Error('esl.ackTimeoutMs: must be a positive number');
    if (!(o.maxAttempts >= 1)) throw new Error('esl.maxAttempts: must be ≥ 1');
    this.backoff = resolveBackoffConfig({ initialMs: 1000, maxMs: 60_000, ...o.backoff });
    this.random = o.random ?? Math.random;
  }

  static apOf(l: TrackedLabel): string | null {
    return l.ap ?? l.bindAp;
  }

  /** Moves a label between count buckets after a mutation (`before` = its bucket before). */
  private moved(l: TrackedLabel, before: Bucket): void {
    const after = bucketOf(l);
    if (after !== before) {
      this.cnt[before]--;
      this.cnt[after]++;
    }
  }

  static isStale(l: TrackedLabel): boolean {
    return l.target !== null && l.acked !== l.target;
  }

  /** Restores a row from SQLite; a label that was `sent` when the gateway stopped is pending again. */
  restore(row: { labelId: string; ap: string | null; target: string | null; acked: string | null; state: number; attempts: number; nextAt: number; err: string | null }): void {
    const state = LABEL_STATES[row.state] ?? 'pending';
    const old = this.labels.get(row.labelId);
    if (old) this.cnt[bucketOf(old)]--;
    this.epoch++;
    const l: TrackedLabel = { labelId: row.labelId, ap: row.ap, bindAp: null, target: row.target, acked: row.acked, state: state === 'sent' ? 'pending' : state, attempts: row.attempts, nextAt: row.nextAt, cmdId: null, err: row.err };
    this.labels.set(row.labelId, l);
    this.cnt[bucketOf(l)]++;
  }

  /** Sets what the label must show; returns true when that is new (it will be sent). */
  setTarget(labelId: string, hash: string | null, bindAp: string | null, now: number): boolean {
    let l = this.labels.get(labelId);
    if (!l) {
      l = { labelId, ap: null, bindAp, target: null, acked: null, state: 'acked', attempts: 0, nextAt: now, cmdId: null, err: null };
      this.labels.set(labelId, l);
      this.epoch++;
      this.cnt.none++;
      this.removed.delete(labelId);
      this.dirty.add(labelId);
    }
    return this.retarget(l, hash, bindAp, now);
  }

  private retarget(l: TrackedLabel, hash: string | null, bindAp: string | null, now: number): boolean {
    if (l.bindAp !== bindAp) {
      l.bindAp = bindAp;
      this.epoch++;
    }
    if (l.target === hash) return false;
    this.epoch++;
    const before = bucketOf(l);
    l.target = hash;
    l.attempts = 0;
    l.err = null;
    l.cmdId = null;
    l.state = hash === null || hash === l.acked ? 'acked' : 'pending';
    l.nextAt = now;
    this.dirty.add(l.labelId);
    this.moved(l, before);
    return l.state === 'pending';
  }

  /**
   * Notes what `setTargets` will have to do for one label, without changing anything: the caller
   * plans every label in slices (yielding between them), then switches them all in one step.
   * Labels whose target and binding AP are unchanged are left out of the plan.
   */
  planTarget(plan: TargetPlan, labelId: string, hash: string | null, bindAp: string | null): void {
    const l = this.labels.get(labelId);
    if (l !== undefined && l.target === hash && l.bindAp === bindAp) return;
    plan.set.push({ labelId, label: l ?? null, hash, bindAp });
  }

  /** Notes that a label is to be removed by `setTargets` (it is no longer bound). */
  planRemoval(plan: TargetPlan, labelId: string): void {
    plan.remove.push(labelId);
  }

  newPlan(): TargetPlan {
    return { epoch: this.epoch, set: [], remove: [] };
  }

  /**
   * Applies a plan in one synchronous step: the same result as `setTarget` for every label the
   * plan looked at and `remove` for each planned removal, at a fraction of the cost (no lookups,
   * unchanged labels skipped). Returns the labels to (re)send, or null — and changes nothing — when
   * a label was added, removed, restored or retargeted since `newPlan` (the plan may be wrong;
   * the caller then sets every target itself).
   */
  setTargets(plan: TargetPlan, now: number): number | null {
    if (plan.epoch !== this.epoch) return null;
    let changed = 0;
    for (const e of plan.set) {
      if (e.label !== null ? this.retarget(e.label, e.hash, e.bindAp, now) : this.setTarget(e.labelId, e.hash, e.bindAp, now)) changed++;
    }
    for (const labelId of plan.remove) this.remove(labelId);
    return changed;
  }

  remove(labelId: string): void {
    const l = this.labels.get(labelId);
    if (l && this.labels.delete(labelId)) {
      this.epoch++;
      this.cnt[bucketOf(l)]--;
      this.removed.add(labelId);
      this.dirty.delete(labelId);
    }
  }

  /** Pending labels due now, grouped by AP (only APs `online` says are connected). */
  due(now: number, online: (ap: string) => boolean): Map<string, TrackedLabel[]> {
    const out = new Map<string, TrackedLabel[]>();
    for (const l of this.labels.values()) {
      if (l.state !== 'pending' || l.nextAt > now || l.target === null) continue;
      const ap = LabelTracker.apOf(l);
      if (ap === null || !online(ap)) continue;
      let list = out.get(ap);
      if (!list) out.set(ap, (list = []));
      list.push(l);
    }
    return out;
  }

  markSent(cmdId: string, ap: string, sent: { labelId: string; hash: string }[], now: number): void {
    const labels = new Map<string, string>();
    for (const s of sent) {
      const l = this.labels.get(s.labelId);
      if (!l) continue;
      labels.set(s.labelId, s.hash);
      const before = bucketOf(l);
      l.state = 'sent';
      l.cmdId = cmdId;
      l.attempts++;
      this.dirty.add(l.labelId);
      this.moved(l, before);
    }
    this.commands.set(cmdId, { cmdId, ap, sentAt: now, labels });
    let q = this.apQueues.get(ap);
    if (!q) this.apQueues.set(ap, (q = { order: [], lastProgress: now }));
    if (q.order.length === 0) q.lastProgress = now;
    q.order.push(cmdId);
  }

  /** Whether a cmdId is one of ours and still has unanswered labels. */
  isOutstanding(cmdId: string): boolean {
    return this.commands.has(cmdId);
  }

  /**
   * Applies an ack from `ap` for `cmdId`: `entries` per label, or null when the ack covers the
   * whole command (`{cmdId, ok}` without labels). Returns how many labels became current.
   */
  onAck(ap: string, cmdId: string, entries: AckEntry[] | null, whole: { ok: boolean; error?: string } | null, now: number, outOfOrder = false): number {
    const cmd = this.commands.get(cmdId);
    const q = this.apQueues.get(ap);
    if (q) q.lastProgress = now;
    if (cmd && q && !outOfOrder) {
      // FIFO at the AP: everything sent to it before this command and still unanswered was lost.
      const idx = q.order.indexOf(cmdId);
      for (const earlier of q.order.splice(0, Math.max(idx, 0))) this.lose(earlier, now, 'no ack (a later command was acked)');
    }
    const list: AckEntry[] = entries ?? (cmd ? [...cmd.labels.keys()].map((labelId) => ({ labelId, ok: whole?.ok ?? false, error: whole?.error })) : []);
    let current = 0;
    for (const e of list) {
      const l = this.labels.get(e.labelId);
      const sentHash = cmd?.labels.get(e.labelId);
      cmd?.labels.delete(e.labelId);
      if (!l) continue;
      const before = bucketOf(l);
      l.ap = ap;
      this.dirty.add(l.labelId);
      if (e.ok) {
        const shown = e.shownHash ?? sentHash;
        if (shown !== undefined) l.acked = shown;
        if (l.cmdId === cmdId) l.cmdId = null;
        if (l.target !== null && l.acked === l.target) {
          if (l.state !== 'acked') current++;
          l.state = 'acked';
          l.attempts = 0;
          l.err = null;
        } else if (l.cmdId === null && l.state === 'sent') {
          l.state = 'pending';
          l.nextAt = now;
        }
      } else if (l.cmdId === cmdId) {
        this.retry(l, now, e.error ?? 'refused by the AP');
      }
      this.moved(l, before);
    }
    if (cmd && cmd.labels.size === 0) this.finish(cmd);
    return current;
  }

  /** A status report: the AP hears these labels; a label already showing its target is current. */
  onStatus(ap: string, entries: { labelId: string; shownHash?: string }[]): number {
    let current = 0;
    for (const e of entries) {
      const l = this.labels.get(e.labelId);
      if (!l) continue;
      const before = bucketOf(l);
      if (l.ap !== ap) {
        l.ap = ap;
        this.dirty.add(l.labelId);
      }
      if (e.shownHash !== undefined && e.shownHash !== l.acked) {
        l.acked = e.shownHash;
        this.dirty.add(l.labelId);
        if (l.target !== null && l.acked === l.target && l.state !== 'acked') {
          l.state = 'acked';
          l.attempts = 0;
          l.err = null;
          current++;
        }
      }
      this.moved(l, before);
    }
    return current;
  }

  /**
   * Watchdog: an in-order AP with commands outstanding, silent for ackTimeoutMs, lost the oldest;
   * an AP that acks out of order lost each command unanswered ackTimeoutMs after it was sent.
   */
  expire(now: number, online: (ap: string) => boolean, outOfOrder: (ap: string) => boolean = () => false): number {
    let lost = 0;
    for (const [ap, q] of this.apQueues) {
      if (q.order.length === 0 || !online(ap)) continue;
      if (outOfOrder(ap)) {
        for (const cmdId of [...q.order]) {
          const cmd = this.commands.get(cmdId);
          if (cmd && now - cmd.sentAt >= this.o.ackTimeoutMs) lost += this.lose(cmdId, now, `no ack within ${this.o.ackTimeoutMs} ms`);
        }
        continue;
      }
      if (now - q.lastProgress < this.o.ackTimeoutMs) continue;
      const cmdId = q.order.shift()!;
      lost += this.lose(cmdId, now, `no ack within ${this.o.ackTimeoutMs} ms`);
      q.lastProgress = now;
    }
    return lost;
  }

  /**
   * The AP (re)connected: its broker session is gone, so whatever was sent and not answered is
   * re-sent now, and labels that had failed get a fresh round of attempts.
   */
  apOnline(ap: string, now: number): void {
    const q = this.apQueues.get(ap);
    if (q) {
      for (const cmdId of q.order.splice(0)) {
        const cmd = this.commands.get(cmdId);
        if (cmd) this.finish(cmd);
      }
    }
    for (const l of this.labels.values()) {
      if (LabelTracker.apOf(l) !== ap || !LabelTracker.isStale(l)) continue;
      const before = bucketOf(l);
      l.state = 'pending';
      l.cmdId = null;
      l.nextAt = now;
      l.attempts = 0;
      this.dirty.add(l.labelId);
      this.moved(l, before);
    }
  }

  /** Ops asked to send a label again (its content is unchanged, but it may be showing garbage). */
  resend(labelId: string, now: number): boolean {
    const l = this.labels.get(labelId);
    if (!l || l.target === null) return false;
    const before = bucketOf(l);
    l.acked = l.acked === l.target ? null : l.acked;
    l.state = 'pending';
    l.attempts = 0;
    l.cmdId = null;
    l.nextAt = now;
    this.dirty.add(labelId);
    this.moved(l, before);
    return true;
  }

  private lose(cmdId: string, now: number, why: string): number {
    const cmd = this.commands.get(cmdId);
    if (!cmd) return 0;
    let n = 0;
    for (const labelId of cmd.labels.keys()) {
      const l = this.labels.get(labelId);
      if (l && l.cmdId === cmdId) {
        const before = bucketOf(l);
        this.retry(l, now, why);
        this.moved(l, before);
        n++;
      }
    }
    this.finish(cmd);
    return n;
  }

  private finish(cmd: Outstanding): void {
    this.commands.delete(cmd.cmdId);
    const q = this.apQueues.get(cmd.ap);
    if (q) {
      const i = q.order.indexOf(cmd.cmdId);
      if (i >= 0) q.order.splice(i, 1);
    }
  }

  private retry(l: TrackedLabel, now: number, why: string): void {
    l.cmdId = null;
    l.err = why;
    this.dirty.add(l.labelId);
    if (l.attempts >= this.o.maxAttempts) {
      l.state = 'failed';
      return;
    }
    l.state = 'pending';
    l.nextAt = now + backoffDelay(l.attempts - 1, this.random, this.backoff);
  }

  counts(): LabelCounts {
    const c = this.cnt;
    const stale = c.pending + c.sent + c.failed;
    return { total: c.current + stale, current: c.current, stale, pending: c.pending, sent: c.sent, failed: c.failed };
  }

  /** The same counts by a full scan (tests check the incremental ones against it). */
  countsByScan(): LabelCounts {
    const c: LabelCounts = { total: 0, current: 0, stale: 0, pending: 0, sent: 0, failed: 0 };
    for (const l of this.labels.values()) {
      const b = bucketOf(l);
      if (b === 'none') continue;
      c.total++;
      if (b === 'current') c.current++;
      else {
        c.stale++;
        c[b]++;
      }
    }
    return c;
  }

  /** Labels in a state: stale (ack for current content missing), pending (to send or sent), failed, current. */
  list(state: 'stale' | 'pending' | 'failed' | 'current'): TrackedLabel[] {
    const out: TrackedLabel[] = [];
    for (const l of this.labels.values()) {
      if (l.target === null) continue;
      const stale = LabelTracker.isStale(l);
      const ok =
        state === 'stale' ? stale : state === 'current' ? !stale : state === 'failed' ? stale && l.state === 'failed' : stale && (l.state === 'pending' || l.state === 'sent');
      if (ok) out.push(l);
    }
    return out;
  }

  /** The SQLite rows for labels that changed since the last call. */
  takeDirty(max = Infinity): { rows: { labelId: string; ap: string | null; target: string | null; acked: string | null; state: number; attempts: number; nextAt: number; err: string | null }[]; removed: string[] } {
    const rows = [];
    for (const id of this.dirty) {
      if (rows.length >= max) break;
      this.dirty.delete(id);
      const l = this.labels.get(id);
      if (l) rows.push({ labelId: l.labelId, ap: l.ap ?? l.bindAp, target: l.target, acked: l.acked, state: STATE_CODE[l.state], attempts: l.attempts, nextAt: l.nextAt, err: l.err });
    }
    const removed = [...this.removed];
    this.removed.clear();
    return { rows, removed };
  }

  outstandingCommands(): number {
    return this.commands.size;
  }
}
