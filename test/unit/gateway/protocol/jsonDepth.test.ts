import { describe, expect, it } from 'vitest';
import { MAX_EVENT_DEPTH, deeperThan } from '../../../../gateway/protocol/jsonDepth.js';
import { checkEvent } from '../../../../gateway/protocol/validate.js';

describe('deeperThan', () => {
  it('is null within bounds and names the first too-deep value', () => {
    expect(deeperThan({ a: [{ b: 1 }] }, 3)).toBeNull();
    expect(deeperThan({ a: [{ b: [1] }] }, 3)).toBe('data.a[0].b');
    expect(deeperThan([[[]]], 2, 'x')).toBe('x[0][0]');
  });

  it('walks 100,000 levels without recursion', () => {
    const text = '{"deep":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}';
    expect(deeperThan(JSON.parse(text), MAX_EVENT_DEPTH)).toMatch(/^data\.deep(\[0\])+…?$/);
  });

  it('checkEvent refuses a deep payload naming the field (it would break every export after its PUBACK)', () => {
    const r = checkEvent('footfall', 'count', `{"ts":"2026-12-05T10:00:00Z","in":1,"out":0,"x":${'['.repeat(5000)}${']'.repeat(5000)}}`);
    expect(r).toMatchObject({ ok: false, code: 'SGW_ERR_SCHEMA', reason: expect.stringMatching(/^data\.x(\[0\])+…?: is nested deeper than 32 levels$/) });
  });
});
