/**
 * The simulated access point's tag database and its tags (sim.ts serves it over HTTP and /ws).
 * Two sides, as in the field: what the AP knows about each tag (its record and the queue of
 * images waiting for it — forgotten when the AP loses its database) and what each tag itself
 * shows and keeps in its image cache (kept across AP reboots: e-paper needs no power to show).
 *
 * The image of a JSON template is stood in for by the MD5 of the template text; the AP and the
 * tag compare only its first 8 bytes (`dataVer`), and after a transfer the AP's `hash` is those
 * 8 bytes followed by zeros — the same as the real AP.
 */
import { createHash } from 'node:crypto';

export interface SimRecord {
  mac: string;
  hash: string;
  lastseen: number;
  nextcheckin: number;
  queue: { dataVer: string; content: string }[];
  updatecount: number;
  updatelast: number;
  contentMode: number;
  /** The template or image the AP holds for the tag (`/current/<mac>.json`). */
  content: string | null;
  hwType: number;
}

export interface SimTagDevice {
  mac: string;
  /** The content the tag displays (null: blank since manufacture). */
  shown: string | null;
  cache: Set<string>;
  batteryMv: number;
  rssi: number;
  lqi: number;
  temperature: number;
  nextAt: number;
}

export type ApFrame = Record<string, unknown>;

const ZEROS = '0'.repeat(16);

/** The MAC of simulated tag `i` (16 upper-case hex). */
export function simMac(i: number): string {
  return `0000021EF2${(0x100000 + i).toString(16).toUpperCase()}`;
}

export function dataVerOf(content: string): string {
  return createHash('md5').update(content).digest('hex').slice(0, 16);
}

export class SimTagDb {
  readonly records = new Map<string, SimRecord>();
  readonly devices = new Map<string, SimTagDevice>();
  /** Transfers completed, per MAC (the tag confirmed an image). */
  readonly transfers = new Map<string, number>();
  /** Tags whose next transfer times out (the radio lost them mid-download). */
  readonly failNext = new Set<string>();

  constructor(
    macs: string[],
    private readonly checkInMs: number,
    now: number,
    private readonly send: (frame: ApFrame) => void,
    private readonly onXfer: (mac: string) => void = () => undefined,
  ) {
    macs.forEach((mac, i) => {
      this.devices.set(mac, {
        mac,
        shown: null,
        cache: new Set(),
        batteryMv: 2600 + (i % 400),
        rssi: -60 - (i % 30),
        lqi: 100 + (i % 100),
        temperature: 18 + (i % 8),
        nextAt: now + Math.floor(((i + 1) * checkInMs) / macs.length),
      });
      this.records.set(mac, this.newRecord(mac, 0));
    });
  }

  private newRecord(mac: string, nowS: number): SimRecord {
    return { mac, hash: '0'.repeat(32), lastseen: nowS, nextcheckin: 0, queue: [], updatecount: 0, updatelast: 0, contentMode: 0, content: null, hwType: 1 };
  }

  /** A record as the AP's JSON (`fillNode` field names). */
  tagJson(r: SimRecord): Record<string, unknown> {
    const d = this.devices.get(r.mac);
    return {
      mac: r.mac,
      hash: r.hash,
      lastseen: r.lastseen,
      nextupdate: 3216153600,
      nextcheckin: r.nextcheckin,
      pending: r.queue.length,
      alias: '',
      contentMode: r.contentMode,
      LQI: d?.lqi ?? 0,
      RSSI: d?.rssi ?? 0,
      temperature: d?.temperature ?? 0,
      batteryMv: d?.batteryMv ?? 0,
      hwType: r.hwType,
      wakeupReason: 0,
      capabilities: 0,
      modecfgjson: '',
      isexternal: false,
      apip: '0.0.0.0',
      rotate: 0,
      lut: 0,
      invert: 0,
      updatecount: r.updatecount,
      updatelast: r.updatelast,
      ch: 11,
      ver: 0,
    };
  }

  /**
   * New content for a tag: drawn at once and queued unless it is the image the tag shows already
   * (the AP's de-duplication). False when the AP has no record of the tag.
   */
  setContent(mac: string, content: string, contentMode: number): boolean {
    const r = this.records.get(mac);
    if (!r) return false;
    r.content = content;
    r.contentMode = contentMode;
    const dataVer = dataVerOf(content);
    if (r.hash.slice(0, 16) === dataVer) {
      this.send({ logMsg: 'new image is the same as current image. not updating tag.' });
      return true;
    }
    r.queue.push({ dataVer, content });
    this.send({ logMsg: `new image: /current/${mac}_${Date.now()}.pending` });
    this.send({ tags: [this.tagJson(r)] });
    return true;
  }

  /** Every tag due checks in: the AP learns it again if it forgot it, and hands it one queued image. */
  checkIns(now: number): void {
    for (const d of this.devices.values()) {
      if (d.nextAt > now) continue;
      d.nextAt = now + this.checkInMs;
      this.checkIn(d, now);
    }
  }

  /** One tag checks in now, whatever its schedule (tests choose the order tags answer in). */
  checkInNow(mac: string, now: number): boolean {
    const d = this.devices.get(mac);
    if (!d) return false;
    d.nextAt = now + this.checkInMs;
    this.checkIn(d, now);
    return true;
  }

  private checkIn(d: SimTagDevice, now: number): void {
    const nowS = Math.floor(now / 1000);
    let r = this.records.get(d.mac);
    if (!r) this.records.set(d.mac, (r = this.newRecord(d.mac, nowS)));
    r.lastseen = nowS;
    r.nextcheckin = nowS + Math.max(1, Math.ceil(this.checkInMs / 1000));
    if (r.queue.length > 0 && this.failNext.delete(d.mac)) {
      // The AP gives up the transfer and drops everything queued for the tag.
      r.queue = [];
      this.send({ errMsg: `< ${d.mac} xfer timeout` });
      this.send({ tags: [this.tagJson(r)] });
      return;
    }
    const item = r.queue.shift();
    if (item) {
      // The tag downloads (or finds in its cache), verifies, confirms (XFC), then draws.
      if (!d.cache.has(item.dataVer)) this.send({ upload: { src: d.mac, current: 0, total: 1 } });
      d.cache.add(item.dataVer);
      d.shown = item.content;
      r.hash = item.dataVer + ZEROS;
      r.updatecount++;
      r.updatelast = nowS;
      this.transfers.set(d.mac, (this.transfers.get(d.mac) ?? 0) + 1);
      this.send({ tags: [this.tagJson(r)] });
      this.send({ logMsg: `${d.mac} reports xfer complete` });
      this.onXfer(d.mac);
      return;
    }
    this.send({ tags: [this.tagJson(r)] });
  }

  /** After a reboot every queue is empty; with `forget` the database is gone too. */
  reboot(forget: boolean): void {
    if (forget) this.records.clear();
    else for (const r of this.records.values()) r.queue = [];
  }

  /** `/get_db?pos=`: records from `pos` until the page passes `pageBytes`, then `continu`. */
  page(pos: number, pageBytes: number): string {
    const all = [...this.records.values()];
    const parts: string[] = [];
    let size = 0;
    let next = 0;
    for (let i = pos; i < all.length; i++) {
      const s = JSON.stringify(this.tagJson(all[i]!));
      parts.push(s);
      size += s.length + 1;
      if (size > pageBytes && i + 1 < all.length) {
        next = i + 1;
        break;
      }
    }
    return `{"tags":[${parts.join(',')}]${next > 0 ? `,"continu":${next}` : ''}}`;
  }
}
