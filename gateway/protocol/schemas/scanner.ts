import { Type, type Static } from '@sinclair/typebox';
import { Timestamp, command } from './common.js';

/** One decoded barcode; `symbology` is the AIM identifier (`]E0`, `]C1`, …; ISO/IEC 15424) when known. */
export const ScannerScan = Type.Object(
  {
    ts: Timestamp,
    code: Type.String({ minLength: 1, maxLength: 512 }),
    symbology: Type.Optional(Type.String({ pattern: '^\\][A-Za-z0-9][0-9A-Za-z]$' })),
  },
  { additionalProperties: true },
);

export const ScannerBeep = command({ pattern: Type.Optional(Type.Union([Type.Literal('ok'), Type.Literal('error')])) });
export const ScannerEnable = command({ enabled: Type.Boolean() });

export type ScannerScanEvt = Static<typeof ScannerScan>;
