/**
 * The exact record of an exit-gate alarm: a serialised item the store sells, not sold and not
 * exempt, read at a gate's RFID reader. Filed as kind `rfid`, type `exitAlarm`, deviceId = the
 * gate's reader; only the gateway writes it (gatewayRecords.ts). One per tag and passage.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Timestamp } from './common.js';

const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' });

export const ExitAlarm = Type.Object(
  {
    /** When the read reached the gateway. */
    ts: Timestamp,
    /** `{reader}:{gtin}:{serial}:{read time ms}`: the same on any re-send. */
    alarmId: Type.String({ minLength: 1, maxLength: 160 }),
    reader: Id,
    alarm: Id,
    zone: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    /** GTIN-14 and serial of the item (SGTIN-96), its EPC as read, and its catalog name. */
    gtin: Type.String({ pattern: '^[0-9]{14}$' }),
    serial: Type.String({ minLength: 1, maxLength: 20 }),
    epc: Type.String({ pattern: '^[0-9A-F]{24}$' }),
    name: Type.String({ maxLength: 200 }),
    /** HQ's `serials` feed lists it as stolen or recalled. */
    flag: Type.Optional(Type.Union([Type.Literal('stolen'), Type.Literal('recalled')])),
    /** Milliseconds from the read reaching the gateway to the alarm command leaving it. */
    latencyMs: Type.Number({ minimum: 0 }),
  },
  { additionalProperties: false },
);

export type ExitAlarmRec = Static<typeof ExitAlarm>;
