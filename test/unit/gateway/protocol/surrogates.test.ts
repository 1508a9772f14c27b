import { describe, expect, it } from 'vitest';
import { checkEvent, unpairedSurrogateAt } from '../../../../gateway/protocol/validate.js';

describe('device text must be Unicode: an unpaired surrogate is refused naming the field', () => {
  it('finds the path of the first unpaired surrogate, in values and keys', () => {
    expect(unpairedSurrogateAt({ a: 'ok 😀', b: ['x', { c: 'bad \ud800' }] }, 'data')).toBe('data.b[1].c');
    expect(unpairedSurrogateAt({ a: '\udfff' }, 'data')).toBe('data.a');
    expect(unpairedSurrogateAt({ ['k\udc00']: 1 }, 'data')).toBe('data.k\ufffd');
    expect(unpairedSurrogateAt({ a: '\ud83d\ude00', b: '$&' }, 'data')).toBeNull();
  });

  it('checkEvent refuses it with SGW_ERR_SCHEMA and the field, and passes a paired one', () => {
    const bad = checkEvent('scanner', 'scan', JSON.stringify({ ts: '2026-12-05T10:00:00Z', code: 'x\ud800y' }));
    expect(bad).toEqual({ ok: false, code: 'SGW_ERR_SCHEMA', reason: 'data.code: must be Unicode text (holds an unpaired UTF-16 surrogate)' });
    const good = checkEvent('scanner', 'scan', JSON.stringify({ ts: '2026-12-05T10:00:00Z', code: 'x\ud83d\ude00y' }));
    expect(good.ok).toBe(true);
  });
});
