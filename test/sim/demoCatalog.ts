/**
 * The demo store's catalog names, so a newcomer sees a grocery store and not "Item 101": loose
 * fruit and vegetables sold by weight (with four-digit PLU codes in the IFPS produce range and
 * Chinese names, the kiosk's produce lookup shows both), then bakery, drinks, dairy, pantry and
 * household products in a few pack sizes and fictional brands. Pure: the same list for every run.
 */
import type { StoreFeeds } from './hqFeeds.js';

export interface DemoProduce {
  name: string;
  zh: string;
  plu: string;
  /** Price per kg in cents. */
  perKg: number;
  /** How its generated picture looks (demoPictures.ts). */
  shape: 'round' | 'long' | 'bunch' | 'leafy';
  colour: string;
}

export const DEMO_PRODUCE: readonly DemoProduce[] = [
  { name: 'Bananas', zh: '香蕉', plu: '4011', perKg: 199, shape: 'long', colour: '#f2c200' },
  { name: 'Apples Gala', zh: '嘎啦苹果', plu: '4133', perKg: 279, shape: 'round', colour: '#c8321e' },
  { name: 'Apples Granny Smith', zh: '青苹果', plu: '4139', perKg: 299, shape: 'round', colour: '#6cbf3a' },
  { name: 'Oranges', zh: '橙子', plu: '4012', perKg: 249, shape: 'round', colour: '#f28c00' },
  { name: 'Lemons', zh: '柠檬', plu: '4053', perKg: 349, shape: 'round', colour: '#f5d90a' },
  { name: 'Limes', zh: '青柠', plu: '4048', perKg: 499, shape: 'round', colour: '#4fa81c' },
  { name: 'Pears', zh: '梨', plu: '4409', perKg: 299, shape: 'round', colour: '#b5c934' },
  { name: 'Kiwis', zh: '猕猴桃', plu: '4030', perKg: 449, shape: 'round', colour: '#7a5a2c' },
  { name: 'Grapes, red', zh: '红葡萄', plu: '4023', perKg: 599, shape: 'bunch', colour: '#7b1f4b' },
  { name: 'Grapes, green', zh: '青葡萄', plu: '4022', perKg: 599, shape: 'bunch', colour: '#9ccc3c' },
  { name: 'Peaches', zh: '桃子', plu: '4038', perKg: 499, shape: 'round', colour: '#f59a6b' },
  { name: 'Plums', zh: '李子', plu: '4040', perKg: 399, shape: 'round', colour: '#5b2a6e' },
  { name: 'Mangoes', zh: '芒果', plu: '4051', perKg: 599, shape: 'round', colour: '#f2a516' },
  { name: 'Avocados', zh: '牛油果', plu: '4046', perKg: 799, shape: 'round', colour: '#3d5a1e' },
  { name: 'Pineapples', zh: '菠萝', plu: '4430', perKg: 299, shape: 'long', colour: '#d9a21b' },
  { name: 'Watermelon', zh: '西瓜', plu: '4032', perKg: 129, shape: 'round', colour: '#2f8a3a' },
  { name: 'Tomatoes', zh: '西红柿', plu: '4664', perKg: 349, shape: 'round', colour: '#e0301e' },
  { name: 'Tomatoes, plum', zh: '圣女果', plu: '4087', perKg: 399, shape: 'round', colour: '#d4281a' },
  { name: 'Carrots', zh: '胡萝卜', plu: '4562', perKg: 129, shape: 'long', colour: '#f07c12' },
  { name: 'Potatoes', zh: '土豆', plu: '4072', perKg: 119, shape: 'round', colour: '#b88a4a' },
  { name: 'Sweet potatoes', zh: '红薯', plu: '4816', perKg: 299, shape: 'long', colour: '#b4523a' },
  { name: 'Onions', zh: '洋葱', plu: '4093', perKg: 149, shape: 'round', colour: '#c99a4b' },
  { name: 'Onions, red', zh: '紫洋葱', plu: '4082', perKg: 199, shape: 'round', colour: '#8e2a55' },
  { name: 'Garlic', zh: '大蒜', plu: '4608', perKg: 899, shape: 'round', colour: '#e8e0cc' },
  { name: 'Ginger', zh: '生姜', plu: '4612', perKg: 999, shape: 'long', colour: '#c9a35a' },
  { name: 'Cucumbers', zh: '黄瓜', plu: '4062', perKg: 249, shape: 'long', colour: '#2e7d32' },
  { name: 'Courgettes', zh: '西葫芦', plu: '4067', perKg: 299, shape: 'long', colour: '#3f7f2a' },
  { name: 'Aubergines', zh: '茄子', plu: '4081', perKg: 349, shape: 'long', colour: '#4a2458' },
  { name: 'Peppers, red', zh: '红椒', plu: '4088', perKg: 499, shape: 'round', colour: '#cc1f1a' },
  { name: 'Peppers, green', zh: '青椒', plu: '4065', perKg: 449, shape: 'round', colour: '#2f8f2f' },
  { name: 'Broccoli', zh: '西兰花', plu: '3082', perKg: 299, shape: 'leafy', colour: '#2d6a2d' },
  { name: 'Cauliflower', zh: '花椰菜', plu: '4079', perKg: 249, shape: 'leafy', colour: '#e9e4d0' },
  { name: 'Lettuce, iceberg', zh: '生菜', plu: '4061', perKg: 229, shape: 'leafy', colour: '#8fcf5a' },
  { name: 'Cabbage', zh: '卷心菜', plu: '4069', perKg: 129, shape: 'leafy', colour: '#7cb85a' },
  { name: 'Celery', zh: '芹菜', plu: '4070', perKg: 249, shape: 'long', colour: '#8cc152' },
  { name: 'Leeks', zh: '大葱', plu: '4629', perKg: 299, shape: 'long', colour: '#5f9f3f' },
  { name: 'Mushrooms', zh: '蘑菇', plu: '4645', perKg: 699, shape: 'round', colour: '#cdb79e' },
  { name: 'Beetroot', zh: '甜菜根', plu: '4539', perKg: 199, shape: 'round', colour: '#7a1b3a' },
];

/** Shelf products: a base name, whether it is food (7 % VAT in the demo's German rates), pack sizes. */
const SHELF: readonly { name: string; food: boolean }[] = [
  { name: 'Wholegrain bread 750 g', food: true },
  { name: 'Rye bread 500 g', food: true },
  { name: 'Baguette', food: true },
  { name: 'Croissants 4', food: true },
  { name: 'Bread rolls 6', food: true },
  { name: 'Pretzels 4', food: true },
  { name: 'Bagels 4', food: true },
  { name: 'Cinnamon rolls 2', food: true },
  { name: 'Ciabatta', food: true },
  { name: 'Muffins, blueberry 4', food: true },
  { name: 'Sparkling water 1.5 L', food: true },
  { name: 'Still water 1.5 L', food: true },
  { name: 'Orange juice 1 L', food: true },
  { name: 'Apple juice 1 L', food: true },
  { name: 'Cola 1.5 L', food: false },
  { name: 'Lemonade 0.5 L', food: false },
  { name: 'Iced tea, peach 1 L', food: false },
  { name: 'Coffee beans 500 g', food: true },
  { name: 'Green tea, 20 bags', food: true },
  { name: 'Oat drink 1 L', food: true },
  { name: 'Butter 250 g', food: true },
  { name: 'Natural yoghurt 500 g', food: true },
  { name: 'Gouda, sliced 150 g', food: true },
  { name: 'Cream 200 ml', food: true },
  { name: 'Mozzarella 125 g', food: true },
  { name: 'Cottage cheese 200 g', food: true },
  { name: 'Spaghetti 500 g', food: true },
  { name: 'Basmati rice 1 kg', food: true },
  { name: 'Olive oil 0.75 L', food: true },
  { name: 'Tomato passata 500 g', food: true },
  { name: 'Chickpeas 400 g', food: true },
  { name: 'Porridge oats 500 g', food: true },
  { name: 'Muesli 750 g', food: true },
  { name: 'Honey 500 g', food: true },
  { name: 'Strawberry jam 450 g', food: true },
  { name: 'Peanut butter 350 g', food: true },
  { name: 'Dark chocolate 100 g', food: true },
  { name: 'Crisps, salted 150 g', food: true },
  { name: 'Washing-up liquid 500 ml', food: false },
  { name: 'Kitchen roll 4', food: false },
  { name: 'Toilet paper 8', food: false },
  { name: 'Toothpaste 75 ml', food: false },
  { name: 'Shampoo 300 ml', food: false },
  { name: 'Laundry detergent 1.5 L', food: false },
];

/** Fictional brands: with the base names, 44 × 45 unique shelf names, more than the demo's 2,000 items. */
const BRANDS = ['Store', 'Organic', 'Alpenhof', 'Nordlicht', 'Sunny Farm', 'Green Valley', 'Old Mill', 'Blue Coast', 'Harvest', 'Meadow', 'Lindenhof', 'Bergquell', 'Goldkorn', 'Seeblick', 'Rosengarten', 'Waldmeister', 'Heide', 'Kornblume', 'Sonnental', 'Elbtal', 'Rheinau', 'Moorland', 'Hanse', 'Fjord', 'Tannenberg', 'Weizenfeld', 'Birkenhain', 'Eichhof', 'Wiesengrund', 'Bachtal', 'Silberdistel', 'Ostwind', 'Westmark', 'Sternberg', 'Mühlbach', 'Lerchenfeld', 'Auenland', 'Hügelland', 'Talblick', 'Morgenrot', 'Abendstern', 'Quellgrund', 'Kiefernwald', 'Schilfrohr', 'Lavendel'];

export interface DemoItemName {
  name: string;
  unit: 'each' | 'kg';
  food: boolean;
  produce?: DemoProduce;
}

/**
 * The name of catalog item `i` (0-based) after the first `fixed` items (which the demo names
 * itself): the produce first, then shelf products brand by brand.
 */
export function demoItemName(i: number, fixed: number): DemoItemName {
  const k = i - fixed;
  if (k >= 0 && k < DEMO_PRODUCE.length) return { name: DEMO_PRODUCE[k].name, unit: 'kg', food: true, produce: DEMO_PRODUCE[k] };
  const j = Math.max(0, k - DEMO_PRODUCE.length);
  const base = SHELF[j % SHELF.length];
  const brand = BRANDS[Math.floor(j / SHELF.length) % BRANDS.length];
  return { name: `${brand} ${base.name}`, unit: 'each', food: base.food };
}

/** The first items, by the GTINs the demo's basket (items 4 and 5) and its tests use. */
export const DEMO_NAMED = ['Whole milk 1 L', 'Bananas, organic', 'Lager beer 0.5 L (18+)', 'Sourdough bread', 'Free-range eggs 10'] as const;

/**
 * Names the demo's generated feeds (hqFeeds.ts `storeFeeds`, in place): the fixed first items,
 * then produce sold by weight with its PLU, Chinese name and price per kg, then shelf products;
 * German VAT (food 7 %, drinks with alcohol and non-food 19 %). Returns the produce to draw.
 */
export function nameDemoCatalog(store: StoreFeeds): { named: readonly string[]; pictures: { gtin: string; produce: DemoProduce }[] } {
  const pictures: { gtin: string; produce: DemoProduce }[] = [];
  store.catalog.items.forEach((it, i) => {
    const d: DemoItemName = i < DEMO_NAMED.length ? { name: DEMO_NAMED[i]!, unit: i === 1 ? 'kg' : 'each', food: i !== 2 } : demoItemName(i, DEMO_NAMED.length);
    it.name = d.name;
    it.unit = d.unit;
    if (i === 2) it.ageRestriction = 18;
    if (d.unit === 'kg') delete it.expectedWeightG; // weighed on the produce scale, not counted by the bagging scale
    if (d.produce) {
      it.fields = { plu: d.produce.plu, name_zh: d.produce.zh };
      store.prices.prices[i]!.price = d.produce.perKg;
      pictures.push({ gtin: it.gtin, produce: d.produce });
    }
    it.vatRateBp = d.food ? 700 : 1900;
  });
  // Organic bananas: the "9" before the conventional PLU marks organic produce (IFPS).
  store.catalog.items[1]!.fields = { plu: '94011', name_zh: '有机香蕉' };
  store.prices.prices[1]!.price = 249;
  pictures.push({ gtin: store.catalog.items[1]!.gtin, produce: DEMO_PRODUCE[0]! });
  return { named: DEMO_NAMED, pictures };
}
