/**
 * A verified feed body turned into what `PriceStore.applyPrepared` binds, pure: per catalog table
 * the rows as one JSON array text (SQLite reads it with json_each) and the keys to delete.
 *
 * Why a separate step: the feed worker (feedWorker.ts) runs it next to the verification, so only
 * a few flat strings cross back to the main thread. A structured clone of a 60k-row body costs
 * the main thread tens of ms to deserialize, and `JSON.stringify` of those rows as many again;
 * copying a flat string is a memcpy.
 */
import type { PriceFeed, PriceRowT } from '../protocol/schemas/feeds/priceFeeds.js';

export type CatalogTable = 'item' | 'price' | 'promotion' | 'member' | 'binding';

export interface TableSpec {
  table: CatalogTable;
  key: string;
  /** Columns besides scope/key/ver, filled from each element of the json array. */
  cols: { name: string; expr: string }[];
  /** The body field that holds the key in each row. */
  keyField: string;
}

export const TABLES: Readonly<Record<CatalogTable, TableSpec>> = {
  item: { table: 'item', key: 'gtin', keyField: 'gtin', cols: [{ name: 'data', expr: 'value' }] },
  price: { table: 'price', key: 'gtin', keyField: 'gtin', cols: [{ name: 'data', expr: 'value' }] },
  promotion: { table: 'promotion', key: 'id', keyField: 'id', cols: [{ name: 'data', expr: 'value' }] },
  member: { table: 'member', key: 'code', keyField: 'code', cols: [{ name: 'tier', expr: "value->>'tier'" }, { name: 'state', expr: "CASE WHEN value->'status' IS NULL AND value->'revoked' IS NULL THEN NULL ELSE json_object('status', value->>'status', 'revoked', json(value->'revoked')) END" }] },
  binding: { table: 'binding', key: 'label_id', keyField: 'labelId', cols: [{ name: 'gtin', expr: "value->>'gtin'" }, { name: 'ap', expr: "value->>'ap'" }] },
};

export interface PreparedTable {
  table: CatalogTable;
  /** JSON array text of the rows to upsert; null when there are none. */
  rows: string | null;
  /** JSON array text of the keys to delete (delta only); null when there are none. */
  remove: string | null;
}

/** What one feed writes: a snapshot first empties its tables for the scope. */
export interface PreparedFeed {
  snapshot: boolean;
  tables: PreparedTable[];
}

function table(t: CatalogTable, rows: unknown[] | undefined, remove: unknown[] | undefined): PreparedTable {
  return {
    table: t,
    rows: rows && rows.length > 0 ? JSON.stringify(rows) : null,
    remove: remove && remove.length > 0 ? JSON.stringify(remove) : null,
  };
}

/** The table writes of a feed body that passed its schema (protocol/schemas/feeds/priceFeeds.ts). */
export function prepareFeedRows(feed: PriceFeed, body: Record<string, unknown>): PreparedFeed {
  const b = body as Record<string, unknown[] | undefined> & { mode?: unknown; currency?: string };
  const snapshot = b.mode === 'snapshot';
  switch (feed) {
    case 'catalog':
      return { snapshot, tables: [table('item', b.items, b.remove)] };
    case 'prices': {
      // A row without its own currency takes the feed's (the catalog keeps one per row).
      const currency = b.currency;
      const rows = (b.prices as PriceRowT[] | undefined)?.map((p) => ({ ...p, currency: p.currency ?? currency }));
      return { snapshot, tables: [table('price', rows, b.remove), table('promotion', b.promotions, b.removePromotions)] };
    }
    case 'members':
      return { snapshot, tables: [table('member', b.members, b.remove)] };
    case 'labels':
      return { snapshot, tables: [table('binding', b.bindings, b.remove)] };
  }
}
