/**
 * The `stock` config slice: the low-stock threshold and how often HQ's stock report may be sent.
 * Declared here, referenced once from gateway/config.ts.
 */
import { Type, type Static } from '@sinclair/typebox';

export const StockConfigSchema = Type.Object(
  {
    /** An item with fewer on hand than this (and more than 0) is on the "low" list; an item may override it on the ops page. */
    lowBelow: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 5, description: 'An item with fewer on hand than this (and more than 0) is listed as low on the ops Stock view; an admin may set another threshold per item.' }),
    /** The retained stock report to HQ (`report/stock`) is sent at most once per this interval after a change. */
    reportEveryMs: Type.Integer({ minimum: 1000, maximum: 3_600_000, default: 10_000, description: "The retained stock report to HQ (hq/v1/store/{storeId}/report/stock: on hand and reserved per GTIN) is sent at most once per this interval after stock changed." }),
  },
  { additionalProperties: false, default: {} },
);
export type StockConfig = Static<typeof StockConfigSchema>;
