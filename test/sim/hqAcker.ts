/**
 * The HQ simulator as an acknowledging ingest (gateway/protocol/README.md §Ingest acknowledgement):
 * builds the signed `ingestAck` a real ingest publishes on `hq/v1/store/{id}/ack` once a batch is
 * stored, and reads an `outbox export --batches` file back into its batches (§Outbox export), as
 * an HQ import would. Signing uses the test HQ key (hqSigner.ts).
 */
import { gunzipSync, brotliDecompressSync } from 'node:zlib';
import { isGzip, type BatchHeader, type BatchRecord } from '../../gateway/protocol/envelopes.js';
import { batchDigest, INGEST_ACK_FEED, type IngestAckBodyT } from '../../gateway/protocol/schemas/ingestAck.js';
import type { HqSigner } from './hqSigner.js';

export interface AckCounts {
  stored: number;
  duplicates: number;
  conflicts: number;
}

/** The envelope text of an ingest ack for `header` (digest of the batch text), version `version`. */
export function signAck(signer: HqSigner, storeId: string, version: number, header: Pick<BatchHeader, 'batchId' | 'seqFrom' | 'seqTo' | 'records'>, digest: string, counts: AckCounts, body: Partial<IngestAckBodyT> = {}): string {
  const at = new Date().toISOString();
  return signer.sign({
    feed: INGEST_ACK_FEED,
    scope: `store:${storeId}`,
    version,
    issuedAt: at,
    body: { batchId: header.batchId, seqFrom: header.seqFrom, seqTo: header.seqTo, records: header.records, digest, ...counts, committedAt: at, ...body },
  });
}

/** The digest of a received batch payload: of its uncompressed text. */
export function payloadDigest(payload: Buffer): string {
  return batchDigest(isGzip(payload) ? gunzipSync(payload) : brotliDecompressSync(payload));
}

export interface ExportedBatch {
  header: BatchHeader;
  records: BatchRecord[];
  digest: string;
}

/** An export file's batches: a header line, then `records` record lines, again and again. */
export function batchesOfExport(text: string): ExportedBatch[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const out: ExportedBatch[] = [];
  for (let i = 0; i < lines.length; ) {
    const header = JSON.parse(lines[i]) as BatchHeader;
    if (typeof header.batchId !== 'string') throw new Error(`line ${i + 1}: expected a batch header`);
    const body = lines.slice(i + 1, i + 1 + header.records);
    if (body.length !== header.records) throw new Error(`line ${i + 1}: batch ${header.batchId} is cut short`);
    const t = [lines[i], ...body].map((l) => l + '\n').join('');
    out.push({ header, records: body.map((l) => JSON.parse(l) as BatchRecord), digest: batchDigest(t) });
    i += 1 + header.records;
  }
  return out;
}
