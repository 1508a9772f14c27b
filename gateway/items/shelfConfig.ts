/** Config `shelves`: RFID readers watching store shelves, each for one zone (shelves.ts). */
import { Type, type Static } from '@sinclair/typebox';
import { ID_PATTERN } from '../protocol/topics.js';
import { isValidGtin } from '../kiosk/barcodes/checkDigits.js';

export const ShelfSchema = Type.Object(
  {
    reader: Type.String({ pattern: ID_PATTERN, description: 'The `rfid` device reading this shelf (a fixed shelf reader or an overhead one); not an exit gate, not a kiosk basket reader.' }),
    zone: Type.String({ minLength: 1, maxLength: 64, description: 'The shelf zone its reads stand for, as ops name it ("aisle 3 — tees"); several readers may cover one zone.' }),
    gtins: Type.Optional(
      Type.Array(Type.String({ pattern: '^[0-9]{8,14}$' }), { maxItems: 5000, description: 'The items planned for this zone (catalog GTINs): watched from the start, and counted as 0 by a cycle count that reads none. Without it, the items its reader has read are watched.' }),
    ),
    minFacings: Type.Integer({ minimum: 1, maximum: 1000, default: 1, description: 'Fewer units than this on the shelf (and some on hand) puts the item on the refill list and raises SHELF_EMPTY.' }),
    presenceMs: Type.Integer({ minimum: 1000, maximum: 3_600_000, default: 60_000, description: 'A tag counts as on the shelf this long after its last read; at least two read cycles of the reader, so one missed cycle does not empty the shelf.' }),
  },
  { additionalProperties: false },
);

export const ShelvesSchema = Type.Array(ShelfSchema, {
  default: [],
  description: 'RFID shelf readers: units on the shelf per item and zone (distinct serials read lately), the refill and out-of-stock lists, SHELF_EMPTY alerts, and RFID cycle counts.',
});

export type ShelfConfig = Static<typeof ShelfSchema>;

/**
 * Checks the schema cannot express: a reader is one shelf's only, never an exit gate (an item
 * read on the shelf would be judged as walking out) and never a kiosk's basket reader (a basket
 * would be taken for stock on a shelf).
 */
export function shelfErrors(obj: { shelves?: unknown; exitGates?: unknown; kiosk?: unknown }): string[] {
  if (!Array.isArray(obj.shelves)) return [];
  const errors: string[] = [];
  const kioskDevices = (obj.kiosk as { devices?: Record<string, { rfid?: unknown }> } | undefined)?.devices ?? {};
  const basketReaders = new Map(Object.entries(kioskDevices).flatMap(([kioskId, d]) => (typeof d?.rfid === 'string' ? [[d.rfid, kioskId] as const] : [])));
  const gateReaders = new Map((Array.isArray(obj.exitGates) ? obj.exitGates : []).flatMap((g: { reader?: unknown }, i) => (typeof g?.reader === 'string' ? [[g.reader, i] as const] : [])));
  const seen = new Map<string, number>();
  obj.shelves.forEach((s: { reader?: unknown }, i) => {
    if (typeof s?.reader !== 'string') return;
    if (seen.has(s.reader)) errors.push(`shelves[${i}].reader: "${s.reader}" is already the reader of shelves[${seen.get(s.reader)}]`);
    else seen.set(s.reader, i);
    const gate = gateReaders.get(s.reader);
    if (gate !== undefined) errors.push(`shelves[${i}].reader: "${s.reader}" is the reader of exitGates[${gate}]`);
    const kioskId = basketReaders.get(s.reader);
    if (kioskId !== undefined) errors.push(`shelves[${i}].reader: "${s.reader}" is kiosk ${kioskId}'s basket reader (kiosk.devices.${kioskId}.rfid)`);
  });
  // A planned GTIN with a wrong check digit (a typo) would never match a read: the shelf would look
  // empty for good. GTIN-8, -12, -13 and -14 are one number each (Shelves matches them as GTIN-14).
  obj.shelves.forEach((s: { gtins?: unknown }, i) => {
    if (!Array.isArray(s?.gtins)) return;
    s.gtins.forEach((g: unknown, j) => {
      if (typeof g === 'string' && /^[0-9]{8,14}$/.test(g) && !isValidGtin(g)) errors.push(`shelves[${i}].gtins[${j}]: "${g}" is not a GTIN (8, 12, 13 or 14 digits with a valid check digit)`);
    });
  });
  return errors;
}
