/**
 * The ingest's pure checks: a batch's store and range (seeded: any header against any records),
 * data depth, what jsonb cannot hold, the per-store log limit, and secrets kept out of logs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeHeader, seqRangeOf, type BatchRecord } from '../../../../gateway/protocol/envelopes.js';
import { checkBatch, checkTopicStore, depthOver } from '../../../../hq/ingest/batchCheck.js';
import { jsonbCanHold, storable } from '../../../../hq/ingest/batchStore.js';
import { hasPassword, redactUrl } from '../../../../hq/ingest/config.js';
import { LogLimit } from '../../../../hq/ingest/logLimit.js';

const rec = (seq: number, seqFrom?: number, data: Record<string, unknown> = {}): BatchRecord =>
  ({ seq, ...(seqFrom !== undefined ? { seqFrom } : {}), class: 'exact', kind: 'scanner', deviceId: 'd', type: 't', ts: 'x', data }) as BatchRecord;

describe('checkBatch', () => {
  it('takes a header exactly as the gateway builds it, and refuses any other range (seeded)', () => {
    const records = fc.array(fc.record({ seq: fc.nat(1e6), back: fc.nat(50) }), { minLength: 1, maxLength: 8 }).map((rs) => rs.map((r) => rec(r.seq, r.back > 25 ? Math.max(0, r.seq - r.back) : undefined)));
    fc.assert(
      fc.property(records, fc.nat(1e6), fc.nat(1e6), (rs, a, b) => {
        const good = makeHeader('s-1:b', 's-1', rs, 'x');
        expect(checkBatch('s-1', good, rs, 32)).toBeNull();
        const lie = { ...good, seqFrom: Math.min(a, b), seqTo: Math.max(a, b) };
        const r = seqRangeOf(rs);
        const refusal = checkBatch('s-1', lie, rs, 32);
        if (lie.seqFrom === r.seqFrom && lie.seqTo === r.seqTo) expect(refusal).toBeNull();
        else expect(refusal).toMatchObject({ code: 'SGW_ERR_BATCH_HEADER', reason: expect.stringMatching(/^header\.seqFrom\.\.seqTo: says /) });
      }),
      { seed: 2020, numRuns: 200 },
    );
  });

  it('refuses another store in the header and a topic store id that is not an id', () => {
    const rs = [rec(1)];
    expect(checkBatch('s-1', makeHeader('b', 's-2', rs, 'x'), rs, 32)).toMatchObject({ code: 'SGW_ERR_BATCH_STORE', reason: 'header.storeId: "s-2" is not the topic\'s store "s-1"' });
    expect(checkTopicStore('s-1')).toBeNull();
    for (const bad of ['', 'a b', '-x', 'x'.repeat(65), 'a\u0000']) expect(checkTopicStore(bad)).toMatchObject({ code: 'SGW_ERR_BATCH_STORE' });
  });

  it('measures depth without recursion, and names the record too deep', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = { a: deep };
    expect(depthOver(deep, 32)).toBe(true);
    expect(depthOver({ a: [{ b: 1 }] }, 3)).toBe(false);
    expect(depthOver({ a: [{ b: {} }] }, 3)).toBe(true);
    const rs = [rec(1), rec(2, undefined, { x: deep })];
    expect(checkBatch('s', makeHeader('b', 's', rs, 'x'), rs, 32)).toMatchObject({ code: 'SGW_ERR_BATCH_RECORD', reason: 'records[1].data: nests deeper than 32 levels', line: 3 });
  });
});

describe('what jsonb cannot hold', () => {
  it('finds U+0000 and lone surrogates in values and keys, not paired ones', () => {
    expect(jsonbCanHold({ a: ['ok', '😀', { b: 1 }] })).toBe(true);
    expect(jsonbCanHold({ a: ['x\u0000'] })).toBe(false);
    expect(jsonbCanHold({ a: '\ud83d' })).toBe(false);
    expect(jsonbCanHold({ ['k\udc00']: 1 })).toBe(false);
    expect(storable('a\u0000b\ud800c😀')).toBe('a\uFFFDb\uFFFDc😀');
  });
});

describe('LogLimit', () => {
  it('lets a burst through per key, then reports what it dropped when the window rolls', () => {
    let t = 0;
    const l = new LogLimit(() => t, 3, 1000, 2);
    expect([1, 2, 3, 4, 5].map(() => l.take('a'))).toEqual([0, 0, 0, -1, -1]);
    expect(l.take('b')).toBe(0);
    t = 1000;
    expect(l.take('a')).toBe(2);
    // Bounded keys: a third key pushes out the oldest.
    l.take('c');
    expect(l.take('b')).toBe(0);
  });
});

describe('secrets in config and logs', () => {
  it('sees passwords in URLs and keyword strings, and redacts them', () => {
    expect(hasPassword('postgres://hq:pw@db/hq')).toBe(true);
    expect(hasPassword('postgres://hq@db/hq?password=pw')).toBe(true);
    expect(hasPassword('host=db user=hq password=pw')).toBe(true);
    expect(hasPassword('postgres://hq@db/hq')).toBe(false);
    expect(hasPassword('mqtts://u:p@broker:8883')).toBe(true);
    expect(redactUrl('mqtts://u:p@broker:8883')).toBe('mqtts://u:***@broker:8883');
    expect(redactUrl('mqtt://broker:1883')).toBe('mqtt://broker:1883');
  });
});
