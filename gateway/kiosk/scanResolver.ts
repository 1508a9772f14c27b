/**
 * A scanned code or an RFID read → a session action, pure: member codes first, coupons never as
 * products, then barcodes.ts (GTIN, variable-measure, GS1 AIs), then the catalog key. Whatever cannot be trusted becomes
 * `badCode` with the parser's reason (the kiosk shows it and calls for help).
 */
import type { Catalog } from '../prices/catalog.js';
import type { BarcodeParser } from './barcodes.js';
import { decodeSgtin96 } from './sgtin.js';
import { couponCodeOf } from './coupons/couponCode.js';
import type { Action } from './sessionMachine.js';

/** The catalog key for a GTIN-14: feeds may list GTIN-8/12/13 as such, so try the narrower forms too. */
export function catalogGtin(cat: Catalog, gtin14: string): string | null {
  for (const len of [14, 13, 12, 8]) {
    const g = gtin14.slice(14 - len);
    if (len < 14 && !/^0+$/.test(gtin14.slice(0, 14 - len))) continue;
    if (cat.items.has(g)) return g;
  }
  return null;
}

export function resolveScan(code: string, symbology: string | undefined, parse: BarcodeParser, cat: Catalog): Action {
  const trimmed = code.replace(/[\r\n]+$/, '');
  if (cat.members.has(trimmed)) return { type: 'member', code: trimmed, known: cat.memberStates.get(trimmed)?.status !== 'suspended' };
  // A coupon (CP1:, GS1 AI 8110/8112) is never a product: the kiosk routes it to the coupon check
  // first (sessions.ts), and anything that still arrives here is refused, not added.
  if (couponCodeOf(trimmed) !== null) return { type: 'badCode', code: trimmed, detail: 'code: a coupon, not a product' };
  const r = parse(trimmed, symbology);
  if (!r.ok) return { type: 'badCode', code: trimmed, detail: r.reason, ...(r.code === 'SGW_ERR_WRONG_CURRENCY' && r.currency !== undefined ? { currency: r.currency } : {}) };
  const item = (gtin14: string | undefined) => (gtin14 === undefined ? null : catalogGtin(cat, gtin14));
  switch (r.kind) {
    case 'gtin': {
      const g = item(r.gtin14);
      return g ? { type: 'addItem', gtin: g } : { type: 'addItem', gtin: r.gtin14 };
    }
    case 'variableMeasure': {
      const g = item(r.lookupGtin14) ?? r.lookupGtin14;
      if (r.measure === 'price' && r.priceMinor !== undefined) return { type: 'addItem', gtin: g, embeddedPrice: r.priceMinor };
      if (r.measure === 'weight' && r.grams !== undefined && r.grams > 0) return { type: 'addItem', gtin: g, grams: r.grams };
      return { type: 'badCode', code: trimmed, detail: `variable-measure ${r.measure} codes are not sold at the kiosk` };
    }
    case 'gs1': {
      if (r.gtin14 === undefined) return { type: 'badCode', code: trimmed, detail: 'GS1 code without a GTIN (01)' };
      const g = item(r.gtin14) ?? r.gtin14;
      if (r.priceMinor !== undefined) return { type: 'addItem', gtin: g, embeddedPrice: r.priceMinor, ...(r.grams !== undefined ? { grams: r.grams } : {}) };
      if (r.grams !== undefined) return { type: 'addItem', gtin: g, grams: r.grams };
      // AI (21): a serialised item, one physical unit; it is checked like an RFID tag's serial.
      const serial = r.elements.find((e) => e.ai === '21')?.value;
      return serial !== undefined ? { type: 'addItem', gtin: g, serial } : { type: 'addItem', gtin: g };
    }
  }
}

/**
 * An RFID read: an SGTIN-96 becomes an item with its serial; anything else is not ours (null). The
 * serial means nothing without the GTIN (serials are unique only within one GTIN), so
 * the action always carries both, and `via: 'rfid'` so the machine can tell a basket read from a scan.
 */
export function resolveEpc(epc: string, cat: Catalog): Action | null {
  const d = decodeSgtin96(epc);
  if (!d.ok) return null;
  return { type: 'addItem', gtin: catalogGtin(cat, d.gtin14) ?? d.gtin14, serial: String(d.serial), via: 'rfid' };
}
