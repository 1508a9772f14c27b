/**
 * ESL fan-out: turns "what each label must show" into `cmd/show` commands, batched per access
 * point (≤ maxLabelsPerCommand labels each, every command with its own cmdId, QoS 1), and turns
 * the APs' `evt/ack` and `evt/status` back into label states through the pure `LabelTracker`.
 *
 * The AP of a label is the one that last heard it (status, ack), else the one of its binding.
 * Nothing is sent to an AP that is offline; its labels wait and go out when it reconnects.
 */
import type { Logger } from '../log.js';
import type { NewEvent } from '../outbox/store.js';
import type { EslShowCmd } from '../protocol/schemas/esl.js';
import { labelContentAt, type Catalog, type LabelContent } from './catalog.js';
import { LabelTracker, type AckEntry, type TrackerOptions } from './labels.js';
import type { ShownPrice } from './shelfTill.js';

export interface FanoutOptions {
  tracker: TrackerOptions;
  maxLabelsPerCommand: number;
  /** Publishes a `cmd/show` payload to an AP (QoS 1). */
  publish: (ap: string, payload: string) => Promise<void>;
  online: (ap: string) => boolean;
  /** Whether an AP announced (birth capability `acksOutOfOrder`) that its acks come in any order. */
  acksOutOfOrder?: (ap: string) => boolean;
  log: Logger;
  /** Makes cmdIds unique across restarts (e.g. a few chars of the boot id). */
  cmdPrefix: string;
}

type ShowLabel = EslShowCmd['labels'][number];

/** Longest the evaluation runs before it lets the event loop turn (ms). */
const SLICE_MS = 4;

/** Time slices: `turn()` gives a promise to await once the slice ran SLICE_MS (the clock is read every 64 calls), else undefined. */
class Slicer {
  private n = 0;
  private start = performance.now();

  turn(): Promise<void> | undefined {
    if ((++this.n & 63) !== 0 || performance.now() - this.start < SLICE_MS) return undefined;
    return new Promise<void>((r) =>
      setImmediate(() => {
        this.start = performance.now();
        r();
      }),
    );
  }
}

export class EslFanout {
  readonly tracker: LabelTracker;
  private catalog: Catalog | null = null;
  /** Each label's content as of the last evaluation (what dispatch sends; no second computation). */
  private contents = new Map<string, LabelContent>();
  /**
   * Shelf = till: per label, the prices of content it acknowledged that is no longer its
   * target (kept across catalog switches and restarts, so a sale knows what a pending label shows),
   * and of the content last sent to it (an ack arriving after a switch names that one).
   */
  private readonly shown = new Map<string, ShownPrice>();
  private readonly lastSent = new Map<string, ShownPrice>();
  /** The contents before the last switch, until keepShown has kept what labels still show of them. */
  private previous = new Map<string, LabelContent>();
  /** Labels whose `shown` entry must be written to SQLite. */
  readonly shownDirty = new Set<string>();
  private cmdSeq = 0;
  commandsSent = 0;
  labelsSent = 0;
  acksSeen = 0;

  constructor(private readonly o: FanoutOptions) {
    if (!(o.maxLabelsPerCommand >= 1 && o.maxLabelsPerCommand <= 500)) throw new Error('esl.maxLabelsPerCommand: must be 1..500 (EslShow maxItems)');
    this.tracker = new LabelTracker(o.tracker);
  }

  private nextCmdId(kind: 's' | 'f'): string {
    return `${this.o.cmdPrefix}-${kind}${(this.cmdSeq++).toString(36)}`;
  }

  /**
   * Recomputes every label's content for catalog `cat` at `now`, then switches to it: the new
   * contents and what each label's target must become are computed in slices of ≤ SLICE_MS
   * (yielding to the event loop, so device ingest keeps its latency during a 60k-label change), and
   * the catalog, the contents and every label's target change together in one synchronous step —
   * no observer ever sees a label called current against a catalog it was not evaluated for.
   * That step only applies the plan (`LabelTracker.setTargets`): no lookups, unchanged labels
   * skipped. Returns how many labels must be (re)sent.
   */
  async evaluate(cat: Catalog, now: number): Promise<number> {
    const contents = new Map<string, LabelContent>();
    const plan = this.tracker.newPlan();
    const slice = new Slicer();
    for (const [labelId, b] of cat.bindings) {
      const c = labelContentAt(cat, labelId, now);
      if (c) contents.set(labelId, c);
      this.tracker.planTarget(plan, labelId, c?.contentHash ?? null, b.ap);
      const y = slice.turn();
      if (y) await y;
    }
    for (const labelId of this.tracker.labels.keys()) {
      if (!cat.bindings.has(labelId)) this.tracker.planRemoval(plan, labelId);
      const y = slice.turn();
      if (y) await y;
    }
    // ---- the switch: one synchronous step from here to the return ----
    // Labels still show the old contents until they ack: keep them readable (keepShown).
    this.previous = this.contents;
    this.catalog = cat;
    this.contents = contents;
    const changed = this.tracker.setTargets(plan, now);
    if (changed !== null) return changed;
    // Something else changed a target meanwhile (nothing in the gateway does): set them all here.
    let n = 0;
    for (const [labelId, b] of cat.bindings) {
      if (this.tracker.setTarget(labelId, contents.get(labelId)?.contentHash ?? null, b.ap, now)) n++;
    }
    for (const labelId of [...this.tracker.labels.keys()]) if (!cat.bindings.has(labelId)) this.tracker.remove(labelId);
    return n;
  }

  get currentCatalog(): Catalog | null {
    return this.catalog;
  }

  /** Sends every due label, per AP, in commands of at most maxLabelsPerCommand; returns labels sent. */
  async dispatch(now: number): Promise<number> {
    const cat = this.catalog;
    if (!cat) return 0;
    const due = this.tracker.due(now, this.o.online);
    const sends: Promise<void>[] = [];
    let n = 0;
    for (const [ap, list] of due) {
      for (let i = 0; i < list.length; i += this.o.maxLabelsPerCommand) {
        const labels: ShowLabel[] = [];
        for (const l of list.slice(i, i + this.o.maxLabelsPerCommand)) {
          const c = this.contents.get(l.labelId);
          if (c && c.contentHash === l.target) labels.push(toShow(c));
        }
        if (labels.length === 0) continue;
        const cmdId = this.nextCmdId('s');
        // Tracked before the publish: an ack can arrive before publish() resolves.
        this.tracker.markSent(cmdId, ap, labels.map((l) => ({ labelId: l.labelId, hash: l.contentHash })), now);
        for (const l of labels) this.lastSent.set(l.labelId, priceOfContent(l));
        this.commandsSent++;
        this.labelsSent += labels.length;
        n += labels.length;
        sends.push(this.o.publish(ap, JSON.stringify({ cmdId, labels })).catch((err: Error) => this.o.log.warn({ err: err.message, ap, cmdId }, 'cmd/show publish failed')));
        // One command at a time on the event loop: device events keep flowing between them.
        await new Promise<void>((r) => setImmediate(r));
      }
    }
    await Promise.all(sends);
    return n;
  }

  /** LED flash on request: the label's current content plus `flash`, one command, not a content change. */
  async flash(labelId: string, color: string, seconds: number, now: number): Promise<{ ok: true; cmdId: string; ap: string } | { ok: false; reason: string }> {
    const l = this.tracker.labels.get(labelId);
    const c = this.catalog ? labelContentAt(this.catalog, labelId, now) : null;
    if (!l || !c) return { ok: false, reason: `label ${labelId} is not bound to a priced item` };
    const ap = LabelTracker.apOf(l);
    if (!ap) return { ok: false, reason: `label ${labelId} has no access point yet` };
    if (!this.o.online(ap)) return { ok: false, reason: `access point ${ap} is offline` };
    const cmdId = this.nextCmdId('f');
    await this.o.publish(ap, JSON.stringify({ cmdId, labels: [{ ...toShow(c), flash: { color, seconds } }] }));
    return { ok: true, cmdId, ap };
  }

  /** Feeds an ESL event (committed by ingest) into the tracker; returns labels that became current. */
  onEvent(e: NewEvent): number {
    if (e.kind !== 'esl') return 0;
    if (e.type === 'ack') {
      const d = JSON.parse(e.data) as { cmdId: string; ok: boolean; error?: string; labelId?: string; shownHash?: string; acks?: AckEntry[] };
      this.acksSeen++;
      const entries = d.acks ?? (d.labelId !== undefined ? [{ labelId: d.labelId, ok: d.ok, shownHash: d.shownHash, error: d.error }] : null);
      const n = this.tracker.onAck(e.deviceId, d.cmdId, entries, entries ? null : { ok: d.ok, error: d.error }, e.recvTs, this.o.acksOutOfOrder?.(e.deviceId) ?? false);
      if (entries) this.noteAcked(entries);
      return n;
    }
    if (e.type === 'status') {
      const d = JSON.parse(e.data) as { labels: { labelId: string; shownHash?: string }[] };
      const n = this.tracker.onStatus(e.deviceId, d.labels);
      this.noteAcked(d.labels);
      return n;
    }
    return 0;
  }

  // ---- shelf = till: what a label shows --------------------------------------------

  /**
   * The prices of content `hash` of `labelId`, when the gateway knows that content: its current
   * content, the one last sent, or one it acknowledged before a switch. O(1), no I/O.
   */
  shownFor(labelId: string, hash: string | null): ShownPrice | null {
    if (hash === null) return null;
    const kept = this.shown.get(labelId);
    if (kept?.hash === hash) return kept;
    const c = this.contents.get(labelId);
    if (c?.contentHash === hash) return priceOfContent(c);
    const p = this.previous.get(labelId);
    if (p?.contentHash === hash) return priceOfContent(p);
    const sent = this.lastSent.get(labelId);
    return sent?.hash === hash ? sent : null;
  }

  /**
   * After a switch (outside its synchronous step, in time slices): every label still acknowledging
   * content of the previous catalog keeps that content's prices (saved with the tracking rows), so a
   * sale knows what it shows after the next switch or a restart too. Then the previous contents go.
   */
  async keepShown(): Promise<void> {
    const previous = this.previous;
    const slice = new Slicer();
    for (const [labelId, c] of previous) {
      const l = this.tracker.labels.get(labelId);
      if (l && l.acked === c.contentHash && l.acked !== l.target) this.noteShown(labelId, l.acked);
      const y = slice.turn();
      if (y) await y;
    }
    if (this.previous === previous) this.previous = new Map();
  }

  /** Keeps what `labelId` shows (`hash`) when that is not its current content, for the sale check and a restart. */
  private noteShown(labelId: string, hash: string | null): void {
    if (hash === null || this.shown.get(labelId)?.hash === hash) return;
    const p = this.shownFor(labelId, hash);
    if (p === null) return;
    this.shown.set(labelId, p);
    this.shownDirty.add(labelId);
  }

  /** After acks or a status: a label now acknowledging content other than its target keeps that content's prices. */
  private noteAcked(entries: readonly { labelId: string }[]): void {
    for (const { labelId } of entries) {
      const l = this.tracker.labels.get(labelId);
      if (l && l.acked !== null && l.acked !== l.target) this.noteShown(labelId, l.acked);
    }
  }

  /** Restores kept rows from SQLite (start). */
  restoreShown(rows: readonly (ShownPrice & { labelId: string })[]): void {
    for (const r of rows) this.shown.set(r.labelId, { hash: r.hash, price: r.price, promoPrice: r.promoPrice, currency: r.currency });
  }

  /** Kept rows changed since the last call (written with the tracking rows); removed labels lose theirs. */
  takeShownDirty(max = Infinity): (ShownPrice & { labelId: string })[] {
    const out: (ShownPrice & { labelId: string })[] = [];
    for (const labelId of this.shownDirty) {
      if (out.length >= max) break;
      this.shownDirty.delete(labelId);
      const p = this.shown.get(labelId);
      if (p && this.tracker.labels.has(labelId)) out.push({ labelId, ...p });
    }
    return out;
  }

  /** Puts rows whose write failed back in line for the next flush. */
  shownNotSaved(rows: readonly { labelId: string }[]): void {
    for (const r of rows) this.shownDirty.add(r.labelId);
  }
}

function priceOfContent(c: Pick<LabelContent, 'contentHash' | 'price' | 'currency'> & { promo?: { price: number } }): ShownPrice {
  return { hash: c.contentHash, price: c.price, promoPrice: c.promo?.price ?? null, currency: c.currency };
}

function toShow(c: LabelContent): ShowLabel {
  return c as ShowLabel;
}
