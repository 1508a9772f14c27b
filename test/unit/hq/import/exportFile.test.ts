/**
 * The export file splitter: batches found byte for byte whatever the read chunks, a damaged
 * stretch reported with its line and skipped to the next header, a batch cut short reported; and
 * a seeded property: any garbage between good batches never costs a good batch, never throws.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchText, decodeBatchText, makeHeader, type BatchRecord } from '../../../../gateway/protocol/envelopes.js';
import { splitExport, type ExportChunk } from '../../../../hq/import/exportFile.js';

const rec = (seq: number): BatchRecord => ({ seq, class: 'exact', kind: 'scanner', deviceId: 'scan-1', type: 'scan', ts: '2026-12-05T10:00:00.000Z', data: { code: `c${seq}`, note: 'ä€' } });
function batch(from: number, n: number): string {
  const records = Array.from({ length: n }, (_, i) => rec(from + i));
  return batchText(makeHeader(`b-${from}`, 'store-1', records, '2026-12-05T10:00:00.000Z'), records);
}

async function split(text: string | Buffer, cuts: number[] = []): Promise<ExportChunk[]> {
  const buf = Buffer.from(text);
  const at = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let prev = 0;
  for (const c of at) {
    parts.push(buf.subarray(prev, c));
    prev = c;
  }
  parts.push(buf.subarray(prev));
  const out: ExportChunk[] = [];
  for await (const c of splitExport((async function* () { yield* parts; })())) out.push(c);
  return out;
}

describe('splitExport', () => {
  it('finds each batch with its header line, bytes exactly as in the file, across any chunking', async () => {
    const text = batch(1, 3) + batch(4, 1) + batch(5, 2);
    for (const cuts of [[], [1], [7, 100, 101, 102], Array.from({ length: 50 }, (_, i) => i * 13)]) {
      const chunks = await split(text, cuts);
      expect(chunks.map((c) => c.kind === 'batch' && c.line)).toEqual([1, 5, 7]);
      expect(Buffer.concat(chunks.map((c) => (c.kind === 'batch' ? c.text : Buffer.alloc(0)))).toString('utf8')).toBe(text);
    }
  });

  it('reports a damaged stretch by its first line and picks up at the next header', async () => {
    const chunks = await split('junk\n{"a":1}\n' + batch(1, 2));
    expect(chunks[0]).toMatchObject({ kind: 'garbage', line: 1, lines: 2, code: 'SGW_ERR_BATCH_JSON' });
    expect(chunks[1]).toMatchObject({ kind: 'batch', line: 3 });
  });

  it('ends a batch cut short at the next header and reports the count', async () => {
    const short = batch(1, 3).split('\n').slice(0, 3).join('\n') + '\n'; // header + 2 of 3 records
    const chunks = await split(short + batch(10, 1));
    expect(chunks[0]).toMatchObject({ kind: 'garbage', line: 1, code: 'SGW_ERR_BATCH_COUNT', batchId: 'b-1', storeId: 'store-1' });
    expect(chunks[1]).toMatchObject({ kind: 'batch', line: 4 });
    const end = await split(short);
    expect(end).toEqual([expect.objectContaining({ kind: 'garbage', code: 'SGW_ERR_BATCH_COUNT', reason: 'header.records: says 3, the file ends after 2' })]);
  });

  it('takes a last line without its newline', async () => {
    const chunks = await split(batch(1, 1).trimEnd());
    expect(chunks).toHaveLength(1);
    expect(chunks[0].kind === 'batch' && decodeBatchText(chunks[0].text).ok).toBe(true);
  });

  it('property: garbage between good batches never loses a good batch and never throws', async () => {
    const junkLine = fc.oneof(fc.string({ maxLength: 30 }).map((s) => s.replace(/\n/g, ' ')), fc.constantFrom('{}', '[]', 'null', '{"batchId":1}', '{"records":-1,"batchId":"x"}', '\uFFFD', '{"batchId":"x","records":"2"}'));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.array(junkLine, { maxLength: 3 })), { minLength: 1, maxLength: 6 }), fc.array(fc.nat(5000), { maxLength: 8 }), async (plan, cuts) => {
        let text = '';
        const want: string[] = [];
        let seq = 1;
        for (const [n, junk] of plan) {
          for (const j of junk) text += j + '\n';
          const b = batch(seq, n);
          seq += n + 1;
          want.push(b);
          text += b;
        }
        const chunks = await split(text, cuts);
        const got = chunks.filter((c) => c.kind === 'batch' && decodeBatchText(c.text).ok).map((c) => (c as { text: Buffer }).text.toString('utf8'));
        expect(got).toEqual(want);
        for (const c of chunks) expect(c.line).toBeGreaterThanOrEqual(1);
      }),
      { seed: 20_2612, numRuns: 200 },
    );
  });
});
