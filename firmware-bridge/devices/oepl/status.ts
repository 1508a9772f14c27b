/**
 * A tag report as one label of the gateway's `esl` `status` event. Pure. Values outside what the
 * gateway's schema allows (a garbled battery reading, an RSSI of +100) are left out rather than
 * sent, so one odd tag cannot make the whole status event invalid.
 */
import { NEVER, type OeplTag } from './messages.js';

export interface LabelStatus {
  labelId: string;
  mac: string;
  batteryMv?: number;
  rssi?: number;
  temperatureC?: number;
  lqi?: number;
  hwType?: number;
  pending: number;
  /** The content hash the label shows, when the bridge delivered it (see delivery.ts). */
  shownHash?: string;
  lastSeen?: string;
  /** Null: the tag is in deep sleep (the AP's sentinel). */
  nextCheckIn?: string | null;
}

/** Low battery as the AP counts it (`batteryMv` below 2400). */
export const LOW_BATTERY_MV = 2400;

function inRange(v: number | undefined, min: number, max: number): number | undefined {
  return v !== undefined && v >= min && v <= max ? v : undefined;
}

/** Epoch seconds as ISO 8601, or undefined for 0, the sentinel and nonsense. */
function iso(s: number): string | undefined {
  if (!(s > 946_684_800 && s < NEVER)) return undefined;
  return new Date(s * 1000).toISOString();
}

export function labelStatus(labelId: string, t: OeplTag, shownHash: string | undefined): LabelStatus {
  const s: LabelStatus = { labelId, mac: t.mac, pending: Math.min(t.pending, 1000) };
  const battery = inRange(t.batteryMv, 0, 10_000);
  if (battery !== undefined) s.batteryMv = Math.round(battery);
  const rssi = inRange(t.rssi, -150, 20);
  if (rssi !== undefined) s.rssi = rssi;
  const temp = inRange(t.temperature, -60, 100);
  if (temp !== undefined) s.temperatureC = temp;
  const lqi = inRange(t.lqi, 0, 255);
  if (lqi !== undefined) s.lqi = lqi;
  const hw = inRange(t.hwType, 0, 255);
  if (hw !== undefined) s.hwType = hw;
  if (shownHash !== undefined) s.shownHash = shownHash;
  const seen = iso(t.lastseen);
  if (seen) s.lastSeen = seen;
  if (t.nextcheckin === NEVER) s.nextCheckIn = null;
  else {
    const next = iso(t.nextcheckin);
    if (next) s.nextCheckIn = next;
  }
  return s;
}
