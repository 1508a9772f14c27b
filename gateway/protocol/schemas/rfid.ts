import { Type, type Static } from '@sinclair/typebox';
import { Timestamp, command } from './common.js';

/** One tag read: EPC as hex (96-bit SGTIN = 24 hex digits; other lengths allowed), antenna, RSSI dBm. */
export const RfidRead = Type.Object(
  {
    ts: Timestamp,
    epc: Type.String({ pattern: '^[0-9A-Fa-f]{4,124}$' }),
    antenna: Type.Integer({ minimum: 1, maximum: 32 }),
    rssi: Type.Number({ minimum: -150, maximum: 255 }),
  },
  { additionalProperties: true },
);

export const RfidInventory = command({ action: Type.Union([Type.Literal('start'), Type.Literal('stop')]) });

export type RfidReadEvt = Static<typeof RfidRead>;
