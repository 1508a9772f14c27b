/**
 * Fixed-width receipt layout, pure: a printer line holds `width` columns of Font A (48 on 80 mm
 * paper, 32 on 58 mm), and a Chinese character takes two of them (a full-width glyph).
 */

/** East Asian wide characters (Unicode UAX #11 W/F ranges that a receipt can meet). */
function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    cp >= 0x20000
  );
}

/** Printed columns of `s`. */
export function columns(s: string): number {
  let n = 0;
  for (const ch of s) n += isWide(ch.codePointAt(0)!) ? 2 : 1;
  return n;
}

/** Splits `s` into lines of at most `width` columns, at spaces where it can. */
export function wrap(s: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of s.split(/ +/)) {
    const candidate = line === '' ? word : `${line} ${word}`;
    if (columns(candidate) <= width) {
      line = candidate;
      continue;
    }
    if (line !== '') out.push(line);
    line = '';
    // A word longer than the line is broken by characters.
    for (const ch of word) {
      if (columns(line + ch) > width) {
        out.push(line);
        line = '';
      }
      line += ch;
    }
  }
  if (line !== '' || out.length === 0) out.push(line);
  return out;
}

/** `left` and `right` on one line, `right` flush right; a long `left` wraps and `right` ends its last line. */
export function twoColumns(left: string, right: string, width: number): string[] {
  const rw = columns(right);
  const lines = wrap(left, Math.max(1, width - rw - 1));
  const last = lines[lines.length - 1];
  lines[lines.length - 1] = last + ' '.repeat(Math.max(1, width - columns(last) - rw)) + right;
  return lines;
}
