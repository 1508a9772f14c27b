/**
 * Every signed feed HQ sends a store, by its name on the wire (the `{feed}` topic level and
 * `signed.feed`): its body schema and the scopes the gateway subscribes to it on (`all` =
 * hq/v1/all/{feed}, `store` = hq/v1/store/{storeId}/{feed}). The gateway checks bodies with these
 * schemas before applying them; HQ's signing tool checks them before signing, so a body the
 * gateway would refuse is never published.
 */
import type { TSchema } from '@sinclair/typebox';
import { CatalogBody, LabelsBody, MembersBody, PricesBody } from './priceFeeds.js';
import { LoyaltyBody } from './loyalty.js';
import { CouponsBody } from './coupons.js';
import { SerialsBody } from './serials.js';
import { OrdersBody } from './orders.js';
import { DeliveriesBody } from './deliveries.js';

export interface StoreFeedSpec {
  body: TSchema;
  scopes: readonly ('all' | 'store')[];
}

export const STORE_FEEDS = {
  catalog: { body: CatalogBody, scopes: ['store', 'all'] },
  prices: { body: PricesBody, scopes: ['store', 'all'] },
  members: { body: MembersBody, scopes: ['store', 'all'] },
  labels: { body: LabelsBody, scopes: ['store', 'all'] },
  loyalty: { body: LoyaltyBody, scopes: ['store', 'all'] },
  coupons: { body: CouponsBody, scopes: ['store', 'all'] },
  serials: { body: SerialsBody, scopes: ['store'] },
  orders: { body: OrdersBody, scopes: ['store'] },
  deliveries: { body: DeliveriesBody, scopes: ['store'] },
} as const satisfies Record<string, StoreFeedSpec>;

export type StoreFeedName = keyof typeof STORE_FEEDS;

export function isStoreFeed(name: string): name is StoreFeedName {
  return Object.prototype.hasOwnProperty.call(STORE_FEEDS, name);
}
