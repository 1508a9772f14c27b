/**
 * The ingest acknowledgement as a signed feed envelope (gateway/protocol/README.md §Ingest
 * acknowledgement, §Feed envelope): `{"kid","sig","signed"}`, Ed25519 (RFC 8032) over the exact
 * UTF-8 bytes of `signed`. Pure: the commit time comes in with the body.
 */
import { sign, type KeyObject } from 'node:crypto';
import { gunzipSync, brotliDecompressSync } from 'node:zlib';
import { INGEST_ACK_FEED, batchDigest, type IngestAckBodyT } from '../../gateway/protocol/schemas/ingestAck.js';
import { isGzip } from '../../gateway/protocol/envelopes.js';

export function signAck(kid: string, key: KeyObject, storeId: string, version: number, body: IngestAckBodyT): string {
  const signed = JSON.stringify({ feed: INGEST_ACK_FEED, scope: `store:${storeId}`, version, issuedAt: body.committedAt, body });
  return JSON.stringify({ kid, sig: sign(null, Buffer.from(signed, 'utf8'), key).toString('base64'), signed });
}

/**
 * The digest of a batch that decodeBatch already accepted: SHA-256 of its uncompressed text. The
 * payload is inflated a second time here (decodeBatch keeps only the parsed lines); it is the
 * cheap half of the work next to JSON parsing and the database.
 */
export function payloadDigest(payload: Buffer, rawBytes: number): string {
  // Bounded like the decode was: the same payload inflates to the same size.
  const maxOutputLength = Math.max(1, rawBytes);
  return batchDigest(isGzip(payload) ? gunzipSync(payload, { maxOutputLength }) : brotliDecompressSync(payload, { maxOutputLength }));
}
