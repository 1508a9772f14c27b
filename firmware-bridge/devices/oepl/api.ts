/**
 * The OpenEPaperLink access point's HTTP API, as the bridge uses it (README.md has the endpoints).
 * Node's own fetch, one timeout per request, and a count of requests (the bench reports requests
 * per label). Never throws: every call answers `{ok, status, text}`; status 0 means the AP could
 * not be reached (refused, timed out) or answered with a body over MAX_BODY_BYTES.
 *
 * The AP is a device on the store LAN and may be broken or hostile: the timeout covers the whole
 * exchange, body included (the abort signal also cancels the body stream, so a trickling body ends
 * when the timeout does), and the body is read chunk by chunk and dropped past MAX_BODY_BYTES
 * rather than buffered whole (`res.text()` would keep a never-ending body in memory).
 */
import { parseDbPage, type OeplTag } from './messages.js';

export interface OeplApiOptions {
  /** `http://<ap>` (no path). */
  url: string;
  /** Per request (the AP is an ESP32 that can stall for seconds while it renders). */
  timeoutMs: number;
  /** Told of each answer dropped for its size (the driver logs it with its device id). */
  onOversized?: (path: string) => void;
}

export interface ApiReply {
  ok: boolean;
  status: number;
  text: string;
}

/** `pos` of `/get_db` is read into one byte by the AP: a position above 255 wraps to the start. */
export const MAX_DB_POS = 255;
const MAX_PAGES = 300;
/** Largest body read from the AP: a `/get_db` page is ~5 kB, `/get_ap_config` under 1 kB. */
export const MAX_BODY_BYTES = 256 * 1024;

/** The body as text, or null once it passed `max` bytes (the rest is not read: the stream is cancelled). */
async function boundedText(res: Response, max: number): Promise<string | null> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      return null;
    }
    parts.push(value);
  }
  return Buffer.concat(parts).toString('utf8');
}

export class OeplApi {
  private readonly base: string;
  /** HTTP requests made (every endpoint). */
  requests = 0;
  /** Answers dropped because their body passed MAX_BODY_BYTES. */
  oversized = 0;

  constructor(private readonly o: OeplApiOptions) {
    if (!/^https?:\/\/[^\s/]+(:[0-9]+)?\/?$/.test(o.url)) throw new TypeError('url: must be http://host[:port]');
    if (!(o.timeoutMs > 0)) throw new TypeError('timeoutMs: must be a positive number');
    this.base = o.url.replace(/\/$/, '');
  }

  private async call(path: string, init?: RequestInit): Promise<ApiReply> {
    this.requests++;
    try {
      const res = await fetch(`${this.base}${path}`, { ...init, signal: AbortSignal.timeout(this.o.timeoutMs) });
      const text = await boundedText(res, MAX_BODY_BYTES);
      if (text === null) {
        this.oversized++;
        this.o.onOversized?.(path.split('?')[0]!);
        return { ok: false, status: 0, text: `body over ${MAX_BODY_BYTES} bytes` };
      }
      return { ok: res.ok, status: res.status, text };
    } catch (err) {
      return { ok: false, status: 0, text: (err as Error).message };
    }
  }

  private form(path: string, fields: Record<string, string>): Promise<ApiReply> {
    return this.call(path, { method: 'POST', body: new URLSearchParams(fields) });
  }

  /** One tag's record: `tag` null when the AP does not know the tag; `reached` false when it did not answer. */
  async lookupTag(mac: string): Promise<{ reached: boolean; tag: OeplTag | null }> {
    const r = await this.call(`/get_db?mac=${encodeURIComponent(mac)}`);
    if (!r.ok) return { reached: false, tag: null };
    const page = parseDbPage(r.text);
    return { reached: page.error === undefined, tag: page.tags.find((t) => t.mac === mac) ?? null };
  }

  /** One tag's record, or null (not in the AP's database, or the AP did not answer). */
  async getTag(mac: string): Promise<OeplTag | null> {
    return (await this.lookupTag(mac)).tag;
  }

  /**
   * The AP's tag database: pages by position while the position fits the AP's one-byte `pos`
   * (the AP stops a page at about 5 kB and names the next index in `continu`), then by MAC for each
   * of `wanted` the pages did not reach. `complete` is false when the AP did not answer.
   */
  async readDb(wanted: Iterable<string> = []): Promise<{ tags: Map<string, OeplTag>; complete: boolean; paged: boolean }> {
    const tags = new Map<string, OeplTag>();
    let pos = 0;
    let paged = true;
    for (let pages = 0; pages < MAX_PAGES; pages++) {
      const r = await this.call(pos === 0 ? '/get_db' : `/get_db?pos=${pos}`);
      if (!r.ok) return { tags, complete: false, paged: false };
      const page = parseDbPage(r.text);
      if (page.error) return { tags, complete: false, paged: false };
      for (const t of page.tags) tags.set(t.mac, t);
      if (page.next === null) break;
      // A next position the AP cannot take (wraps) or one that does not advance: stop paging.
      if (page.next > MAX_DB_POS || page.next <= pos) {
        paged = false;
        break;
      }
      pos = page.next;
    }
    for (const mac of wanted) {
      if (tags.has(mac)) continue;
      const t = await this.getTag(mac);
      if (t) tags.set(t.mac, t);
    }
    return { tags, complete: true, paged };
  }

  /** `/jsonupload`: the AP stores the template as the tag's content and draws it (content mode 19). */
  jsonUpload(mac: string, json: string, ttlMinutes?: number): Promise<ApiReply> {
    const f: Record<string, string> = { mac, json };
    if (ttlMinutes !== undefined) f.ttl = String(ttlMinutes);
    return this.form('/jsonupload', f);
  }

  /**
   * `/imgupload`: a JPEG (the only image format the ESP32 AP decodes). `mac` goes before the file
   * part: the AP reads it when the first chunk of the file arrives.
   */
  imgUpload(mac: string, jpeg: Uint8Array, o: { dither?: boolean; ttlMinutes?: number } = {}): Promise<ApiReply> {
    if (jpeg.length < 3 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8 || jpeg[2] !== 0xff) {
      return Promise.resolve({ ok: false, status: 0, text: 'image: only JPEG (FF D8 FF) is accepted by the AP' });
    }
    const fd = new FormData();
    fd.append('mac', mac);
    fd.append('dither', o.dither === false ? '0' : '1');
    if (o.ttlMinutes !== undefined) fd.append('ttl', String(o.ttlMinutes));
    fd.append('file', new Blob([new Uint8Array(jpeg)], { type: 'image/jpeg' }), `${mac}.jpg`);
    return this.call('/imgupload', { method: 'POST', body: fd });
  }

  /** `/tag_cmd`: clear, refresh, reboot, scan, ledflash … (queued until the tag's next check-in). */
  tagCmd(mac: string, cmd: string): Promise<ApiReply> {
    return this.form('/tag_cmd', { mac, cmd });
  }

  async getApConfig(): Promise<Record<string, unknown> | null> {
    const r = await this.call('/get_ap_config');
    if (!r.ok) return null;
    try {
      const v: unknown = JSON.parse(r.text);
      return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  }

  saveApConfig(fields: Record<string, string>): Promise<ApiReply> {
    return this.form('/save_apcfg', fields);
  }
}
