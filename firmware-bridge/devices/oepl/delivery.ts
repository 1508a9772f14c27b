/**
 * When a tag has taken the content the bridge uploaded for it, from the AP's tag reports alone.
 * Pure (time passed in). An upload's HTTP 200 only means the AP stored the template: the AP then
 * draws it, queues the image for the tag (`pending` + 1), and the tag fetches it at its next
 * check-in, verifies its MD5 and confirms (XFC); the AP then counts `updatecount` + 1 and lowers
 * `pending`. So one upload is delivered when `updatecount` has passed the count at upload time
 * plus the items already queued ahead of it, and nothing is pending any more.
 *
 * The AP does not queue an image identical to the one the tag shows (it compares the first 8
 * bytes of the MD5). The bridge remembers, per tag, which of its contents produced the AP's hash;
 * content whose hash the tag already shows is delivered at once. When that is not known (the
 * bridge restarted), two check-ins after the upload with nothing queued show the AP found the
 * image unchanged.
 */
import type { OeplTag } from './messages.js';

export interface Waiter {
  mac: string;
  labelId: string;
  contentHash: string;
  /** Every cmdId that asked for this content (a re-sent command joins the waiting upload). */
  cmdIds: string[];
  /** `updatecount` the tag must pass: its count at upload plus the items queued ahead. */
  target: number;
  /** `lastseen` of the last check-in counted. */
  lastseen: number;
  /** Check-ins since the upload with nothing queued and no transfer. */
  idleCheckIns: number;
  /** The AP reported the upload queued (`pending` > 0) at least once. */
  queued: boolean;
  since: number;
  /** Whether the upload went out (false while it waits for its turn or for the tag to reappear). */
  uploaded: boolean;
  /** When the AP accepted the upload (its 200), if it did. */
  acceptedAt?: number;
}

export interface Settled {
  mac: string;
  labelId: string;
  contentHash: string;
  cmdIds: string[];
  ok: boolean;
  error?: string;
}

export class Deliveries {
  private readonly waiting = new Map<string, Waiter>();
  /** Per MAC: the AP hash the tag showed after content `contentHash` was delivered. */
  private readonly shown = new Map<string, { apHash: string; contentHash: string }>();

  get size(): number {
    return this.waiting.size;
  }

  get(mac: string): Waiter | undefined {
    return this.waiting.get(mac);
  }

  waiters(): IterableIterator<Waiter> {
    return this.waiting.values();
  }

  /** The content hash of what the tag shows, when the bridge delivered it (else undefined). */
  shownContent(tag: OeplTag): string | undefined {
    const s = this.shown.get(tag.mac);
    return s && tag.hash !== '' && s.apHash === tag.hash ? s.contentHash : undefined;
  }

  /**
   * A label must show `contentHash` (cmdId null: the bridge re-sends it on its own). Returns the
   * waiters this settles (an older content superseded; this one when the tag already shows it)
   * and whether an upload is needed.
   */
  expect(mac: string, labelId: string, contentHash: string, cmdId: string | null, tag: OeplTag | null, now: number): { settled: Settled[]; upload: boolean } {
    const settled: Settled[] = [];
    const w = this.waiting.get(mac);
    if (w && w.contentHash === contentHash) {
      if (cmdId !== null && !w.cmdIds.includes(cmdId)) w.cmdIds.push(cmdId);
      return { settled, upload: false };
    }
    if (w) settled.push(this.settle(w, false, 'superseded by newer content'));
    const ids = cmdId === null ? [] : [cmdId];
    if (tag && tag.pending === 0 && this.shownContent(tag) === contentHash) {
      settled.push({ mac, labelId, contentHash, cmdIds: ids, ok: true });
      return { settled, upload: false };
    }
    this.waiting.set(mac, {
      mac,
      labelId,
      contentHash,
      cmdIds: ids,
      target: tag ? tag.updatecount + tag.pending : 0,
      lastseen: tag?.lastseen ?? 0,
      idleCheckIns: 0,
      queued: false,
      since: now,
      uploaded: false,
    });
    return { settled, upload: true };
  }

  /** Settles the waiter of a tag that turned out to show its content already (its record was not at hand before). */
  alreadyShown(tag: OeplTag): Settled[] {
    const w = this.waiting.get(tag.mac);
    if (!w || tag.pending !== 0 || this.shownContent(tag) !== w.contentHash) return [];
    return [this.settle(w, true)];
  }

  /** The upload is about to go out; `tag` is the AP's freshest record of it. */
  uploading(mac: string, tag: OeplTag, now: number): void {
    const w = this.waiting.get(mac);
    if (!w) return;
    w.target = tag.updatecount + tag.pending;
    w.lastseen = tag.lastseen;
    w.idleCheckIns = 0;
    w.queued = false;
    w.uploaded = true;
    w.acceptedAt = undefined;
    w.since = now;
  }

  /** The AP answered the upload with 200: it holds the content from now on. */
  accepted(mac: string, now: number): void {
    const w = this.waiting.get(mac);
    if (w?.uploaded) w.acceptedAt = now;
  }

  /** A tag report (WebSocket or `/get_db`): settles its waiter when the tag took the content. */
  onTag(t: OeplTag): Settled[] {
    const w = this.waiting.get(t.mac);
    if (!w || !w.uploaded) return [];
    if (t.pending > 0) w.queued = true;
    if (t.pending === 0 && t.updatecount > w.target) {
      this.shown.set(t.mac, { apHash: t.hash, contentHash: w.contentHash });
      return [this.settle(w, true)];
    }
    if (!w.queued && t.pending === 0 && t.lastseen > w.lastseen) {
      w.lastseen = t.lastseen;
      if (++w.idleCheckIns >= 2) {
        this.shown.set(t.mac, { apHash: t.hash, contentHash: w.contentHash });
        return [this.settle(w, true)];
      }
    }
    return [];
  }

  /** The AP gave up a transfer and cleared the tag's queue. */
  fail(mac: string, error: string): Settled[] {
    const w = this.waiting.get(mac);
    return w ? [this.settle(w, false, error)] : [];
  }

  /** Waiters older than `timeoutMs` (since their upload, or since they were asked for): the tag did not take them. */
  sweep(now: number, timeoutMs: number): Settled[] {
    const out: Settled[] = [];
    for (const w of [...this.waiting.values()]) {
      if (now - w.since > timeoutMs) out.push(this.settle(w, false, `not taken by the tag within ${Math.round(timeoutMs / 1000)} s`));
    }
    return out;
  }

  /** The AP forgot its queues (it rebooted): every waiter must be uploaded again. */
  requeueAll(): Waiter[] {
    const all = [...this.waiting.values()];
    for (const w of all) w.uploaded = false;
    return all;
  }

  private settle(w: Waiter, ok: boolean, error?: string): Settled {
    this.waiting.delete(w.mac);
    return { mac: w.mac, labelId: w.labelId, contentHash: w.contentHash, cmdIds: w.cmdIds, ok, ...(error ? { error } : {}) };
  }
}
