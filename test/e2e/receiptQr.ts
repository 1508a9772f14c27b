/**
 * Reads the digital receipt's QR back from the kiosk page: the thank-you screen draws it as one
 * qrcode-generator SVG path, one square subpath per dark module. `modulesOfPath` turns the path
 * into "row,col" cells; `darkModules` lists the cells qrcode-generator sets for a URL, so a test
 * compares the two and knows the page's QR encodes exactly that URL.
 */
import qrcode from 'qrcode-generator';

/**
 * The dark modules of a qrcode-generator SVG path, as "row,col": one square subpath per module,
 * "Mx,y l c,0 0,c -c,0 0,-c z", offset by the margin (in SVG units). Throws on any other shape.
 */
export function modulesOfPath(d: string, cell: number, margin: number): string[] {
  const out: string[] = [];
  for (const part of d.trim().split(/\s*(?=M)/)) {
    const m = /^M(\d+),(\d+)l(\d+),0 0,(\d+) -(\d+),0 0,-(\d+)z$/.exec(part);
    if (!m || [m[3], m[4], m[5], m[6]].some((v) => Number(v) !== cell)) throw new Error(`not a ${cell}-unit module square: ${part}`);
    out.push(`${(Number(m[2]) - margin) / cell},${(Number(m[1]) - margin) / cell}`);
  }
  return out.sort();
}

/** The dark modules qrcode-generator draws for `text` (byte mode, level M, smallest version). */
export function darkModules(text: string): string[] {
  const qr = qrcode(0, 'M');
  qr.addData(text, 'Byte');
  qr.make();
  const dark: string[] = [];
  for (let r = 0; r < qr.getModuleCount(); r++) for (let c = 0; c < qr.getModuleCount(); c++) if (qr.isDark(r, c)) dark.push(`${r},${c}`);
  return dark.sort();
}
