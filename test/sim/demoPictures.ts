/**
 * Pictures of the demo's produce, drawn in code (no downloaded files): a shape per kind of
 * produce (round fruit with a leaf, a long vegetable, a bunch of grapes, a leafy head) in the
 * item's colour, with a soft highlight. The demo writes them where a store keeps its photos
 * (`<data.dir>/produce-images/<gtin>.svg`), so the kiosk shows them through the same path a real
 * store's photos take.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DemoProduce } from './demoCatalog.js';

const LEAF = '<path d="M60 26 C 66 12, 80 10, 86 14 C 80 24, 70 28, 60 26 Z" fill="#3f8f2f"/>';

function body(p: DemoProduce): string {
  switch (p.shape) {
    case 'round':
      return `<circle cx="60" cy="66" r="38" fill="${p.colour}"/>${LEAF}<ellipse cx="46" cy="52" rx="10" ry="7" fill="#fff" opacity=".35"/>`;
    case 'long':
      return `<ellipse cx="60" cy="62" rx="18" ry="46" transform="rotate(-35 60 62)" fill="${p.colour}"/><ellipse cx="50" cy="44" rx="5" ry="14" transform="rotate(-35 50 44)" fill="#fff" opacity=".35"/>`;
    case 'bunch': {
      const grapes = [[48, 40], [72, 40], [60, 52], [44, 62], [76, 62], [60, 74], [52, 90], [68, 90], [60, 104]];
      return `${LEAF}${grapes.map(([x, y]) => `<circle cx="${x}" cy="${y}" r="13" fill="${p.colour}" stroke="#0003"/>`).join('')}`;
    }
    case 'leafy':
      return `<circle cx="60" cy="64" r="40" fill="${p.colour}"/>${[[40, 50], [78, 52], [56, 80], [62, 40]].map(([x, y]) => `<circle cx="${x}" cy="${y}" r="16" fill="#fff" opacity=".18"/>`).join('')}`;
  }
}

/** The SVG of one produce item (120 × 120). */
export function produceSvg(p: DemoProduce): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 120" width="120" height="120"><rect width="120" height="120" rx="18" fill="#f4f1ea"/>${body(p)}</svg>`;
}

/** Writes a picture per produce GTIN into `<dataDir>/produce-images/`; returns how many. */
export function writeProducePictures(dataDir: string, items: readonly { gtin: string; produce: DemoProduce }[]): number {
  const dir = path.join(dataDir, 'produce-images');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const it of items) writeFileSync(path.join(dir, `${it.gtin}.svg`), produceSvg(it.produce), { mode: 0o600 });
  return items.length;
}
