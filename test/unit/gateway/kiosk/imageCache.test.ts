import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageKind, ProduceImageCache, type ImageOutcome } from '../../../../gateway/kiosk/imageCache.js';
import { buildCatalog } from '../../../../gateway/prices/catalog.js';
import type { CatalogItemT } from '../../../../gateway/protocol/schemas/feeds/priceFeeds.js';

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('a tiny png body')]);
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('a tiny jpeg body')]);
const HTML = Buffer.from('<html><script>alert(1)</script></html>');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A real HTTP server: path → body (or a status), counting requests. */
const files = new Map<string, Buffer | number>();
let hits = 0;
let server: http.Server;
let base = '';
const tmp = mkdtempSync(path.join(tmpdir(), 'sgw-images-'));

beforeAll(async () => {
  server = http.createServer((req, res) => {
    hits++;
    const f = files.get(req.url ?? '');
    if (f === undefined) return res.writeHead(404).end();
    if (typeof f === 'number') return res.writeHead(f).end();
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(f);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(tmp, { recursive: true, force: true });
});

function cacheFor(dir: string, items: CatalogItemT[], outcomes: ImageOutcome[], maxBytes?: number) {
  const catalog = buildCatalog({ items: items.map((item) => ({ scope: 'store' as const, item })), prices: [], promotions: [], members: [], bindings: [] });
  return new ProduceImageCache({ dir, catalog: () => catalog, log: pino({ level: 'silent' }), count: (o) => outcomes.push(o), ...(maxBytes ? { maxBytes } : {}) });
}
const item = (gtin: string, url: string, body: Buffer): CatalogItemT => ({ gtin, name: `Item ${gtin}`, unit: 'kg', image: { url, sha256: sha(body) } });

describe('produce pictures named by the signed catalog', () => {
  it('stores a picture whose bytes hash to the signed SHA-256, 0600, once; a new hash replaces it (another kind too)', async () => {
    const dir = path.join(tmp, 'a');
    files.set('/apple.png', PNG);
    const outcomes: ImageOutcome[] = [];
    await cacheFor(dir, [item('2000000000011', `${base}/apple.png`, PNG)], outcomes).sync();
    expect(outcomes).toEqual(['stored']);
    expect(readFileSync(path.join(dir, '2000000000011.png')).equals(PNG)).toBe(true);
    expect(statSync(path.join(dir, '2000000000011.png')).mode & 0o777).toBe(0o600);
    // A second cache (a restart) finds it by its sidecar and fetches nothing.
    const before = hits;
    const again: ImageOutcome[] = [];
    await cacheFor(dir, [item('2000000000011', `${base}/apple.png`, PNG)], again).sync();
    expect(again).toEqual([]);
    expect(hits).toBe(before);
    // HQ changes the picture to a JPEG: stored, and the old PNG (which the route would prefer) is gone.
    files.set('/apple.jpg', JPEG);
    const changed: ImageOutcome[] = [];
    await cacheFor(dir, [item('2000000000011', `${base}/apple.jpg`, JPEG)], changed).sync();
    expect(changed).toEqual(['stored']);
    expect(existsSync(path.join(dir, '2000000000011.png'))).toBe(false);
    expect(readFileSync(path.join(dir, '2000000000011.jpg')).equals(JPEG)).toBe(true);
  });

  it('never stores bytes that are not the signed ones, too large, not a raster picture, or not there; a later sync picks up a fixed server', async () => {
    const dir = path.join(tmp, 'b');
    files.set('/swapped.png', PNG);
    files.set('/big.png', Buffer.concat([PNG, Buffer.alloc(4096)]));
    files.set('/page.png', HTML);
    files.set('/gone.png', 503);
    const outcomes: ImageOutcome[] = [];
    const big = Buffer.concat([PNG, Buffer.alloc(4096)]);
    const items = [
      item('2000000000028', `${base}/swapped.png`, JPEG), // the server sends other bytes than HQ signed
      item('2000000000035', `${base}/big.png`, big),
      item('2000000000042', `${base}/page.png`, HTML),
      item('2000000000059', `${base}/gone.png`, PNG),
      item('2000000000066', 'http://127.0.0.1:1/nobody.png', PNG),
    ];
    const cache = cacheFor(dir, items, outcomes, 1024);
    await cache.sync();
    expect(outcomes).toEqual(['badHash', 'tooLarge', 'notAnImage', 'httpError', 'unreachable']);
    for (const it of items) for (const ext of ['.png', '.jpg', '.webp', '.sha256']) expect(existsSync(path.join(dir, `${it.gtin}${ext}`))).toBe(false);
    files.set('/gone.png', PNG);
    outcomes.length = 0;
    await cache.sync();
    expect(outcomes).toContain('stored');
    expect(readFileSync(path.join(dir, '2000000000059.png')).equals(PNG)).toBe(true);
  });

  it('a store’s own SVG stays when HQ names a picture; anything a server sends is stored only if it hashes right (seeded)', async () => {
    const dir = path.join(tmp, 'c');
    const own = path.join(dir, '2000000000073.svg');
    // A catalog without pictures leaves no folder behind; the store makes it for its own file.
    await cacheFor(dir, [], []).sync();
    expect(existsSync(dir)).toBe(false);
    mkdirSync(dir, { recursive: true });
    writeFileSync(own, '<svg xmlns="http://www.w3.org/2000/svg"/>');
    files.set('/own.png', PNG);
    await cacheFor(dir, [item('2000000000073', `${base}/own.png`, PNG)], []).sync();
    expect(existsSync(own)).toBe(true);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 64 }), fc.boolean(), async (bytes, signedRight) => {
        const body = Buffer.from(bytes);
        files.set('/any', body);
        const gtin = '2000000000080';
        rmSync(path.join(dir, `${gtin}.sha256`), { force: true });
        for (const ext of ['.png', '.jpg', '.webp']) rmSync(path.join(dir, `${gtin}${ext}`), { force: true });
        const outcomes: ImageOutcome[] = [];
        const signed = signedRight ? body : Buffer.concat([body, Buffer.from([1])]);
        await cacheFor(dir, [item(gtin, `${base}/any`, signed)], outcomes).sync();
        const kind = imageKind(body);
        const stored = ['.png', '.jpg', '.webp'].filter((ext) => existsSync(path.join(dir, `${gtin}${ext}`)));
        if (signedRight && kind) expect(stored).toEqual([kind]);
        else expect(stored).toEqual([]);
        expect(outcomes).toHaveLength(1);
      }),
      { seed: 4242, numRuns: 60 },
    );
  });
});
