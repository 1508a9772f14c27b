/**
 * The produce lookup's order and list (pure): weighed items only, most-sold first then by name,
 * sorted again only when the catalog's items or the sales counts change; at most `max` items,
 * and only those priced; an item without a price is left out.
 */
import { describe, expect, it } from 'vitest';
import { buildCatalog } from '../../../../gateway/prices/catalog.js';
import { ProduceOrder, SoldCounts } from '../../../../gateway/kiosk/produceRanking.js';
import { produceList } from '../../../../gateway/kiosk/cartView.js';

const item = (gtin: string, name: string, unit: 'kg' | 'each', fields?: Record<string, string>) => ({ scope: 'store' as const, item: { gtin, name, unit, ...(fields ? { fields } : {}) } });
const cat = buildCatalog({
  items: [item('20000001', 'Carrots', 'kg', { plu: '4562', name_zh: '胡萝卜' }), item('20000002', 'Bananas', 'kg'), item('20000003', 'Apples', 'kg'), item('40000001', 'Milk', 'each'), item('20000004', 'Dragon fruit', 'kg')],
  prices: [],
  promotions: [],
  members: [],
  bindings: [],
});
const prices: Record<string, number> = { '20000001': 129, '20000002': 199, '20000003': 299, '40000001': 99 };

describe('produce order', () => {
  it('weighed items by name until something sells; then the most-sold first; re-sorted only on a change', () => {
    const sold = new SoldCounts();
    const order = new ProduceOrder(sold);
    const first = order.of(cat);
    expect(first).toEqual(['20000003', '20000002', '20000001', '20000004']);
    expect(order.of(cat)).toBe(first); // cached: same catalog, same counts
    sold.add([{ gtin: '20000001' }, { gtin: '20000001' }, { gtin: '20000002' }]);
    expect(order.of(cat)).toEqual(['20000001', '20000002', '20000003', '20000004']);
    sold.seed(new Map([['20000004', 5]]));
    expect(order.of(cat)[0]).toBe('20000004');
  });

  it('the list: priced items in that order, PLU and Chinese name from the label fields, at most max, no price no item', () => {
    const priced: string[] = [];
    const priceOf = (g: string) => (priced.push(g), prices[g] ?? null);
    const order = new ProduceOrder(new SoldCounts()).of(cat);
    expect(produceList(cat, priceOf, order)).toEqual([
      { gtin: '20000003', name: 'Apples', price: 299, image: '/kiosk-images/20000003' },
      { gtin: '20000002', name: 'Bananas', price: 199, image: '/kiosk-images/20000002' },
      { gtin: '20000001', name: 'Carrots', price: 129, image: '/kiosk-images/20000001', plu: '4562', nameZh: '胡萝卜' },
    ]);
    priced.length = 0;
    expect(produceList(cat, priceOf, order, 2).map((p) => p.name)).toEqual(['Apples', 'Bananas']);
    expect(priced).toEqual(['20000003', '20000002']);
  });
});
