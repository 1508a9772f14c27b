/**
 * The record types only the gateway itself writes (gateway/README.md §Trust). A kiosk's sale, an attendant's
 * decision, a click & collect pickup and its hand-over are exact records the gateway's own services produce through
 * ingest; the device credential of the same kind (`kiosk/{id}`) must not be able to write them over
 * MQTT, or a forged sale is counted in the day's numbers and goes to HQ as an exact record.
 *
 * This is the ONE list: a new record type the gateway produces (loyalty, coupon, stock, exit gate,
 * price mismatch, …) joins it here, under the device kind it is filed as, and the broker refuses it
 * from every device, bridge and service credential. Kept per kind so the hot path checks a record
 * with one property read and one Set lookup, no string built per publish.
 */
import { DEVICE_KINDS, type DeviceKind } from './topics.js';

const WRITTEN_BY_GATEWAY: Partial<Record<DeviceKind, readonly string[]>> = {
  // `handover`: a person in the store marked a collected online order as handed over.
  light: ['stockMove'], // the stock ledger's movements, filed as the gateway itself (light/storegw)
  kiosk: ['transaction', 'attendant', 'pickup', 'handover', 'priceMismatch', 'pointsChange', 'couponRedeemed', 'couponReleased', 'saleVoided'], // priceMismatch: shelf = till; pointsChange: loyalty; couponRedeemed: one coupon used in a sale; couponReleased: given back by a post-sale void; saleVoided: a sale voided on the ops page
  // `exitAlarm`: an unpaid serialised item read at an exit gate (filed under the gate's reader).
  rfid: ['exitAlarm'],
};

/**
 * The gateway's own alert records (uplink/selfRecords.ts) are filed as this device; no credential
 * may write under it, so a device provisioned as `light/storegw` cannot forge an eviction notice.
 */
export const SELF_KIND: DeviceKind = 'light';
export const SELF_DEVICE_ID = 'storegw';

const EMPTY: ReadonlySet<string> = new Set();

/** Per kind, the event types only the gateway may write. */
export const GATEWAY_RECORD_TYPES: Readonly<Record<DeviceKind, ReadonlySet<string>>> = Object.fromEntries(
  DEVICE_KINDS.map((k) => [k, WRITTEN_BY_GATEWAY[k] ? new Set(WRITTEN_BY_GATEWAY[k]) : EMPTY]),
) as Record<DeviceKind, ReadonlySet<string>>;

/** True when `{kind}/{deviceId}` events of `type` are written only by the gateway itself. */
export function isGatewayRecord(kind: DeviceKind, deviceId: string, type: string): boolean {
  return GATEWAY_RECORD_TYPES[kind].has(type) || (deviceId === SELF_DEVICE_ID && kind === SELF_KIND);
}
