/** Config `exitGates`: RFID readers at the store's exits, each bound to an alarm light (exitGates.ts). */
import { Type, type Static } from '@sinclair/typebox';
import { ID_PATTERN } from '../protocol/topics.js';

export const ExitGateSchema = Type.Object(
  {
    reader: Type.String({ pattern: ID_PATTERN, description: 'The `rfid` device at the exit; its reads are checked (it is not a kiosk basket reader).' }),
    alarm: Type.String({ pattern: ID_PATTERN, description: 'The `light` device that alarms: `set` red flash.' }),
    zone: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Which exit, as ops and the alarm record name it ("front door").' })),
    passageMs: Type.Integer({ minimum: 500, maximum: 600_000, default: 20_000, description: 'Reads of one tag less than this apart are one passage: at most one alarm per tag and passage.' }),
    alarmForMs: Type.Integer({ minimum: 0, maximum: 600_000, default: 10_000, description: 'The light flashes red this long after the last alarm, then is set off; 0 leaves it to staff.' }),
  },
  { additionalProperties: false },
);

export const ExitGatesSchema = Type.Array(ExitGateSchema, {
  default: [],
  description: 'RFID exit gates: a serialised item the store sells, read there and not sold (nor exempted by ops), raises the alarm.',
});

export type ExitGateConfig = Static<typeof ExitGateSchema>;

/**
 * Checks the schema cannot express: a reader is one gate's only (two gates on one reader would
 * alarm twice per passage), and never also a kiosk's basket reader (a basket at the kiosk would be
 * taken for an item walking out).
 */
export function exitGateErrors(obj: { exitGates?: unknown; kiosk?: unknown }): string[] {
  if (!Array.isArray(obj.exitGates)) return [];
  const errors: string[] = [];
  const kioskDevices = (obj.kiosk as { devices?: Record<string, { rfid?: unknown }> } | undefined)?.devices ?? {};
  const basketReaders = new Map(Object.entries(kioskDevices).flatMap(([kioskId, d]) => (typeof d?.rfid === 'string' ? [[d.rfid, kioskId] as const] : [])));
  const seen = new Map<string, number>();
  obj.exitGates.forEach((g: { reader?: unknown }, i) => {
    if (typeof g?.reader !== 'string') return;
    if (seen.has(g.reader)) errors.push(`exitGates[${i}].reader: "${g.reader}" is already the reader of exitGates[${seen.get(g.reader)}]`);
    else seen.set(g.reader, i);
    const kioskId = basketReaders.get(g.reader);
    if (kioskId !== undefined) errors.push(`exitGates[${i}].reader: "${g.reader}" is kiosk ${kioskId}'s basket reader (kiosk.devices.${kioskId}.rfid)`);
  });
  return errors;
}
