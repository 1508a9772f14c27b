import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import type { TypedRoutes } from '../typeProvider.js';

export interface PageRouteDeps {
  /** The folder with one sub-folder per page (`checkout/`, `ops/`), as build.mjs writes it. */
  pagesDir: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
};

const PagePath = Type.Object({ '*': Type.String() });

/**
 * The static pages: the kiosk page at /kiosk/ (from `checkout/`), the ops page at /ops/. The pages
 * hold no secrets and no prices; everything they show comes from the API after a login or a
 * kiosk token. Paths are resolved inside the page folder only.
 */
export const pageRoutes: TypedRoutes<PageRouteDeps> = async (app, deps) => {
  const mounts: [string, string][] = [
    ['/kiosk/', 'checkout'],
    ['/ops/', 'ops'],
  ];
  for (const [prefix, folder] of mounts) {
    const root = path.resolve(deps.pagesDir, folder);
    app.get(`${prefix}*`, { schema: { params: PagePath } }, async (req, reply) => {
      let rel: string;
      try {
        rel = decodeURIComponent(req.params['*'] || 'index.html');
      } catch {
        // `%25E0` arrives decoded once as `%E0`: decoding again throws, which was a 500.
        return reply.code(400).send({ code: 'SGW_ERR_SCHEMA', message: 'params.*: not a valid percent-encoded page path' });
      }
      const file = path.resolve(root, rel);
      if (!file.startsWith(root + path.sep)) return reply.code(404).send({ code: 'SGW_ERR_NOT_FOUND', message: 'no such page' });
      try {
        const body = await readFile(file);
        const type = TYPES[path.extname(file)] ?? 'application/octet-stream';
        reply.header('cache-control', rel === 'index.html' ? 'no-store' : 'no-cache');
        reply.header('x-content-type-options', 'nosniff');
        if (type.startsWith('text/html')) reply.header('content-security-policy', "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self' 'unsafe-inline'");
        return reply.type(type).send(body);
      } catch {
        return reply.code(404).send({ code: 'SGW_ERR_NOT_FOUND', message: `no page file ${rel}` });
      }
    });
    app.get(prefix.slice(0, -1), async (_req, reply) => reply.redirect(prefix));
  }
};
