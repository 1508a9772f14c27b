/** The pages' contract with the gateway: every schema and type of the HTTP API and the live feed. */
export * from './common.js';
export * from './devices.js';
export * from './ops.js';
export * from './people.js';
export * from './checkout.js';
export * from './live.js';
export * from './shelf.js';
export * from './uplink.js';
export * from './stock.js';
export * from './shelfStock.js';
