/**
 * The produce pictures HQ names in the catalog (`image: {url, sha256}`), fetched once and kept in
 * `<data.dir>/produce-images/<gtin>.<ext>`, where the kiosk's picture route serves them (and a
 * generated placeholder while there is none). The feed is signed, so its SHA-256 makes the picture
 * as trustworthy as the price: bytes that do not hash to it are never stored, whoever served them.
 *
 * What a server can send is bounded: http(s) only, at most `maxBytes`, within `timeoutMs`, and only
 * PNG, JPEG or WebP by their magic bytes (an SVG can carry script; the store's own SVGs are put in the
 * folder by hand). A failed fetch is counted, logged once per picture, and tried again at the next
 * sync (every catalog change and every `retryMs`), so a store whose WAN is down gets its pictures
 * later and shows placeholders meanwhile. One fetch at a time: pictures are never urgent.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log.js';
import type { Catalog } from '../prices/catalog.js';

export type ImageOutcome = 'stored' | 'badHash' | 'tooLarge' | 'notAnImage' | 'httpError' | 'unreachable';

export interface ImageCacheOptions {
  dir: string;
  catalog: () => Catalog;
  log: Logger;
  count?: (outcome: ImageOutcome) => void;
  maxBytes?: number;
  timeoutMs?: number;
  retryMs?: number;
}

/** The raster kinds a fetched picture replaces (a store's own SVG stays; the route prefers rasters). */
const EXTENSIONS = ['.png', '.jpg', '.webp'] as const;

/** The picture's kind from its first bytes, or null (only what a browser shows without script). */
export function imageKind(b: Uint8Array): '.png' | '.jpg' | '.webp' | null {
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 && b[4] === 0x0d && b[5] === 0x0a && b[6] === 0x1a && b[7] === 0x0a) return '.png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return '.jpg';
  const ascii = (from: number, to: number) => String.fromCharCode(...b.subarray(from, to));
  if (b.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return '.webp';
  return null;
}

export class ProduceImageCache {
  /** GTIN → the SHA-256 of the picture stored for it (read from its sidecar file once). */
  private readonly stored = new Map<string, string>();
  /** GTIN:sha256 of failures already logged (one line per picture, not one per retry). */
  private readonly logged = new Set<string>();
  private running: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private pending: NodeJS.Timeout | null = null;

  constructor(private readonly o: ImageCacheOptions) {}

  start(): void {
    this.sync();
    this.timer = setInterval(() => this.sync(), this.o.retryMs ?? 600_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.pending) clearTimeout(this.pending);
    await this.running;
  }

  /**
   * A sync a little later: the price service reports every change (label acks too), and a round
   * walks the whole catalog, so changes within `delayMs` share one round.
   */
  soon(delayMs = 2000): void {
    if (this.pending || this.stopped) return;
    this.pending = setTimeout(() => {
      this.pending = null;
      void this.sync();
    }, delayMs);
    this.pending.unref();
  }

  /** Fetches what the catalog names and the folder lacks; resolves when this round is done. */
  sync(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.round().finally(() => {
      this.running = null;
      if (this.again && !this.stopped) {
        this.again = false;
        void this.sync();
      }
    });
    return this.running;
  }

  private async round(): Promise<void> {
    for (const item of this.o.catalog().items.values()) {
      if (this.stopped) return;
      const image = item.image;
      if (!image) continue;
      if ((await this.storedHash(item.gtin)) === image.sha256) continue;
      const outcome = await this.fetchOne(item.gtin, image.url, image.sha256);
      this.o.count?.(outcome);
    }
  }

  private async storedHash(gtin: string): Promise<string | null> {
    const known = this.stored.get(gtin);
    if (known !== undefined) return known;
    try {
      const h = (await readFile(path.join(this.o.dir, `${gtin}.sha256`), 'utf8')).trim();
      this.stored.set(gtin, h);
      return h;
    } catch {
      return null;
    }
  }

  private async fetchOne(gtin: string, url: string, sha256: string): Promise<ImageOutcome> {
    const max = this.o.maxBytes ?? 512 * 1024;
    const fail = (outcome: ImageOutcome, detail: string): ImageOutcome => {
      const key = `${gtin}:${sha256}`;
      if (!this.logged.has(key)) {
        this.logged.add(key);
        this.o.log.warn({ gtin, url, outcome, detail }, 'produce picture not stored; the kiosk shows a placeholder and it is tried again later');
      }
      return outcome;
    };
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.o.timeoutMs ?? 10_000);
    let body: Buffer;
    try {
      const res = await fetch(url, { signal: abort.signal, redirect: 'follow' });
      if (!res.ok || !res.body) return fail('httpError', `HTTP ${res.status}`);
      const announced = Number(res.headers.get('content-length') ?? 'NaN');
      if (announced > max) {
        await res.body.cancel();
        return fail('tooLarge', `content-length ${announced} > ${max}`);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > max) {
          abort.abort();
          return fail('tooLarge', `more than ${max} bytes`);
        }
        chunks.push(Buffer.from(value));
      }
      body = Buffer.concat(chunks);
    } catch (err) {
      return fail('unreachable', (err as Error).message);
    } finally {
      clearTimeout(timer);
    }
    const got = createHash('sha256').update(body).digest('hex');
    if (got !== sha256) return fail('badHash', `sha256 ${got}, the catalog says ${sha256}`);
    const ext = imageKind(body);
    if (ext === null) return fail('notAnImage', 'not PNG, JPEG or WebP');
    // The folder is made with the first picture: a catalog without pictures leaves no trace.
    await mkdir(this.o.dir, { recursive: true, mode: 0o700 });
    // The new file in place before the old ones go: the route never finds none while one exists.
    const tmp = path.join(this.o.dir, `.${gtin}${ext}.tmp`);
    await writeFile(tmp, body, { mode: 0o600 });
    await rename(tmp, path.join(this.o.dir, `${gtin}${ext}`));
    for (const other of EXTENSIONS) if (other !== ext) await rm(path.join(this.o.dir, `${gtin}${other}`), { force: true });
    await writeFile(path.join(this.o.dir, `${gtin}.sha256`), `${sha256}\n`, { mode: 0o600 });
    this.stored.set(gtin, sha256);
    this.o.log.info({ gtin, bytes: body.length, kind: ext.slice(1) }, 'produce picture stored');
    return 'stored';
  }
}
