/**
 * The gateway's own exact records about a kiosk (`transaction`, `attendant`, `pickup`, `handover`): appended
 * through ingest like any device event (kind kiosk, deviceId = the kiosk id), so they take a seq
 * from the one counter and the same durable commit.
 */
import type { DeviceEntry } from '../devices/registry.js';
import type { Ingest } from '../ingest/ingest.js';
import { topics } from '../protocol/topics.js';

export type KioskRecordType = 'transaction' | 'attendant' | 'pickup' | 'handover' | 'pointsChange' | 'saleVoided';

/** Resolves with the record's seq once it is durable; rejects if storage failed or the schema refused it. */
/** The kiosk as the device its exact records are filed under (kind kiosk, deviceId = kiosk id). */
export function kioskDevice(kioskId: string): DeviceEntry {
  return { kind: 'kiosk', id: kioskId, source: 'config', secretHash: null, bridge: null, location: null, disabled: false, online: true, via: null, connectedAt: null, lastSeen: null, birth: null, lastEvents: {}, events: 0, rejects: {}, lastReject: null };
}

export function recordKioskEvent(ingest: Ingest, kioskId: string, type: KioskRecordType, data: object): Promise<number> {
  const device = kioskDevice(kioskId);
  return new Promise((resolve, reject) => {
    const seq = ingest.lastSeq + 1; // handle() takes the next seq synchronously
    ingest.handle(device, type, topics.evt('kiosk', kioskId, type), Buffer.from(JSON.stringify(data), 'utf8'), (err, rejected) => {
      if (err) reject(err);
      else if (rejected) reject(new Error(`kiosk ${type} record failed its schema`));
      else resolve(seq);
    });
  });
}
