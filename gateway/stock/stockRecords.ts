/**
 * Writes a `stockMove` record through ingest, filed as the gateway itself (kind `light`, deviceId
 * `storegw`, the convention of its own records in uplink/selfRecords.ts), so it takes a seq from
 * the one counter and the same durable commit as the sales around it.
 */
import type { Ingest } from '../ingest/ingest.js';
import type { StockMoveRec } from '../protocol/schemas/stock.js';
import { SELF_DEVICE_ID, SELF_KIND } from '../protocol/gatewayRecords.js';
import { topics } from '../protocol/topics.js';
import { kioskDevice } from '../kiosk/kioskRecords.js';

const SELF = { ...kioskDevice(SELF_DEVICE_ID), kind: SELF_KIND, location: 'the gateway itself' };

/** Resolves with the record's seq once it is durable; rejects if storage failed or the schema refused it. */
export function recordStockMove(ingest: Ingest, data: StockMoveRec): Promise<number> {
  return new Promise((resolve, reject) => {
    const seq = ingest.lastSeq + 1; // handle() takes the next seq synchronously
    ingest.handle(SELF, 'stockMove', topics.evt(SELF_KIND, SELF_DEVICE_ID, 'stockMove'), Buffer.from(JSON.stringify(data), 'utf8'), (err, rejected) => {
      if (err) reject(err);
      else if (rejected) reject(new Error(`stockMove ${data.movementId} failed its schema`));
      else resolve(seq);
    });
  });
}
