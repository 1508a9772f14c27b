/**
 * The OpenEPaperLink access point's JSON, parsed: the WebSocket `/ws` frames and the `/get_db`
 * pages. Pure and clock-free; everything here is untrusted input from a device on the store LAN,
 * so nothing throws: a frame that is not JSON, or a field of the wrong type, becomes an `error`
 * entry (counted by the driver) or a field left out. Field names are the AP's (see README.md).
 */

/** A tag record as the AP reports it (`fillNode` in the AP firmware), reduced to what the bridge uses. */
export interface OeplTag {
  /** 16 upper-case hex characters, most significant byte first. */
  mac: string;
  /** MD5 of the raw image the tag holds; after a transfer only the first 16 hex characters are set. */
  hash: string;
  /** Epoch seconds of the last check-in. */
  lastseen: number;
  /** Epoch seconds of the next expected check-in; `NEVER` means deep sleep. */
  nextcheckin: number;
  /** Items queued for the tag. */
  pending: number;
  /** Completed transfers; goes up by one per transfer the tag confirmed (XFC). */
  updatecount: number;
  batteryMv?: number;
  rssi?: number;
  lqi?: number;
  temperature?: number;
  hwType?: number;
  contentMode?: number;
}

/** The AP's "never / deep sleep" sentinel in `nextupdate` and `nextcheckin`. */
export const NEVER = 3216153600;

export interface OeplSys {
  /** Seconds since the AP booted. */
  uptime?: number;
  /** Tag records in the AP's database. */
  recordcount?: number;
  currtime?: number;
  apstate?: number;
}

export type OeplMessage =
  | { type: 'tags'; tags: OeplTag[] }
  | { type: 'sys'; sys: OeplSys }
  | { type: 'xferComplete'; mac: string }
  | { type: 'xferTimeout'; mac: string }
  | { type: 'rebooting' }
  | { type: 'log'; text: string }
  | { type: 'error'; text: string }
  | { type: 'upload'; mac: string; current: number; total: number }
  | { type: 'other'; key: string };

export interface ParseResult {
  messages: OeplMessage[];
  errors: { code: string; bytes: number; detail?: string }[];
}

const MAC = /^[0-9A-Fa-f]{16}$|^[0-9A-Fa-f]{12}$/;
const MAC_IN_TEXT = /\b([0-9A-Fa-f]{16})\b/;
/**
 * Frames larger than this are dropped unread, and the WebSocket client refuses them before they are
 * buffered (`ws` would otherwise take 100 MiB per message): one tag object is a few hundred bytes,
 * a `get_db` page about 5 kB.
 */
export const MAX_FRAME = 64 * 1024;
/** The AP's JSON nests three deep (`{"tags":[{…}]}`); anything far deeper is not the AP's and is not parsed. */
export const MAX_DEPTH = 16;

/** Whether the brackets of `text` (outside strings) nest at most `max` deep; a linear scan, no parse. */
export function nestingWithin(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return false;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return true;
}

/** A MAC as the AP writes it: 16 upper-case hex; a 12-character one gets two zero high bytes. */
export function normalizeMac(s: unknown): string | null {
  if (typeof s !== 'string' || !MAC.test(s)) return null;
  const up = s.toUpperCase();
  return up.length === 12 ? `0000${up}` : up;
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One tag object, or null when it has no usable MAC. Missing counters read as 0. */
export function parseTag(v: unknown): OeplTag | null {
  if (!isObject(v)) return null;
  const mac = normalizeMac(v.mac);
  if (mac === null) return null;
  const hash = typeof v.hash === 'string' && /^[0-9A-Fa-f]{0,64}$/.test(v.hash) ? v.hash.toLowerCase() : '';
  // `pending` was a boolean before the AP got a queue per tag; both read as a count.
  const pending = typeof v.pending === 'boolean' ? Number(v.pending) : Math.max(0, Math.trunc(num(v.pending) ?? 0));
  const t: OeplTag = {
    mac,
    hash,
    lastseen: num(v.lastseen) ?? 0,
    nextcheckin: num(v.nextcheckin) ?? 0,
    pending,
    updatecount: Math.trunc(num(v.updatecount) ?? 0),
  };
  const opt: [keyof OeplTag, unknown][] = [
    ['batteryMv', v.batteryMv],
    ['rssi', v.RSSI],
    ['lqi', v.LQI],
    ['temperature', v.temperature],
    ['hwType', v.hwType],
    ['contentMode', v.contentMode],
  ];
  for (const [k, raw] of opt) {
    const n = num(raw);
    if (n !== undefined) (t as unknown as Record<string, number>)[k] = n;
  }
  return t;
}

function parseTagList(v: unknown): { tags: OeplTag[]; bad: number } {
  const tags: OeplTag[] = [];
  let bad = 0;
  if (!Array.isArray(v)) return { tags, bad: 1 };
  for (const item of v) {
    const t = parseTag(item);
    if (t) tags.push(t);
    else bad++;
  }
  return { tags, bad };
}

/** JSON after the first `{` (clients of the AP strip anything before it); null when not an object. */
function parseObject(text: string): Record<string, unknown> | null {
  const start = text.indexOf('{');
  if (start < 0) return null;
  try {
    const v: unknown = JSON.parse(text.slice(start));
    return isObject(v) ? v : null;
  } catch {
    return null;
  }
}

/** One WebSocket text frame: the AP sends one JSON object per frame, keyed by its message type. */
export function parseFrame(text: string): ParseResult {
  const out: ParseResult = { messages: [], errors: [] };
  if (text.length > MAX_FRAME) {
    out.errors.push({ code: 'TOO_LARGE', bytes: text.length });
    return out;
  }
  if (!nestingWithin(text, MAX_DEPTH)) {
    out.errors.push({ code: 'TOO_DEEP', bytes: text.length });
    return out;
  }
  const o = parseObject(text);
  if (o === null) {
    out.errors.push({ code: 'NOT_JSON', bytes: text.length, detail: text.slice(0, 40) });
    return out;
  }
  let known = false;
  if ('tags' in o) {
    known = true;
    const { tags, bad } = parseTagList(o.tags);
    if (tags.length > 0) out.messages.push({ type: 'tags', tags });
    if (bad > 0) out.errors.push({ code: 'BAD_TAG', bytes: 0, detail: `${bad} tag object(s) without a MAC` });
  }
  if (isObject(o.sys)) {
    known = true;
    const s = o.sys;
    out.messages.push({ type: 'sys', sys: { uptime: num(s.uptime), recordcount: num(s.recordcount), currtime: num(s.currtime), apstate: num(s.apstate) } });
  }
  if (typeof o.logMsg === 'string') {
    known = true;
    const m = MAC_IN_TEXT.exec(o.logMsg);
    // "<MAC> reports xfer complete": the tag verified the image and confirmed it.
    if (m && /reports xfer complete/.test(o.logMsg)) out.messages.push({ type: 'xferComplete', mac: m[1]!.toUpperCase() });
    else out.messages.push({ type: 'log', text: o.logMsg.slice(0, 200) });
  }
  if (typeof o.errMsg === 'string') {
    known = true;
    const m = MAC_IN_TEXT.exec(o.errMsg);
    if (o.errMsg.trim() === 'REBOOTING') out.messages.push({ type: 'rebooting' });
    // "< <MAC> xfer timeout": the AP gave up and cleared that tag's whole queue.
    else if (m && /xfer timeout/.test(o.errMsg)) out.messages.push({ type: 'xferTimeout', mac: m[1]!.toUpperCase() });
    else out.messages.push({ type: 'error', text: o.errMsg.slice(0, 200) });
  }
  if (isObject(o.upload)) {
    known = true;
    const mac = normalizeMac(o.upload.src);
    if (mac) out.messages.push({ type: 'upload', mac, current: num(o.upload.current) ?? 0, total: num(o.upload.total) ?? 0 });
  }
  if (!known) {
    const key = Object.keys(o)[0] ?? '';
    out.messages.push({ type: 'other', key: key.slice(0, 32) });
  }
  return out;
}

/** One `/get_db` page: its tags and, when the AP stopped early, the index to ask for next (`continu`). */
export interface DbPage {
  tags: OeplTag[];
  next: number | null;
  error?: string;
}

export function parseDbPage(text: string): DbPage {
  if (!nestingWithin(text, MAX_DEPTH)) return { tags: [], next: null, error: `get_db: JSON nested deeper than ${MAX_DEPTH}` };
  const o = parseObject(text);
  if (o === null) return { tags: [], next: null, error: 'get_db: not a JSON object' };
  if (typeof o.error === 'string') return { tags: [], next: null, error: `get_db: ${o.error.slice(0, 100)}` };
  const { tags } = parseTagList(o.tags ?? []);
  const c = num(o.continu);
  return { tags, next: c !== undefined && c > 0 ? Math.trunc(c) : null };
}
