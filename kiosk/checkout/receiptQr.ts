/**
 * The digital receipt's QR code as SVG, drawn on the kiosk itself (qrcode-generator, no network):
 * the smallest version that fits, error correction M (reads from a phone held at an angle to a
 * glossy screen), a 4-module quiet zone as ISO/IEC 18004 asks for. The e2e test draws the same
 * options for the expected URL and compares, so keep it one function.
 */
import qrcode from 'qrcode-generator';

/** `margin` is in SVG units (not modules) for qrcode-generator: 4 modules of 4. */
export const RECEIPT_QR = { typeNumber: 0, level: 'M', cellSize: 4, margin: 16 } as const;

export function receiptQrSvg(url: string): string {
  const qr = qrcode(RECEIPT_QR.typeNumber, RECEIPT_QR.level);
  qr.addData(url, 'Byte');
  qr.make();
  return qr.createSvgTag({ cellSize: RECEIPT_QR.cellSize, margin: RECEIPT_QR.margin, scalable: true });
}
