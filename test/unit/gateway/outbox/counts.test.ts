import { describe, expect, it } from 'vitest';
import { OutboxCounts } from '../../../../gateway/outbox/counts.js';

describe('OutboxCounts', () => {
  it('moves per class, drops a class that reaches zero, totals', () => {
    const c = new OutboxCounts();
    c.reset([{ cls: 'exact', n: 3 }, { cls: 'sampled', n: 0 }]);
    expect(c.snapshot()).toEqual({ exact: 3 });
    c.addEach(['sampled', 'sampled', 'exact'], 1);
    c.add('exact', -4);
    expect(c.snapshot()).toEqual({ sampled: 2 });
    expect(c.total).toBe(2);
  });
});
