/** What the bridge counts per device, for its log and for tests (`Bridge.stats()`). */
import type { DeviceKind } from '../gateway/protocol/topics.js';

export interface DeviceCounters {
  kind: DeviceKind;
  id: string;
  online: boolean;
  /** Events the driver produced. */
  events: number;
  /** Events the gateway acknowledged (PUBACK: committed to its outbox). */
  acked: number;
  /** Events that failed the gateway's schema in the bridge: a driver bug, never sent. */
  invalid: number;
  /** Events dropped because too many were queued while the gateway was away. */
  dropped: number;
  commands: number;
  /** `rej` notices the gateway sent for this device. */
  rejects: number;
  /** Events not sent because the gateway does not let this bridge act for the device. */
  refused: number;
  /** From the driver: frames with a bad checksum or content, bytes skipped, port reopenings. */
  badFrames: number;
  garbageBytes: number;
  reconnects: number;
}
