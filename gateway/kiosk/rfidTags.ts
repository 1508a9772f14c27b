/**
 * Serialised items at the kiosk, pure: an item is its GTIN *and* its serial. Serials are
 * unique only within one GTIN, so two products may carry the same serial and are two items; the
 * same (GTIN, serial) read twice is one item.
 *
 * Two memories keep a basket reader honest:
 * - `soldTags` (kept across sessions, saved with the kiosk's session in kiosk.db): the pairs this
 *   kiosk sold, each until `until`. The shopper who just paid is still standing at the reader with
 *   the basket; its tags must not start the next shopper's cart or be charged to it.
 * - `removedTags` (this session only): the pairs the shopper took off the cart. A removed tag that
 *   the reader still sees is not added back (that would charge it again): the shopper is told once
 *   that it is still being read.
 */

export interface TagRef {
  gtin: string;
  serial: string;
}

export interface SoldTag extends TagRef {
  /** Epoch ms after which the reader counts this pair again. */
  until: number;
}

export interface RemovedTag extends TagRef {
  /** The shopper was told once that this removed tag is still being read. */
  told: boolean;
}

/** Sold pairs a kiosk remembers at most (the oldest go first): bounds the saved session's size. */
export const MAX_SOLD_TAGS = 2000;

/** A GTIN as its 14-digit form, so `4006381333931` and `04006381333931` are one product. */
export function gtin14(gtin: string): string {
  return gtin.padStart(14, '0');
}

export function sameTag(a: TagRef, gtin: string, serial: string): boolean {
  return a.serial === serial && gtin14(a.gtin) === gtin14(gtin);
}

/** True when a cart line of `lineGtin` already counts (gtin, serial). */
export function lineHasTag(line: { gtin: string; serials?: string[] }, gtin: string, serial: string): boolean {
  return line.serials !== undefined && gtin14(line.gtin) === gtin14(gtin) && line.serials.includes(serial);
}

/** The pairs still quiet at `now` (expired ones dropped). */
export function liveSold(sold: readonly SoldTag[] | undefined, now: number): SoldTag[] {
  return (sold ?? []).filter((t) => t.until > now);
}

export function isSoldHere(sold: readonly SoldTag[] | undefined, gtin: string, serial: string, now: number): boolean {
  return (sold ?? []).some((t) => t.until > now && sameTag(t, gtin, serial));
}

/** Adds the serialised lines of a sale, quiet until `until`; a pair sold again gets the later time. */
export function rememberSold(sold: readonly SoldTag[] | undefined, lines: readonly { gtin: string; serials?: string[] }[], now: number, until: number): SoldTag[] {
  if (until <= now) return liveSold(sold, now);
  const fresh: SoldTag[] = [];
  for (const l of lines) for (const serial of l.serials ?? []) fresh.push({ gtin: l.gtin, serial, until });
  const kept = liveSold(sold, now).filter((t) => !fresh.some((f) => sameTag(f, t.gtin, t.serial)));
  return [...kept, ...fresh].slice(-MAX_SOLD_TAGS);
}
