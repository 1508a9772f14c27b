/**
 * The store's sync report, gateway → HQ, retained on `hq/v1/store/{storeId}/report/sync` (QoS 1;
 * protocol/README.md §Sync report): which HQ feed versions this store applied and when, and how
 * far behind its delivery to HQ is. HQ's chain view compares the versions with the ones HQ signed
 * last and shows the store's own view of its backlog beside HQ's (the time of its last batch).
 *
 * - `feeds`: one entry per feed and topic scope the store has applied (`scope` `store` or `all`,
 *   as the topic says: `store` is `hq/v1/store/{id}/{feed}`); `appliedAt` is null when the version
 *   was applied before the gateway's current start and its store keeps no time for it.
 * - `outbox.records`: every outbox row not yet delivered (sent or not); `oldestUnackedAgeS`: the
 *   age of the oldest of them (null when the outbox is empty), the store's own lag.
 * - `unackedBatches`: batches sent or exported and awaiting HQ's ingest ack (`hq.delivery:
 *   ingest-ack`; 0 otherwise).
 */
import { Type, type Static } from '@sinclair/typebox';

export const SyncReport = Type.Object(
  {
    ts: Type.String({ format: 'date-time', maxLength: 40 }),
    storeId: Type.String({ minLength: 1, maxLength: 64 }),
    gatewayVersion: Type.String({ maxLength: 64 }),
    installId: Type.Union([Type.String({ maxLength: 64 }), Type.Null()]),
    feeds: Type.Array(
      Type.Object(
        {
          feed: Type.String({ minLength: 1, maxLength: 64 }),
          scope: Type.Union([Type.Literal('store'), Type.Literal('all')]),
          version: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
          appliedAt: Type.Union([Type.String({ format: 'date-time', maxLength: 40 }), Type.Null()]),
        },
        { additionalProperties: false },
      ),
      { maxItems: 256 },
    ),
    outbox: Type.Object(
      {
        records: Type.Integer({ minimum: 0 }),
        oldestUnackedAgeS: Type.Union([Type.Number({ minimum: 0 }), Type.Null()]),
        unackedBatches: Type.Integer({ minimum: 0 }),
        delivery: Type.Union([Type.Literal('broker-puback'), Type.Literal('ingest-ack')]),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type SyncReportT = Static<typeof SyncReport>;

/** The report's name under `hq/v1/store/{id}/report/`. */
export const SYNC_REPORT = 'sync';
