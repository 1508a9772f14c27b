/**
 * `GET /kiosk-images/:gtin`: the picture of a produce item for the kiosk page's lookup. The pictures
 * are in `<data.dir>/produce-images/<gtin>.(png|jpg|webp|svg)`: fetched from the catalog's signed
 * `image` (kiosk/imageCache.ts) or put there by the store; an item without one gets a
 * generated picture (its initial on a colour, produceImage.ts), and a GTIN not in the catalog a 404.
 * No login: the pictures are what any shopper sees on the screen.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import type { TypedRoutes } from '../typeProvider.js';
import { placeholderSvg } from '../../kiosk/produceImage.js';

export interface ProduceImageDeps {
  /** The folder of the store's photos. */
  dir: string;
  /** The catalog name of a GTIN, null when the catalog has no such item. */
  nameOf: (gtin: string) => string | null;
}

const TYPES: [string, string][] = [
  ['.png', 'image/png'],
  ['.jpg', 'image/jpeg'],
  ['.webp', 'image/webp'],
  ['.svg', 'image/svg+xml'],
];

const Params = Type.Object({ gtin: Type.String({ pattern: '^[0-9]{8,14}$' }) });

export const produceImageRoutes: TypedRoutes<ProduceImageDeps> = async (app, deps) => {
  app.get('/kiosk-images/:gtin', { schema: { params: Params } }, async (req, reply) => {
    const { gtin } = req.params;
    const name = deps.nameOf(gtin);
    if (name === null) return reply.code(404).send({ code: 'SGW_ERR_NOT_FOUND', message: `gtin: ${gtin} is not in the catalog` });
    reply.header('cache-control', 'max-age=300');
    reply.header('x-content-type-options', 'nosniff');
    for (const [ext, type] of TYPES) {
      try {
        const body = await readFile(path.join(deps.dir, `${gtin}${ext}`));
        // A stored SVG is the store's file, not ours: no script in it may run.
        if (ext === '.svg') reply.header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'");
        return reply.type(type).send(body);
      } catch {
        // no photo of this kind: try the next
      }
    }
    return reply.type('image/svg+xml').send(placeholderSvg(gtin, name));
  });
};
