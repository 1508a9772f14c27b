import { describe, expect, it } from 'vitest';
import { brotliCompressSync, gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import {
  buildBatches,
  decodeBatch,
  encodeBatch,
  isGzip,
  makeHeader,
  planBatches,
  toBatchRecord,
  type BatchRecord,
} from '../../../../gateway/protocol/envelopes.js';

const CREATED = '2026-11-25T09:05:00.000Z';

function record(seq: number, extra: Partial<BatchRecord> = {}): BatchRecord {
  return {
    seq,
    class: 'exact',
    kind: 'payment',
    deviceId: 'pay-1',
    type: 'result',
    ts: '2026-11-25T09:00:00.000Z',
    recvTs: 1_795_000_000_000 + seq,
    bootId: 'boot-1',
    monoMs: seq * 10,
    data: { ts: '2026-11-25T09:00:00.000Z', requestId: `r${seq}`, status: 'approved', amount: 100 + seq, note: 'ünïcødé €' },
    ...extra,
  };
}
const records = (from: number, n: number) => Array.from({ length: n }, (_, i) => record(from + i));

describe('encodeBatch / decodeBatch', () => {
  for (const compression of ['gzip', 'brotli'] as const) {
    it(`round-trips header and records through ${compression}`, () => {
      const rs = [...records(10, 3), record(20, { class: 'aggregate', kind: 'footfall', deviceId: 'door-1', type: 'count', seqFrom: 14, data: { in: 3, out: 1 } })];
      const header = makeHeader('b-1', 'demo-store', rs, CREATED);
      expect(header).toEqual({ batchId: 'b-1', storeId: 'demo-store', seqFrom: 10, seqTo: 20, records: 4, createdAt: CREATED });
      const buf = encodeBatch(header, rs, { compression });
      expect(isGzip(buf)).toBe(compression === 'gzip');
      const d = decodeBatch(buf);
      expect(d).toMatchObject({ ok: true, compression, header, records: rs });
    });
  }

  it('writes JSON lines: header first, one record a line, newline-terminated', () => {
    const rs = records(1, 2);
    const text = gunzipSync(encodeBatch(makeHeader('b', 's', rs, CREATED), rs)).toString('utf8');
    const lines = text.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[3]).toBe('');
    expect(JSON.parse(lines[0])).toMatchObject({ batchId: 'b', records: 2 });
    expect(JSON.parse(lines[2]).seq).toBe(2);
  });

  it('an exact outbox row becomes a record with the contract fields plus recvTs/bootId/monoMs', () => {
    const r = toBatchRecord({ seq: 5, cls: 'exact', kind: 'scanner', deviceId: 'sc-1', type: 'scan', ts: 't', recvTs: 1, bootId: 'b', monoMs: 2, data: { code: '1' } });
    expect(Object.keys(r)).toEqual(['seq', 'class', 'kind', 'deviceId', 'type', 'ts', 'data', 'recvTs', 'bootId', 'monoMs']);
  });
});

describe('decodeBatch: bad input is a typed error, never a throw', () => {
  const gz = (s: string) => gzipSync(Buffer.from(s, 'utf8'));
  const okHeader = { batchId: 'b', storeId: 's', seqFrom: 1, seqTo: 1, records: 1, createdAt: CREATED };

  it.each([
    ['empty payload', 'SGW_ERR_BATCH_EMPTY', Buffer.alloc(0)],
    ['gzip magic, then garbage', 'SGW_ERR_BATCH_DECOMPRESS', Buffer.from([0x1f, 0x8b, 1, 2, 3, 4, 5])],
    ['neither gzip nor brotli', 'SGW_ERR_BATCH_DECOMPRESS', Buffer.from('{"plain":"json"}\n')],
    ['not UTF-8', 'SGW_ERR_BATCH_UTF8', gzipSync(Buffer.from([0xff, 0xfe, 0x0a]))],
    ['header not JSON', 'SGW_ERR_BATCH_JSON', gz('{oops\n')],
    ['header missing a field', 'SGW_ERR_BATCH_HEADER', gz(JSON.stringify({ ...okHeader, storeId: undefined }) + '\n' + JSON.stringify(record(1)) + '\n')],
    ['header seqFrom > seqTo', 'SGW_ERR_BATCH_HEADER', gz(JSON.stringify({ ...okHeader, seqFrom: 2 }) + '\n' + JSON.stringify(record(1)) + '\n')],
    ['count mismatch', 'SGW_ERR_BATCH_COUNT', gz(JSON.stringify({ ...okHeader, records: 2 }) + '\n' + JSON.stringify(record(1)) + '\n')],
    ['record not JSON', 'SGW_ERR_BATCH_JSON', gz(JSON.stringify(okHeader) + '\n{"seq":\n')],
    ['record with a bad class', 'SGW_ERR_BATCH_RECORD', gz(JSON.stringify(okHeader) + '\n' + JSON.stringify(record(1, { class: 'gossip' as never })) + '\n')],
    ['record seq outside the header range', 'SGW_ERR_BATCH_RECORD', gz(JSON.stringify(okHeader) + '\n' + JSON.stringify(record(7)) + '\n')],
    ['record seqFrom above seq', 'SGW_ERR_BATCH_RECORD', gz(JSON.stringify({ ...okHeader, seqFrom: 0 }) + '\n' + JSON.stringify(record(1, { seqFrom: 3 })) + '\n')],
    ['brotli that inflates to nothing', 'SGW_ERR_BATCH_HEADER', brotliCompressSync(Buffer.alloc(0))],
  ])('%s → %s', (_name, code, payload) => {
    const d = decodeBatch(payload);
    expect(d.ok).toBe(false);
    if (!d.ok) {
      expect(d.code).toBe(code);
      expect(d.reason.length).toBeGreaterThan(5);
    }
  });

  it('names the line and field of a bad record', () => {
    const h = { ...okHeader, seqTo: 2, records: 2 };
    const d = decodeBatch(gz(JSON.stringify(h) + '\n' + JSON.stringify(record(1)) + '\n' + JSON.stringify({ ...record(2), deviceId: undefined }) + '\n'));
    expect(d).toMatchObject({ ok: false, code: 'SGW_ERR_BATCH_RECORD', line: 3 });
    if (!d.ok) expect(d.reason).toContain('records[1].deviceId');
  });

  it('refuses to inflate a bomb beyond the limit', () => {
    const bomb = gzipSync(Buffer.alloc(2_000_000, 0x20));
    expect(bomb.length).toBeLessThan(10_000);
    expect(decodeBatch(bomb, { maxUncompressedBytes: 1_000_000 })).toMatchObject({ ok: false, code: 'SGW_ERR_BATCH_TOO_LARGE' });
  });

  it('property: any bytes decode to a result without throwing', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, asGzip) => {
        const payload = asGzip ? gzipSync(bytes) : Buffer.from(bytes);
        const d = decodeBatch(payload);
        expect(typeof d.ok).toBe('boolean');
      }),
      { numRuns: 300 },
    );
  });
});

describe('planBatches / buildBatches', () => {
  it('planBatches bounds count and raw bytes and keeps order', () => {
    const rs = records(1, 25);
    const runs = planBatches(rs, { maxRecords: 10 });
    expect(runs.map((r) => r.length)).toEqual([10, 10, 5]);
    expect(runs.flat()).toEqual(rs);
    const line = Buffer.byteLength(JSON.stringify(rs[0])) + 1;
    const byBytes = planBatches(rs, { maxRawBytes: 400 + line * 3 + 5 });
    expect(byBytes.every((r) => r.length <= 3)).toBe(true);
    expect(byBytes.flat()).toEqual(rs);
  });

  it('property: every batch respects every limit, order and records are kept, headers are consistent', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ maxLength: 400 }), { maxLength: 60 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1_000, max: 20_000 }),
        fc.integer({ min: 200, max: 4_000 }),
        fc.constantFrom('gzip' as const, 'brotli' as const),
        async (notes, maxRecords, maxRawBytes, maxBytes, compression) => {
          const rs = notes.map((note, i) => record(i * 2 + 1, { data: { note } }));
          const { batches, oversize } = await buildBatches(rs, { storeId: 'demo-store', createdAt: CREATED, maxRecords, maxRawBytes, maxBytes, compression });
          const sent: BatchRecord[] = [];
          for (const b of batches) {
            expect(b.payload.length).toBeLessThanOrEqual(maxBytes);
            expect(b.rawBytes).toBeLessThanOrEqual(maxRawBytes);
            expect(b.header.records).toBeLessThanOrEqual(maxRecords);
            const d = decodeBatch(b.payload);
            expect(d.ok).toBe(true);
            if (d.ok) {
              expect(d.header).toEqual(b.header);
              expect(d.header.batchId).toBe(`demo-store:${d.header.seqFrom}-${d.header.seqTo}`);
              expect(d.rawBytes).toBe(b.rawBytes);
              sent.push(...d.records);
            }
          }
          // Nothing lost or reordered: what was sent plus what was too big is the input, in order.
          const oversizeSeqs = new Set(oversize.map((r) => r.seq));
          expect(sent).toEqual(rs.filter((r) => !oversizeSeqs.has(r.seq)));
          for (const r of oversize) {
            const one = encodeBatch(makeHeader(`demo-store:${r.seq}-${r.seq}`, 'demo-store', [r], CREATED), [r], { compression });
            const raw = Buffer.byteLength(JSON.stringify(makeHeader(`demo-store:${r.seq}-${r.seq}`, 'demo-store', [r], CREATED)) + '\n' + JSON.stringify(r) + '\n');
            expect(one.length > maxBytes || raw > maxRawBytes).toBe(true);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('halves a batch whose compressed size is over the limit (incompressible data)', async () => {
    let x = 12345;
    const noise = () => Array.from({ length: 300 }, () => ((x = (x * 1103515245 + 12345) & 0x7fffffff) % 36).toString(36)).join('');
    const rs = Array.from({ length: 40 }, (_, i) => record(i + 1, { data: { noise: noise() } }));
    const { batches, oversize } = await buildBatches(rs, { storeId: 's', createdAt: CREATED, maxBytes: 2_000 });
    expect(oversize).toEqual([]);
    expect(planBatches(rs)).toHaveLength(1); // by raw size one batch would do: only halving splits it
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.every((b) => b.payload.length <= 2_000)).toBe(true);
    expect(batches.flatMap((b) => (decodeBatch(b.payload) as { records: BatchRecord[] }).records.map((r) => r.seq))).toEqual(rs.map((r) => r.seq));
  });

  it('compresses typical records well (gzip and brotli), like the synchronous compress', async () => {
    const rs = records(1, 2000);
    for (const compression of ['gzip', 'brotli'] as const) {
      const { batches } = await buildBatches(rs, { storeId: 's', createdAt: CREATED, compression, maxBytes: 1 << 20 });
      expect(batches).toHaveLength(1);
      expect(batches[0].payload).toEqual(encodeBatch(batches[0].header, rs, { compression }));
      expect(batches[0].rawBytes / batches[0].payload.length).toBeGreaterThan(6.5);
    }
  });
});
