/**
 * Ingest acknowledgement, HQ's ingest → one store (protocol/README.md §Ingest acknowledgement).
 *
 * A batch is HQ's once HQ's ingest has committed it to its database, not when an HQ broker
 * answered PUBACK: a broker with no durable subscriber acknowledges and forgets. So after the
 * commit the ingest publishes, on `hq/v1/store/{storeId}/ack` (QoS 1, not retained), a feed
 * envelope (`{"kid","sig","signed"}`, Ed25519 over the exact bytes of `signed`) whose `signed` is
 * `{"feed":"ingestAck","scope":"store:{storeId}","version","issuedAt","body"}` with this body.
 *
 * - `version` is increasing per store (the ingest's database hands it out in the transaction that
 *   stored the batch). Several ingest workers publish concurrently, so acks may arrive out of
 *   version order; a version the gateway already accepted is a replay.
 * - The body names the batch exactly: its id, seq range, record count and the SHA-256 of the
 *   batch's uncompressed JSON-lines text (header line included) as HQ decoded it. The gateway
 *   deletes outbox rows only for a batch it has in flight whose id, range, count and digest all
 *   match: an ack for anything else deletes nothing.
 * - `stored + duplicates + conflicts = records`: a duplicate is a `(storeId, seq)` HQ already held
 *   with the same content; a conflict is one HQ held with other content (HQ keeps both and reports
 *   it; the store's copy is durable at HQ either way, so the row may go).
 */
import { createHash } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';

export const INGEST_ACK_FEED = 'ingestAck';

const Seq = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Count = Type.Integer({ minimum: 0, maximum: 10_000_000 });

export const IngestAckBody = Type.Object(
  {
    batchId: Type.String({ minLength: 1, maxLength: 128 }),
    seqFrom: Seq,
    seqTo: Seq,
    records: Count,
    /** `sha256:` + lowercase hex of the uncompressed batch text (see batchDigest). */
    digest: Type.String({ pattern: '^sha256:[0-9a-f]{64}$' }),
    stored: Count,
    duplicates: Count,
    conflicts: Count,
    /** When the ingest's transaction committed (RFC 3339). */
    committedAt: Type.String({ format: 'date-time', maxLength: 40 }),
  },
  { additionalProperties: false },
);
export type IngestAckBodyT = Static<typeof IngestAckBody>;

/** The digest both sides compute over the uncompressed batch text (header line and records). */
export function batchDigest(batchText: Buffer | string): string {
  return 'sha256:' + createHash('sha256').update(batchText).digest('hex');
}
