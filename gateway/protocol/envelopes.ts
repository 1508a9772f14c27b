/**
 * Batch envelope, gateway → HQ (protocol/README.md §Batch envelope). Pure: no clock (createdAt is passed
 * in), no I/O; decoding never throws on wire input, it returns a typed result with a reason.
 *
 * Payload: gzip (default) or brotli of UTF-8 JSON lines. Line 1 is the header
 * `{"batchId","storeId","seqFrom","seqTo","records","createdAt"}`, every other line one record.
 * HQ tells the two compressions apart by the gzip magic `1f 8b` (RFC 1952 §2.3.1); brotli has no
 * magic, so anything else is tried as brotli.
 *
 * A record is `{"seq","class","kind","deviceId","type","ts","data"}` plus these fields, which
 * the contract allows records to add:
 * - `seqFrom` — on a compacted record (every class but exact): the lowest raw seq it covers;
 *   `seq` is the highest, so recompacting the same window after a crash yields the same seq.
 * - `recvTs` (gateway wall ms), `bootId`, `monoMs` (ms since that boot) of the raw record whose
 *   seq is `seq`: the gateway's own time, so HQ can order and re-time records when a device clock
 *   or the gateway's wall clock was wrong.
 */
import { promisify } from 'node:util';
import { brotliCompress, brotliCompressSync, brotliDecompressSync, constants as zlibConstants, gunzipSync, gzip, gzipSync, type BrotliOptions, type ZlibOptions } from 'node:zlib';
import { Type, type Static } from '@sinclair/typebox';
import { compile, formatErrors } from './validate.js';
import { DEVICE_KINDS, type DeviceKind } from './topics.js';
import { EVENT_CLASSES, type EventClass } from './schemas/index.js';
import { batchDigest } from './schemas/ingestAck.js';

export type { EventClass };

/** One row of the outbox as the store hands it to compaction (the lead's `outbox/store.ts`). */
export interface OutboxRecord {
  seq: number;
  cls: EventClass;
  kind: DeviceKind;
  deviceId: string;
  type: string;
  /** Device time, ISO 8601 (may be wrong: devices have bad clocks). */
  ts: string;
  /** Gateway wall time at receipt, ms since the epoch. */
  recvTs: number;
  bootId: string;
  /** Monotonic ms since the gateway boot `bootId`. */
  monoMs: number;
  data: Record<string, unknown>;
}

const Seq = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

export const BatchRecordSchema = Type.Object(
  {
    seq: Seq,
    seqFrom: Type.Optional(Seq),
    class: Type.Union(EVENT_CLASSES.map((c) => Type.Literal(c))),
    kind: Type.Union(DEVICE_KINDS.map((k) => Type.Literal(k))),
    deviceId: Type.String({ minLength: 1, maxLength: 64 }),
    type: Type.String({ minLength: 1, maxLength: 32 }),
    ts: Type.String({ maxLength: 40 }),
    recvTs: Type.Optional(Type.Number()),
    bootId: Type.Optional(Type.String({ maxLength: 64 })),
    monoMs: Type.Optional(Type.Number()),
    data: Type.Record(Type.String(), Type.Unknown()),
  },
  { additionalProperties: true },
);
export type BatchRecord = Static<typeof BatchRecordSchema>;

export const BatchHeaderSchema = Type.Object(
  {
    batchId: Type.String({ minLength: 1, maxLength: 128 }),
    storeId: Type.String({ minLength: 1, maxLength: 64 }),
    seqFrom: Seq,
    seqTo: Seq,
    records: Type.Integer({ minimum: 0 }),
    createdAt: Type.String({ maxLength: 40 }),
  },
  { additionalProperties: true },
);
export type BatchHeader = Static<typeof BatchHeaderSchema>;

export type Compression = 'gzip' | 'brotli';

export interface EncodeOptions {
  compression?: Compression;
  /** gzip level 1–9 (default 6) or brotli quality 0–11 (default 5: q11 is far too slow to drain a backlog). */
  level?: number;
}

/** Turns an outbox row into a wire record (exact records go out like this, untouched). */
export function toBatchRecord(r: OutboxRecord): BatchRecord {
  return {
    seq: r.seq,
    class: r.cls,
    kind: r.kind,
    deviceId: r.deviceId,
    type: r.type,
    ts: r.ts,
    data: r.data, // the contract's record order first: seq, class, kind, deviceId, type, ts, data
    recvTs: r.recvTs,
    bootId: r.bootId,
    monoMs: r.monoMs,
  };
}

/** The seq range a set of records covers: lowest `seqFrom ?? seq` to highest `seq`. */
export function seqRangeOf(records: readonly BatchRecord[]): { seqFrom: number; seqTo: number } {
  let seqFrom = Number.POSITIVE_INFINITY;
  let seqTo = Number.NEGATIVE_INFINITY;
  for (const r of records) {
    seqFrom = Math.min(seqFrom, r.seqFrom ?? r.seq);
    seqTo = Math.max(seqTo, r.seq);
  }
  return records.length === 0 ? { seqFrom: 0, seqTo: 0 } : { seqFrom, seqTo };
}

/** Builds the header of a batch from its records. */
export function makeHeader(batchId: string, storeId: string, records: readonly BatchRecord[], createdAt: string): BatchHeader {
  const { seqFrom, seqTo } = seqRangeOf(records);
  return { batchId, storeId, seqFrom, seqTo, records: records.length, createdAt };
}

/** The JSON lines of a batch, uncompressed (also what `outbox export` prints, minus the header). */
export function batchText(header: BatchHeader, records: readonly BatchRecord[]): string {
  let out = JSON.stringify(header) + '\n';
  for (const r of records) out += JSON.stringify(r) + '\n';
  return out;
}

function brotliOptions(input: Buffer, opts: EncodeOptions): BrotliOptions {
  return {
    params: {
      [zlibConstants.BROTLI_PARAM_QUALITY]: clampInt(opts.level ?? 5, 0, 11),
      [zlibConstants.BROTLI_PARAM_MODE]: zlibConstants.BROTLI_MODE_TEXT,
      [zlibConstants.BROTLI_PARAM_SIZE_HINT]: input.length,
    },
  };
}
const gzipOptions = (opts: EncodeOptions): ZlibOptions => ({ level: clampInt(opts.level ?? 6, 1, 9) });

export function compress(text: string | Buffer, opts: EncodeOptions = {}): Buffer {
  const input = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  return opts.compression === 'brotli' ? brotliCompressSync(input, brotliOptions(input, opts)) : gzipSync(input, gzipOptions(opts));
}

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

/**
 * `compress` on libuv's thread pool: a 256 KiB batch takes ~30 ms to gzip, which on the event loop
 * would hold up every device's PUBACK while the uplink drains a backlog.
 */
export function compressAsync(input: Buffer, opts: EncodeOptions = {}): Promise<Buffer> {
  return opts.compression === 'brotli' ? brotliAsync(input, brotliOptions(input, opts)) : gzipAsync(input, gzipOptions(opts));
}

/** Encodes one batch: header line + record lines, compressed. */
export function encodeBatch(header: BatchHeader, records: readonly BatchRecord[], opts: EncodeOptions = {}): Buffer {
  return compress(batchText(header, records), opts);
}

// ---------------------------------------------------------------------------------------------
// Decoding

export type BatchDecodeErrorCode =
  | 'SGW_ERR_BATCH_EMPTY'
  | 'SGW_ERR_BATCH_DECOMPRESS'
  | 'SGW_ERR_BATCH_TOO_LARGE'
  | 'SGW_ERR_BATCH_UTF8'
  | 'SGW_ERR_BATCH_JSON'
  | 'SGW_ERR_BATCH_HEADER'
  | 'SGW_ERR_BATCH_RECORD'
  | 'SGW_ERR_BATCH_COUNT';

export type BatchDecode =
  | { ok: true; compression: Compression; header: BatchHeader; records: BatchRecord[]; rawBytes: number }
  | { ok: false; code: BatchDecodeErrorCode; reason: string; line?: number };

export interface DecodeOptions {
  /** Refuse to inflate beyond this many bytes (a zip bomb is wire input too). Default 256 MiB. */
  maxUncompressedBytes?: number;
  /** Refuse a batch of more records than this (checked on the line count, before parsing them). */
  maxRecords?: number;
}

const validateHeader = compile(BatchHeaderSchema);
const validateRecord = compile(BatchRecordSchema);

/** True when the payload starts with the gzip magic `1f 8b` (RFC 1952 §2.3.1). */
export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/** Decodes a batch. Never throws: every failure is a code, a reason and (when known) a 1-based line. */
export function decodeBatch(payload: Uint8Array, opts: DecodeOptions = {}): BatchDecode {
  if (payload.length === 0) return { ok: false, code: 'SGW_ERR_BATCH_EMPTY', reason: 'payload: is empty' };
  const maxOutputLength = opts.maxUncompressedBytes ?? 256 * 1024 * 1024;
  const compression: Compression = isGzip(payload) ? 'gzip' : 'brotli';
  let raw: Buffer;
  try {
    raw = compression === 'gzip' ? gunzipSync(payload, { maxOutputLength }) : brotliDecompressSync(payload, { maxOutputLength });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
      return { ok: false, code: 'SGW_ERR_BATCH_TOO_LARGE', reason: `payload: inflates beyond ${maxOutputLength} bytes` };
    }
    return { ok: false, code: 'SGW_ERR_BATCH_DECOMPRESS', reason: `payload: not valid ${compression} (${e.message})` };
  }
  const d = decodeBatchText(raw, opts);
  return d.ok ? { ...d, compression } : d;
}

/**
 * Decodes the uncompressed text of a batch (header line, then one line per record), as
 * `decodeBatch` does after inflating: also what `outbox export --batches` writes, one batch after
 * the other, so HQ's import checks a file's batches exactly like received ones.
 */
export function decodeBatchText(raw: Uint8Array, opts: Pick<DecodeOptions, 'maxRecords'> = {}): { ok: true; header: BatchHeader; records: BatchRecord[]; rawBytes: number } | Extract<BatchDecode, { ok: false }> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    return { ok: false, code: 'SGW_ERR_BATCH_UTF8', reason: 'payload: is not valid UTF-8' };
  }
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) return { ok: false, code: 'SGW_ERR_BATCH_HEADER', reason: 'header: is missing', line: 1 };

  const head = parseLine(lines[0]);
  if (!head.ok) return { ok: false, code: 'SGW_ERR_BATCH_JSON', reason: `header: ${head.reason}`, line: 1 };
  if (!validateHeader(head.value)) {
    return { ok: false, code: 'SGW_ERR_BATCH_HEADER', reason: formatErrors(validateHeader.errors, 'header').join('; '), line: 1 };
  }
  const header = head.value;
  if (header.seqFrom > header.seqTo) {
    return { ok: false, code: 'SGW_ERR_BATCH_HEADER', reason: `header.seqFrom: ${header.seqFrom} is above seqTo ${header.seqTo}`, line: 1 };
  }
  if (opts.maxRecords !== undefined && lines.length - 1 > opts.maxRecords) {
    return { ok: false, code: 'SGW_ERR_BATCH_TOO_LARGE', reason: `records: ${lines.length - 1} is over the limit of ${opts.maxRecords} per batch` };
  }
  if (header.records !== lines.length - 1) {
    return { ok: false, code: 'SGW_ERR_BATCH_COUNT', reason: `header.records: says ${header.records}, payload has ${lines.length - 1}` };
  }
  const records: BatchRecord[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = i + 1;
    const p = parseLine(lines[i]);
    if (!p.ok) return { ok: false, code: 'SGW_ERR_BATCH_JSON', reason: `records[${i - 1}]: ${p.reason}`, line };
    if (!validateRecord(p.value)) {
      return { ok: false, code: 'SGW_ERR_BATCH_RECORD', reason: formatErrors(validateRecord.errors, `records[${i - 1}]`).join('; '), line };
    }
    const r = p.value;
    if (r.seqFrom !== undefined && r.seqFrom > r.seq) {
      return { ok: false, code: 'SGW_ERR_BATCH_RECORD', reason: `records[${i - 1}].seqFrom: ${r.seqFrom} is above seq ${r.seq}`, line };
    }
    if ((r.seqFrom ?? r.seq) < header.seqFrom || r.seq > header.seqTo) {
      return { ok: false, code: 'SGW_ERR_BATCH_RECORD', reason: `records[${i - 1}].seq: ${r.seq} is outside the header's ${header.seqFrom}..${header.seqTo}`, line };
    }
    records.push(r);
  }
  return { ok: true, header, records, rawBytes: raw.length };
}

function parseLine(line: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: JSON.parse(line) };
  } catch (err) {
    return { ok: false, reason: `is not valid JSON (${(err as Error).message})` };
  }
}

// ---------------------------------------------------------------------------------------------
// Splitting a record list into batches

export interface BatchLimits {
  /** Most records in one batch. Default 5,000. */
  maxRecords?: number;
  /** Most bytes of JSON lines (header included) before compression. Default 4 MiB. */
  maxRawBytes?: number;
  /**
   * Most bytes of the compressed payload. Leave room under HQ's MQTT packet limit for the fixed
   * header, topic and properties (a few hundred bytes). Default 256 KiB.
   */
  maxBytes?: number;
}

/** Room kept for the header line when planning by raw size (ids ≤ 128 chars, seqs ≤ 16 digits). */
const HEADER_ALLOWANCE = 400;

/**
 * Splits records, keeping their order, into runs bounded by count and by uncompressed line bytes.
 * A record that alone breaks `maxRawBytes` gets a run of its own (buildBatches reports it).
 */
export function planBatches(records: readonly BatchRecord[], limits: BatchLimits = {}): BatchRecord[][] {
  const maxRecords = Math.max(1, Math.floor(limits.maxRecords ?? 5000));
  const maxRaw = Math.max(1, limits.maxRawBytes ?? 4 * 1024 * 1024);
  const runs: BatchRecord[][] = [];
  let run: BatchRecord[] = [];
  let bytes = HEADER_ALLOWANCE;
  for (const r of records) {
    const size = Buffer.byteLength(JSON.stringify(r), 'utf8') + 1;
    if (run.length > 0 && (run.length >= maxRecords || bytes + size > maxRaw)) {
      runs.push(run);
      run = [];
      bytes = HEADER_ALLOWANCE;
    }
    run.push(r);
    bytes += size;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

export interface EncodedBatch {
  header: BatchHeader;
  payload: Buffer;
  /** Bytes of the JSON lines before compression (the compression ratio is rawBytes / payload.length). */
  rawBytes: number;
  /** batchDigest of the JSON lines: what HQ's ingest acknowledgement names. */
  digest: string;
}

export interface BuildBatchesOptions extends BatchLimits, EncodeOptions {
  storeId: string;
  /** ISO time the caller stamps (pure: no clock here). */
  createdAt: string;
  /** Batch id from its seq range; default `{storeId}:{seqFrom}-{seqTo}`, so a re-sent batch keeps its id. */
  batchId?: (seqFrom: number, seqTo: number) => string;
}

export interface BuiltBatches {
  batches: EncodedBatch[];
  /** Records that alone break `maxBytes` or `maxRawBytes` once compressed/encoded: never sent, for the caller to report. */
  oversize: BatchRecord[];
}

/**
 * Splits records (order kept) into encoded batches that respect every limit: planned by count and
 * raw bytes, then any batch whose compressed payload is over `maxBytes` is halved until it fits.
 * Compression runs off the event loop (compressAsync).
 */
export async function buildBatches(records: readonly BatchRecord[], opts: BuildBatchesOptions): Promise<BuiltBatches> {
  const maxBytes = Math.max(1, opts.maxBytes ?? 256 * 1024);
  const maxRaw = Math.max(1, opts.maxRawBytes ?? 4 * 1024 * 1024);
  const idOf = opts.batchId ?? ((from: number, to: number) => `${opts.storeId}:${from}-${to}`);
  const out: BuiltBatches = { batches: [], oversize: [] };

  const emit = async (run: readonly BatchRecord[]): Promise<void> => {
    const { seqFrom, seqTo } = seqRangeOf(run);
    const header = makeHeader(idOf(seqFrom, seqTo), opts.storeId, run, opts.createdAt);
    const text = Buffer.from(batchText(header, run), 'utf8');
    const payload = text.length <= maxRaw ? await compressAsync(text, opts) : null;
    if (payload && payload.length <= maxBytes) {
      out.batches.push({ header, payload, rawBytes: text.length, digest: batchDigest(text) });
    } else if (run.length === 1) {
      out.oversize.push(run[0]);
    } else {
      const mid = Math.ceil(run.length / 2);
      await emit(run.slice(0, mid));
      await emit(run.slice(mid));
    }
  };
  for (const run of planBatches(records, opts)) await emit(run);
  return out;
}

function clampInt(n: number, lo: number, hi: number): number {
  return Number.isFinite(n) ? Math.min(hi, Math.max(lo, Math.round(n))) : lo;
}
