/**
 * An OpenEPaperLink access point as the gateway's `esl/{apId}`: `cmd/show` becomes one JSON
 * template upload per label (the AP draws price, name and promotion itself), and each label is
 * acknowledged only when the AP reports that its tag took that content (delivery.ts). Tag reports
 * on the AP's WebSocket become `status` (battery, RSSI, temperature, last and next check-in).
 *
 * The AP forgets: it reboots every night and has lost its whole tag database in the field. A
 * reboot shows as `sys.uptime` going down (or the AP's "REBOOTING" line), a lost database as
 * `sys.recordcount` or a tag's transfer count going down, or tags missing from `/get_db`; either
 * way the labels' last content is uploaded again, as soon as each tag is back in the AP's database.
 *
 * The AP is online for the gateway while its WebSocket is up: the gateway sends nothing to an
 * offline AP, so labels stay pending rather than being sent into the void.
 */
import type { BirthInfo, CommandResult } from '../deviceDriver.js';
import { DriverBase } from '../driverBase.js';
import type { BackoffOptions } from '../serialLink.js';
import type { DriverBaseOptions } from '../deviceDriver.js';
import { OeplApi } from './api.js';
import { Deliveries, type Settled } from './delivery.js';
import { normalizeMac, type OeplMessage, type OeplTag } from './messages.js';
import { Replies } from './replies.js';
import { labelStatus } from './status.js';
import { chooseLayout, templateJson, type LayoutChoice, type ShowLabel } from './template.js';
import { OeplSocket } from './ws.js';

export interface OeplDriverOptions extends DriverBaseOptions, LayoutChoice {
  /** The AP's base URL, `http://host[:port]`. */
  url: string;
  /** Per HTTP request (default 10 s). */
  requestTimeoutMs?: number;
  /** Uploads in flight at once (default 2: the AP is one ESP32 that renders each template). */
  uploadConcurrency?: number;
  /** A label not taken by its tag within this is acked as failed (default 11 min: the AP's longest sleep, 10 min, plus a minute). */
  deliveryTimeoutMs?: number;
  /** Label id → tag MAC; a label id that is itself a 12 or 16 hex MAC needs no entry. */
  tags?: Readonly<Record<string, string>>;
  /** Locale of the price text (default de-DE). */
  locale?: string;
  /** `ttl` of each upload, minutes: how long the tag may sleep after taking it (AP default when absent). */
  ttlMinutes?: number;
  /**
   * With the AP's default `stopsleep=1`, any WebSocket client keeps every tag checking in every
   * ~40 s (flat batteries). `allow` (default) sets `stopsleep=0` on the AP; `leave` keeps the AP's setting.
   */
  tagSleep?: 'allow' | 'leave';
  reconnect?: BackoffOptions;
  /** No WebSocket frame for this long: reconnect (default 15 s, three missed `sys` heartbeats). */
  livenessMs?: number;
  /** Acks and statuses are sent at most this often, many labels per event (default 200 ms / 1 s). */
  ackFlushMs?: number;
  statusEveryMs?: number;
}


export class OeplDriver extends DriverBase {
  readonly kind = 'esl' as const;
  readonly api: OeplApi;
  private readonly socket: OeplSocket;
  private readonly deliveries = new Deliveries();
  /** The AP's records, from `/get_db` and every WebSocket tag report. */
  private readonly tags = new Map<string, OeplTag>();
  /** Per MAC, the content the gateway last asked for (re-sent when the AP forgot it). */
  private readonly want = new Map<string, ShowLabel>();
  private readonly labelOfMac = new Map<string, string>();
  private readonly macOfLabel = new Map<string, string>();
  private readonly uploadQueue = new Set<string>();
  private readonly inFlight = new Set<string>();
  /** Scheduled again while their upload was in flight (the AP rebooted meanwhile): run once more after it. */
  private readonly rerun = new Set<string>();
  /** Tags to upload to as soon as the AP knows them again. */
  private readonly awaitingTag = new Set<string>();
  private readonly replies: Replies;
  private active = 0;
  private lastUptime: number | null = null;
  private lastRecordCount: number | null = null;
  private sleepSet = false;
  private sweepTimer: NodeJS.Timeout | null = null;
  /** AP reboots and database losses seen. */
  reboots = 0;
  /** Uploads the AP refused or did not answer. */
  failedUploads = 0;
  private lastUploadWarn = -Infinity;
  /** `updatecount` per tag as the WebSocket last reported it. */
  private readonly liveCount = new Map<string, number>();
  private lastForgot = -Infinity;
  private lastForgotWarn = -Infinity;
  /** Tag reports for MACs no label is mapped to (options.tags or a `show`): dropped, never published. */
  unknownTags = 0;
  private lastUnknownWarn = -Infinity;
  /** Answers from the AP dropped for their size. */
  oversizedReplies = 0;
  /** One database read at a time; a reason that came in meanwhile runs one more after it. */
  private reconciling = false;
  private reconcileAgain: string | null = null;
  private readonly o: OeplDriverOptions & Required<Pick<OeplDriverOptions, 'uploadConcurrency' | 'deliveryTimeoutMs' | 'locale' | 'ackFlushMs' | 'statusEveryMs'>>;

  constructor(options: OeplDriverOptions) {
    super(options, 'oepl');
    this.o = { uploadConcurrency: 2, deliveryTimeoutMs: 660_000, locale: 'de-DE', ackFlushMs: 200, statusEveryMs: 1000, ...options };
    if (!(this.o.uploadConcurrency >= 1)) throw new TypeError('uploadConcurrency: must be ≥ 1');
    this.replies = new Replies({ emit: (e) => this.emit('event', e), now: () => this.now(), ackFlushMs: this.o.ackFlushMs, statusEveryMs: this.o.statusEveryMs });
    this.api = new OeplApi({
      url: options.url,
      timeoutMs: options.requestTimeoutMs ?? 10_000,
      onOversized: (path) => {
        this.oversizedReplies++;
        this.log.warn({ path, oversizedReplies: this.oversizedReplies }, 'answer from the AP too large: dropped');
      },
    });
    this.socket = new OeplSocket({
      url: options.url,
      backoff: options.reconnect ?? { initialMs: 500, maxMs: 30_000, factor: 2 },
      livenessMs: options.livenessMs ?? 15_000,
      connectTimeoutMs: options.requestTimeoutMs ?? 10_000,
    });
    for (const [labelId, raw] of Object.entries(options.tags ?? {})) {
      const mac = normalizeMac(raw);
      if (mac === null) throw new TypeError(`tags.${labelId}: must be a 12 or 16 hex character MAC`);
      this.macOfLabel.set(labelId, mac);
      this.labelOfMac.set(mac, labelId);
    }
  }

  birth(): BirthInfo {
    return { model: 'OpenEPaperLink AP', firmware: 'unknown', capabilities: ['show', 'status', 'acksOutOfOrder'] };
  }

  async start(): Promise<void> {
    this.socket.on('up', () => void this.onUp());
    this.socket.on('down', (reason) => this.goOffline(reason));
    this.socket.on('message', (m) => this.onMessage(m));
    this.socket.on('bad', (errors) => {
      this.stats.badFrames += errors.length;
      this.log.debug({ errors: errors.slice(0, 3), badFrames: this.stats.badFrames }, 'bad frame from the AP');
    });
    this.sweepTimer = setInterval(() => this.settleAll(this.deliveries.sweep(this.now(), this.o.deliveryTimeoutMs)), Math.min(5000, this.o.deliveryTimeoutMs));
    this.replies.start();
    this.socket.start();
  }

  async stop(): Promise<void> {
    this.socket.stop();
    this.socket.removeAllListeners();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    this.replies.stop();
    this.markStopped();
  }

  async command(type: string, payload: Record<string, unknown>): Promise<CommandResult> {
    if (type !== 'show') return { ok: false, error: `esl: command ${type} is not supported by an OpenEPaperLink AP` };
    const cmdId = payload.cmdId as string;
    const labels = payload.labels;
    if (!Array.isArray(labels) || labels.length === 0) return { ok: false, error: 'labels: must be a non-empty array' };
    // One answer per label: a label listed twice is shown once.
    const unique = new Map((labels as ShowLabel[]).map((l) => [l.labelId, l]));
    const answered = this.replies.open(cmdId, unique.size);
    for (const l of unique.values()) this.show(cmdId, l);
    return answered;
  }

  /** One label of a `show` command. */
  private show(cmdId: string, l: ShowLabel): void {
    const mac = this.macOfLabel.get(l.labelId) ?? normalizeMac(l.labelId);
    if (mac === null) return this.replies.ack(cmdId, { labelId: l.labelId, ok: false, error: `no tag MAC known for label ${l.labelId} (options.tags)` });
    this.labelOfMac.set(mac, l.labelId);
    this.want.set(mac, l);
    if (l.flash) void this.flash(mac);
    const r = this.deliveries.expect(mac, l.labelId, l.contentHash, cmdId, this.tags.get(mac) ?? null, this.now());
    this.settleAll(r.settled);
    if (r.upload) this.schedule(mac);
  }

  /**
   * "Find this label": the AP's `ledflash` tag command, delivered at the tag's next check-in. The
   * plain command has the tag's own colour and length; `flash.color`/`seconds` are not passed on.
   */
  private async flash(mac: string): Promise<void> {
    const r = await this.api.tagCmd(mac, 'ledflash');
    if (!r.ok) this.log.warn({ mac, status: r.status }, 'LED flash refused by the AP');
  }

  private schedule(mac: string): void {
    this.uploadQueue.add(mac);
    this.pump();
  }

  private pump(): void {
    while (this.active < this.o.uploadConcurrency && this.uploadQueue.size > 0) {
      const mac = this.uploadQueue.values().next().value as string;
      this.uploadQueue.delete(mac);
      if (this.inFlight.has(mac)) {
        this.rerun.add(mac);
        continue;
      }
      this.active++;
      this.inFlight.add(mac);
      void this.upload(mac).finally(() => {
        this.active--;
        this.inFlight.delete(mac);
        if (this.rerun.delete(mac)) this.uploadQueue.add(mac);
        this.pump();
      });
    }
  }

  private async upload(mac: string): Promise<void> {
    const pending = () => {
      const w = this.deliveries.get(mac);
      const l = this.want.get(mac);
      return w && !w.uploaded && l && l.contentHash === w.contentHash ? l : null;
    };
    if (!pending()) return;
    let tag = this.tags.get(mac) ?? null;
    if (!tag) {
      const found = await this.api.lookupTag(mac);
      if (!found.reached) {
        this.uploadFailed(mac, 0);
        return this.settleAll(this.deliveries.fail(mac, 'AP unreachable'));
      }
      tag = found.tag;
      if (tag) this.tags.set(mac, tag);
    }
    // Not in the AP's database (yet): the upload waits for the tag's next report.
    if (!tag) return void this.awaitingTag.add(mac);
    // Read again after the look-up: newer content may have come in meanwhile.
    const l = pending();
    if (!l) return;
    const shown = this.deliveries.alreadyShown(tag);
    if (shown.length > 0) return this.settleAll(shown);
    this.deliveries.uploading(mac, tag, this.now());
    const json = templateJson(l, chooseLayout(this.o, l.template, tag.hwType), this.o.locale);
    const r = await this.api.jsonUpload(mac, json, this.o.ttlMinutes);
    if (r.ok) return this.deliveries.accepted(mac, this.now());
    if (r.status === 400 && /not found/i.test(r.text)) {
      this.tags.delete(mac);
      const again = this.deliveries.get(mac);
      if (again) again.uploaded = false;
      this.awaitingTag.add(mac);
      return;
    }
    const why = r.status === 0 ? `AP unreachable: ${r.text}` : `upload refused: HTTP ${r.status} ${r.text.slice(0, 80)}`;
    this.uploadFailed(mac, r.status);
    this.settleAll(this.deliveries.fail(mac, why));
  }

  /** One warning per 10 s at most: an AP that went away fails every upload at once. */
  private uploadFailed(mac: string, status: number): void {
    this.failedUploads++;
    const t = this.now();
    if (t - this.lastUploadWarn < 10_000) return;
    this.lastUploadWarn = t;
    this.log.warn({ mac, status, failedUploads: this.failedUploads }, 'upload to the AP failed');
  }

  private async onUp(): Promise<void> {
    this.stats.reconnects = this.socket.reconnects;
    this.goOnline();
    if (this.o.tagSleep !== 'leave' && !this.sleepSet) await this.allowTagSleep();
    await this.reconcile('connected');
  }

  /**
   * Re-reads the AP's database and uploads every label whose content the AP does not hold. An AP
   * that reports reboots in a loop gets one read at a time, not one per report.
   */
  private async reconcile(why: string): Promise<void> {
    if (this.reconciling) {
      this.reconcileAgain = why;
      return;
    }
    this.reconciling = true;
    try {
      await this.reconcileOnce(why);
    } finally {
      this.reconciling = false;
      const again = this.reconcileAgain;
      this.reconcileAgain = null;
      if (again !== null && this.socket.up) void this.reconcile(again);
    }
  }

  private async reconcileOnce(why: string): Promise<void> {
    const readAt = this.now();
    // Tags whose upload has not gone out yet are looked up by that upload, not here.
    const wanted = [...this.want.keys()].filter((mac) => this.deliveries.get(mac)?.uploaded !== false);
    const db = await this.api.readDb(wanted);
    if (!db.complete) return;
    // Records the AP had and no longer has: it lost them since it last reported (records do not
    // come back by themselves before the tag checks in, so an old read cannot fake this).
    const lost = wanted.filter((mac) => this.tags.has(mac) && !db.tags.has(mac)).length;
    if (lost > 0) {
      this.reboots++;
      this.log.warn({ why, lost }, 'the AP lost tag records');
    }
    for (const t of db.tags.values()) this.onTag(t, false);
    let resend = 0;
    for (const [mac, l] of this.want) {
      const t = db.tags.get(mac);
      const w = this.deliveries.get(mac);
      // An upload the AP had accepted before this read, whose tag record or queue item is gone
      // (nothing pending, no transfer since), was lost; any other upload in flight is left alone.
      const lostUpload = w?.acceptedAt !== undefined && w.acceptedAt < readAt && (t === undefined || (t.pending === 0 && t.updatecount <= w.target));
      if (w?.uploaded && !lostUpload) continue;
      if (w?.uploaded) w.uploaded = false;
      // Shown already: nothing to send (a waiting command is answered by upload(), without sending).
      if (!w && t && t.pending === 0 && this.deliveries.shownContent(t) === l.contentHash) continue;
      if (!w) this.settleAll(this.deliveries.expect(mac, l.labelId, l.contentHash, null, t ?? null, this.now()).settled);
      if (!t) this.tags.delete(mac);
      resend++;
      this.schedule(mac);
    }
    if (resend > 0) this.log.info({ why, resend, records: db.tags.size, paged: db.paged }, 'uploading labels the AP does not hold');
  }

  /** The AP rebooted or lost records: its queues are gone, its database may be. */
  private onForgot(why: string): void {
    this.reboots++;
    this.lastForgot = this.now();
    // Counts from before the loss are no baseline for the records the AP builds again.
    this.liveCount.clear();
    // An AP can report this in a loop: one warning per 10 s, with the running count.
    if (this.lastForgot - this.lastForgotWarn >= 10_000) {
      this.lastForgotWarn = this.lastForgot;
      this.log.warn({ why, reboots: this.reboots }, 'the AP rebooted or forgot its tags; re-sending their content');
    }
    this.deliveries.requeueAll();
    this.tags.clear();
    void this.reconcile(why);
  }

  private async allowTagSleep(): Promise<void> {
    const cfg = await this.api.getApConfig();
    if (!cfg) return;
    this.sleepSet = true;
    if (String(cfg.stopsleep) === '0') return;
    // save_apcfg takes the whole form: echo the AP's own settings so only stopsleep changes.
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(cfg)) if (typeof v === 'string' || typeof v === 'number') fields[k] = String(v);
    fields.stopsleep = '0';
    const r = await this.api.saveApConfig(fields);
    this.log.info({ ok: r.ok }, 'asked the AP to let tags sleep while the bridge watches (stopsleep=0)');
  }

  private onMessage(m: OeplMessage): void {
    this.stats.events++;
    switch (m.type) {
      case 'tags':
        for (const t of m.tags) this.onTag(t, true);
        return;
      case 'sys': {
        const { uptime, recordcount } = m.sys;
        const rebooted = uptime !== undefined && this.lastUptime !== null && uptime < this.lastUptime;
        const lost = recordcount !== undefined && this.lastRecordCount !== null && recordcount < this.lastRecordCount;
        if (uptime !== undefined) this.lastUptime = uptime;
        if (recordcount !== undefined) this.lastRecordCount = recordcount;
        if (rebooted || lost) this.onForgot(rebooted ? 'uptime went down' : 'record count went down');
        return;
      }
      case 'xferTimeout':
        this.settleAll(this.deliveries.fail(m.mac, 'the AP timed out the transfer to the tag'));
        return;
      case 'rebooting':
        this.socket.reopen('the AP is rebooting');
        return;
      default:
        return;
    }
  }

  private onTag(t: OeplTag, live: boolean): void {
    // Only tags a label is mapped to are followed: an AP (or something posing as one) reporting
    // made-up MACs must not grow the bridge's maps nor publish labels the gateway never configured.
    if (!this.labelOfMac.has(t.mac)) {
      this.unknownTags++;
      const now = this.now();
      if (now - this.lastUnknownWarn >= 10_000) {
        this.lastUnknownWarn = now;
        this.log.info({ mac: t.mac, unknownTags: this.unknownTags }, 'tag report for a MAC no label is mapped to: ignored');
      }
      return;
    }
    if (live) {
      // One connection's frames come in order: a transfer count going down is a record built
      // again from nothing, so the AP lost its database (the first tag to check in shows it).
      const before = this.liveCount.get(t.mac);
      this.liveCount.set(t.mac, t.updatecount);
      if (before !== undefined && t.updatecount < before && this.want.has(t.mac) && this.now() - this.lastForgot > 2000) {
        return this.onForgot('a tag record started over');
      }
    }
    this.tags.set(t.mac, t);
    this.settleAll(this.deliveries.onTag(t));
    if (this.awaitingTag.delete(t.mac)) this.schedule(t.mac);
    if (!live) return;
    const labelId = this.labelOfMac.get(t.mac)!;
    this.replies.status(labelStatus(labelId, t, this.deliveries.shownContent(t)));
  }

  private settleAll(settled: Settled[]): void {
    for (const s of settled) {
      for (const cmdId of s.cmdIds) {
        this.replies.ack(cmdId, s.ok ? { labelId: s.labelId, ok: true, shownHash: s.contentHash } : { labelId: s.labelId, ok: false, error: (s.error ?? 'failed').slice(0, 128) });
      }
    }
  }
}
