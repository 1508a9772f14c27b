import { describe, expect, it } from 'vitest';
import { utf8Prefix } from '../../../../gateway/ingest/ingest.js';

describe('utf8Prefix: the dead letter payload prefix keeps whole characters', () => {
  it('keeps a payload within the bound as it is', () => {
    expect(utf8Prefix(Buffer.from('a$&😀'), 64)).toBe('a$&😀');
  });
  it.each([
    ['a 2-byte character', 'é', 2],
    ['a 3-byte character', '€', 3],
    ['a 4-byte character', '😀', 4],
  ])('cuts before %s that straddles the bound', (_what, ch, bytes) => {
    for (let inside = 1; inside < bytes; inside++) {
      const s = 'x'.repeat(10 - inside) + ch + 'tail';
      expect(utf8Prefix(Buffer.from(s), 10)).toBe('x'.repeat(10 - inside));
    }
  });
  it('keeps a character that ends exactly at the bound', () => {
    expect(utf8Prefix(Buffer.from('xxxxxx😀tail'), 10)).toBe('xxxxxx😀');
  });
});
