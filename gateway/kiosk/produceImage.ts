/**
 * The picture the produce lookup shows when the store has no photo of an item: a coloured
 * rounded square with the item's initial, generated from its name (pure). The hue comes from the
 * GTIN, so an item keeps its colour across catalog updates and neighbours differ.
 */
const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function hueOf(gtin: string): number {
  let h = 0;
  for (const ch of gtin) h = (h * 31 + ch.charCodeAt(0)) % 360;
  return h;
}

/** An SVG (120 × 120) for `name`; the initial is its first letter or digit, "?" when it has none. */
export function placeholderSvg(gtin: string, name: string): string {
  const initial = ([...name.trim()].find((c) => /[\p{L}\p{N}]/u.test(c)) ?? '?').toUpperCase();
  const hue = hueOf(gtin);
  // A dark shade behind white text: over 4.5:1 whatever the hue (WCAG 1.4.11 for graphics needs 3:1).
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 120" width="120" height="120" role="img" aria-label="${name.replace(/[&<>"']/g, (c) => ESC[c]!)}">` +
    `<rect x="4" y="4" width="112" height="112" rx="24" fill="hsl(${hue} 55% 30%)"/>` +
    `<circle cx="60" cy="60" r="40" fill="hsl(${hue} 60% 42%)"/>` +
    `<text x="60" y="78" font-family="sans-serif" font-size="52" font-weight="700" text-anchor="middle" fill="#fff">${initial.replace(/[&<>"']/g, (c) => ESC[c]!)}</text></svg>`
  );
}
