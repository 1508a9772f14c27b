/**
 * The demo store's catalog names and pictures: every item of the 2,000 has a distinct real-looking
 * name (no "Item 101"), the produce is weighed and has a PLU and a Chinese name, and each produce
 * picture is a well-formed SVG drawn in code.
 */
import { describe, expect, it } from 'vitest';
import { Value } from '@sinclair/typebox/value';
import { DEMO_NAMED, DEMO_PRODUCE, demoItemName, nameDemoCatalog } from '../../sim/demoCatalog.js';
import { storeFeeds } from '../../sim/hqFeeds.js';
import { CatalogItem, PriceRow } from '../../../gateway/protocol/schemas/feeds/priceFeeds.js';
import { produceSvg } from '../../sim/demoPictures.js';

describe('demo catalog', () => {
  it('2,000 distinct names, none of them "Item n"; produce first, weighed, with PLU and Chinese name', () => {
    const names = Array.from({ length: 2000 - 5 }, (_, i) => demoItemName(i + 5, 5));
    expect(new Set(names.map((n) => n.name)).size).toBe(names.length);
    expect(names.filter((n) => /^Item \d/.test(n.name))).toEqual([]);
    const produce = names.filter((n) => n.unit === 'kg');
    expect(produce.map((n) => n.name)).toEqual(DEMO_PRODUCE.map((p) => p.name));
    for (const p of DEMO_PRODUCE) {
      expect(p.plu).toMatch(/^[34][0-9]{3}$/);
      expect(p.zh).toMatch(/^[\u4e00-\u9fff]+$/);
    }
    expect(new Set(DEMO_PRODUCE.map((p) => p.plu)).size).toBe(DEMO_PRODUCE.length);
  });

  it('a picture per produce item: an SVG in its colour', () => {
    for (const p of DEMO_PRODUCE) {
      const svg = produceSvg(p);
      expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"[^>]*>.*<\/svg>$/);
      expect(svg).toContain(`fill="${p.colour}"`);
    }
  });
});

describe('the demo\'s signed catalog', () => {
  it('every item and price row the demo HQ signs passes the gateway\'s feed schemas', () => {
    const store = storeFeeds(2000, 2);
    const { pictures } = nameDemoCatalog(store);
    const bad = store.catalog.items.filter((it) => !Value.Check(CatalogItem, it)).map((it) => [...Value.Errors(CatalogItem, it)][0]?.message);
    expect(bad).toEqual([]);
    expect(store.prices.prices.filter((p) => !Value.Check(PriceRow, p))).toEqual([]);
    expect(store.catalog.items.slice(0, 5).map((it) => it.name)).toEqual([...DEMO_NAMED]);
    expect(store.catalog.items.filter((it) => it.unit === 'kg')).toHaveLength(DEMO_PRODUCE.length + 1);
    expect(pictures).toHaveLength(DEMO_PRODUCE.length + 1);
    expect(store.catalog.items.filter((it) => /^Item \d/.test(it.name))).toEqual([]);
  });
});
