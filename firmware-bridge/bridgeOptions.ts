/**
 * What the bridge is given (BridgeOptions) and what it keeps per device (DeviceEntry): the
 * counters, the recent commands, whether the gateway lets the bridge act for the device, and the
 * events held until it says so.
 */
import type { Logger } from 'pino';
import type { IClientOptions } from 'mqtt';
import type { DeviceDriver, DeviceEvent } from './devices/deviceDriver.js';
import type { RecentCommands } from './commandLog.js';
import type { BackoffOptions } from './devices/serialLink.js';
import type { DeviceCounters } from './deviceCounters.js';

export interface BridgeOptions {
  url: string;
  /** `bridge/{id}`. */
  username: string;
  password: string;
  drivers: DeviceDriver[];
  logger: Logger;
  now?: () => number;
  keepaliveS?: number;
  /** Reconnect to the gateway with this backoff (mqtt.js's own period is fixed). */
  reconnect?: BackoffOptions;
  /** Events in flight or queued while the gateway is away; beyond it new events are dropped and counted. */
  maxQueued?: number;
  /** Extra mqtt.js options (tests: a short connect timeout). */
  mqttOptions?: IClientOptions;
  /** Called when the gateway acknowledged (PUBACK) an event, or the publish failed. */
  onPublished?: (deviceId: string, type: string, err?: Error) => void;
  /** Logs every device's counters this often (0 = never; default 0). */
  statsEveryMs?: number;
  /** Retrying a driver whose start() failed (default: 250 ms doubling to 10 s). */
  startBackoff?: BackoffOptions;
  /** A heartbeat for every online device this often (0 = never; default 30 s, well inside the gateway's staleness limits). */
  heartbeatMs?: number;
}

export interface DeviceEntry {
  driver: DeviceDriver;
  key: string;
  counters: Omit<DeviceCounters, 'kind' | 'id' | 'online' | 'badFrames' | 'garbageBytes' | 'reconnects'>;
  /** Recent command results by cmdId: the gateway re-sends unacked commands after a reconnect. */
  recent: RecentCommands;
  /**
   * Whether the gateway lets this bridge act for the device, learnt from the SUBACK of its `cmd/#`
   * (0x80 = refused); `null` until the first SUBACK. A publish the gateway refuses would close the
   * whole connection (MQTT 3.1.1 has no negative PUBACK), so nothing is published for a refused
   * device, and events wait in `held` until the answer is known.
   */
  allowed: boolean | null;
  held: { type: string; json: string; onDelivered?: (err?: Error) => void }[];
  /** A retry of a driver whose start failed. */
  startTimer: NodeJS.Timeout | null;
  onEvent: (e: DeviceEvent) => void;
  onOnline: () => void;
  onOffline: (reason: string) => void;
}
