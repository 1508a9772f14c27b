/**
 * Splits an `outbox export --batches` file into its batches (gateway/protocol/README.md §Outbox
 * export): a header line `{"batchId","storeId","seqFrom","seqTo","records","createdAt"}`, then
 * `records` record lines, then the next header, with no separator. Pure over byte chunks, so a
 * file of any size streams through in constant memory (one batch at a time).
 *
 * The bytes of each batch are kept exactly as in the file (lines split on `\n` only, never
 * re-encoded): the ingest acknowledgement's digest is the SHA-256 of exactly these bytes, and the
 * gateway deletes its rows only for an ack whose digest matches the one it registered.
 *
 * A header that cannot be read says nothing about where its batch ends: the splitter reports it
 * and skips to the next line that looks like a header (a JSON object with a `batchId` string and
 * a `records` integer), so one damaged batch does not lose the rest of the file.
 */

export type ExportChunk =
  /** One batch's bytes (header line and record lines, each with its `\n`); `line` is its header's line. */
  | { kind: 'batch'; line: number; text: Buffer }
  /** Lines that are no batch; `line` is the first of them. */
  | { kind: 'garbage'; line: number; lines: number; code: 'SGW_ERR_BATCH_JSON' | 'SGW_ERR_BATCH_HEADER' | 'SGW_ERR_BATCH_COUNT'; reason: string; batchId?: string; storeId?: string };

const NL = 0x0a;
const HEADER_START = Buffer.from('{"batchId":');

/** The record count a header line declares, if the line looks like a header. */
function headerOf(line: Buffer): { records: number; batchId: string; storeId?: string } | { error: string; json: boolean } {
  let v: unknown;
  try {
    v = JSON.parse(line.toString('utf8'));
  } catch (err) {
    return { error: `is not valid JSON (${(err as Error).message})`, json: false };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { error: 'must be a JSON object', json: true };
  const h = v as Record<string, unknown>;
  if (typeof h.batchId !== 'string') return { error: 'header.batchId: must be a string (a batch header was expected here)', json: true };
  if (!Number.isSafeInteger(h.records) || (h.records as number) < 0) return { error: 'header.records: must be an integer ≥ 0', json: true };
  return { records: h.records as number, batchId: h.batchId, ...(typeof h.storeId === 'string' ? { storeId: h.storeId } : {}) };
}

/** Yields the file's batches and its unreadable stretches, in file order. */
export async function* splitExport(input: AsyncIterable<Buffer | string>): AsyncGenerator<ExportChunk> {
  let lineNo = 0;
  let rest: Buffer = Buffer.alloc(0);
  // The batch being collected: its header line number, declared count, lines so far.
  let cur: { line: number; want: number; parts: Buffer[]; batchId: string; storeId?: string } | undefined;
  let garbage: { line: number; lines: number; code: 'SGW_ERR_BATCH_JSON' | 'SGW_ERR_BATCH_HEADER'; reason: string } | undefined;

  function* take(line: Buffer): Generator<ExportChunk> {
    lineNo++;
    // A header inside a batch's records: the batch was cut short (lines lost); end it there, so
    // the batches after it still line up. Headers are written with batchId first; records never have one.
    if (cur && line.subarray(0, HEADER_START.length).equals(HEADER_START) && !('error' in headerOf(line))) {
      const got = cur.parts.length / 2 - 1;
      yield { kind: 'garbage', line: cur.line, lines: got + 1, code: 'SGW_ERR_BATCH_COUNT', reason: `header.records: says ${cur.want}, the next header comes after ${got}`, batchId: cur.batchId, ...(cur.storeId !== undefined ? { storeId: cur.storeId } : {}) };
      cur = undefined;
    }
    if (cur) {
      cur.parts.push(line, Buffer.from('\n'));
      if (cur.parts.length / 2 === cur.want + 1) {
        yield { kind: 'batch', line: cur.line, text: Buffer.concat(cur.parts) };
        cur = undefined;
      }
      return;
    }
    const h = headerOf(line);
    if ('error' in h) {
      if (garbage) garbage.lines++;
      else garbage = { line: lineNo, lines: 1, code: h.json ? 'SGW_ERR_BATCH_HEADER' : 'SGW_ERR_BATCH_JSON', reason: `header: ${h.error}` };
      return;
    }
    if (garbage) {
      yield { kind: 'garbage', ...garbage };
      garbage = undefined;
    }
    cur = { line: lineNo, want: h.records, parts: [line, Buffer.from('\n')], batchId: h.batchId, ...(h.storeId !== undefined ? { storeId: h.storeId } : {}) };
    if (h.records === 0) {
      yield { kind: 'batch', line: cur.line, text: Buffer.concat(cur.parts) };
      cur = undefined;
    }
  }

  for await (const chunk of input) {
    let buf = rest.length > 0 ? Buffer.concat([rest, Buffer.from(chunk)]) : Buffer.from(chunk);
    for (let nl = buf.indexOf(NL); nl >= 0; nl = buf.indexOf(NL)) {
      yield* take(buf.subarray(0, nl));
      buf = buf.subarray(nl + 1);
    }
    rest = Buffer.from(buf);
  }
  // A last line without its newline still counts (an editor may have dropped it).
  if (rest.length > 0) yield* take(rest);
  if (garbage) yield { kind: 'garbage', ...garbage };
  if (cur) {
    const got = cur.parts.length / 2 - 1;
    yield { kind: 'garbage', line: cur.line, lines: got + 1, code: 'SGW_ERR_BATCH_COUNT', reason: `header.records: says ${cur.want}, the file ends after ${got}`, batchId: cur.batchId, ...(cur.storeId !== undefined ? { storeId: cur.storeId } : {}) };
  }
}
