/**
 * HQ's import of an `outbox export --batches` file: each batch is decoded and checked like a batch
 * received over MQTT (decodeBatchText, the same checks as the ingest's decodeBatch), stored with
 * the ingest's own transaction (storeBatch: records keyed by (store_id, seq), so a second import
 * stores nothing new) and, after the commit, acknowledged with the ingest's signed ack on the
 * store's ack topic. The gateway registered each exported batch as awaiting an ack; when it
 * reconnects, its persistent session receives these acks and it deletes the rows instead of
 * sending them.
 *
 * What the import touches is injected (the pool, the ack publisher, the clock), so it is the same
 * code with or without a broker (`--no-ack`).
 */
import type { Pool } from 'pg';
import { decodeBatchText } from '../../gateway/protocol/envelopes.js';
import { batchDigest } from '../../gateway/protocol/schemas/ingestAck.js';
import { isPermanentDbError, storeBatch, storeRejected } from '../ingest/batchStore.js';
import { signAck } from '../ingest/ackEnvelope.js';
import { checkBatch, checkTopicStore } from '../ingest/batchCheck.js';
import type { ExportChunk } from './exportFile.js';
import type { KeyObject } from 'node:crypto';

/** `batches.worker` / `rejected_batches.worker` of what the import filed (ingest workers are ≥ 0). */
export const IMPORT_WORKER = -1;

export interface BatchOutcome {
  line: number;
  batchId?: string;
  storeId?: string;
  records: number;
  stored: number;
  duplicates: number;
  conflicts: number;
  /** Set when the batch was refused: `CODE: reason (line N)`. */
  rejected?: string;
  /** False when the ack could not be published (or `--no-ack`). */
  acked: boolean;
}

export interface ImportTotals {
  batches: number;
  records: number;
  stored: number;
  duplicates: number;
  conflicts: number;
  rejected: number;
  acked: number;
  ackFailed: number;
}

export interface ImporterOptions {
  pool: Pool;
  signing: { kid: string; key: KeyObject };
  /** Publishes an ack (QoS 1) and resolves once the broker has it; undefined: no acks (`--no-ack`). */
  publishAck?: (storeId: string, payload: string) => Promise<void>;
  /** Only batches of this store are taken; undefined: the store of the file's first batch. */
  storeId?: string;
  now: () => number;
  /** The ingest's `limits` (config): a file's batch is held to what a received one is. */
  limits: { maxRecords: number; maxDepth: number };
  onBatch?: (o: BatchOutcome, totals: ImportTotals) => void;
}

export class Importer {
  readonly totals: ImportTotals = { batches: 0, records: 0, stored: 0, duplicates: 0, conflicts: 0, rejected: 0, acked: 0, ackFailed: 0 };
  readonly outcomes: BatchOutcome[] = [];
  private storeId: string | undefined;
  /** Acks on their way to the broker: a bounded window, so a long file never holds them all. */
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly o: ImporterOptions) {
    this.storeId = o.storeId;
  }

  /** The store the file belongs to (known after its first readable batch). */
  get store(): string | undefined {
    return this.storeId;
  }

  async take(chunk: ExportChunk): Promise<void> {
    if (chunk.kind === 'garbage') {
      await this.reject({ line: chunk.line, storeId: chunk.storeId ?? this.storeId, batchId: chunk.batchId, records: 0 }, chunk.code, `${chunk.reason} (line ${chunk.line}${chunk.lines > 1 ? `, ${chunk.lines} lines` : ''})`, Buffer.alloc(0));
      return;
    }
    const dec = decodeBatchText(chunk.text, { maxRecords: this.o.limits.maxRecords });
    if (!dec.ok) {
      const at = dec.line !== undefined ? chunk.line + dec.line - 1 : chunk.line;
      return this.reject({ line: chunk.line, storeId: this.storeId, records: 0 }, dec.code, `${dec.reason} (line ${at})`, chunk.text);
    }
    const h = dec.header;
    this.storeId ??= h.storeId;
    if (h.storeId !== this.storeId) {
      return this.reject({ line: chunk.line, storeId: h.storeId, batchId: h.batchId, records: dec.records.length }, 'SGW_ERR_BATCH_STORE', `header.storeId: "${h.storeId}" is not this file's store "${this.storeId}" (line ${chunk.line})`, chunk.text);
    }
    // The checks a received batch gets (ingest/batchCheck.ts): a valid store id, the header's range
    // exactly its records', no data nested past the limit.
    const bad = checkTopicStore(h.storeId) ?? checkBatch(this.storeId, h, dec.records, this.o.limits.maxDepth);
    if (bad) return this.reject({ line: chunk.line, storeId: h.storeId, batchId: h.batchId, records: dec.records.length }, bad.code, `${bad.reason} (line ${chunk.line + (bad.line ?? 1) - 1})`, chunk.text);
    const digest = batchDigest(chunk.text);
    let res;
    try {
      res = await storeBatch(this.o.pool, { storeId: h.storeId, header: h, records: dec.records, digest, receivedAt: new Date(this.o.now()), worker: IMPORT_WORKER });
    } catch (err) {
      if (!isPermanentDbError(err)) throw new Error(`line ${chunk.line}: batch ${h.batchId}: ${(err as Error).message}; nothing after it was imported (run again: what was stored is kept, nothing is stored twice)`);
      return this.reject({ line: chunk.line, storeId: h.storeId, batchId: h.batchId, records: dec.records.length }, 'SGW_ERR_BATCH_STORE', `records: the database refused them (${(err as Error).message}) (line ${chunk.line})`, chunk.text);
    }
    const out: BatchOutcome = { line: chunk.line, batchId: h.batchId, storeId: h.storeId, records: dec.records.length, stored: res.stored, duplicates: res.duplicates, conflicts: res.conflicts, acked: false };
    const t = this.totals;
    t.batches++;
    t.records += out.records;
    t.stored += res.stored;
    t.duplicates += res.duplicates;
    t.conflicts += res.conflicts;
    this.outcomes.push(out);
    if (this.o.publishAck) {
      // Signed only after the commit, exactly like the ingest's ack.
      const ack = signAck(this.o.signing.kid, this.o.signing.key, h.storeId, res.ackVersion, {
        batchId: h.batchId, seqFrom: h.seqFrom, seqTo: h.seqTo, records: dec.records.length, digest, stored: res.stored, duplicates: res.duplicates, conflicts: res.conflicts, committedAt: res.committedAt,
      });
      const p: Promise<void> = this.o.publishAck(h.storeId, ack).then(
        () => {
          out.acked = true;
          t.acked++;
        },
        () => {
          t.ackFailed++;
        },
      );
      this.pending.add(p);
      void p.finally(() => this.pending.delete(p));
      if (this.pending.size >= 64) await Promise.race(this.pending);
    }
    this.o.onBatch?.(out, t);
  }

  /** Waits for every ack still on its way to the broker. */
  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  private async reject(out: Omit<BatchOutcome, 'stored' | 'duplicates' | 'conflicts' | 'acked'>, code: string, reason: string, payload: Buffer): Promise<void> {
    const o: BatchOutcome = { ...out, stored: 0, duplicates: 0, conflicts: 0, acked: false, rejected: `${code}: ${reason}` };
    // Filed like the ingest files a refused batch, so HQ sees it in one place whichever way it came.
    await storeRejected(this.o.pool, { storeId: out.storeId ?? '', ...(out.batchId !== undefined ? { batchId: out.batchId } : {}), code, reason, line: out.line, payload, worker: IMPORT_WORKER });
    this.totals.rejected++;
    this.outcomes.push(o);
    this.o.onBatch?.(o, this.totals);
  }
}
