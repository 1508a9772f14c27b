/**
 * What every device driver offers the bridge: device events shaped like the gateway's schemas
 * (`gateway/protocol/schemas`), online/offline, and commands answered ok/failed.
 */
import pino, { type Logger } from 'pino';
import type { DeviceKind } from '../../gateway/protocol/topics.js';
import type { Listenable } from '../transports/transport.js';

export interface DeviceEvent {
  /** The event type of the topic `evt/{type}` (`weight`, `scan`, `read`, `cross`, `alert`). */
  type: string;
  data: Record<string, unknown>;
  /**
   * Called once the gateway acknowledged the event (PUBACK of the QoS 1 publish), or with the
   * reason it was not sent. A driver that must not forget an outcome before the gateway holds it
   * (a payment result) keeps its record open until then.
   */
  onDelivered?: (err?: Error) => void;
}

export interface CommandResult {
  ok: boolean;
  error?: string;
}

export type DriverEvents = {
  event: [event: DeviceEvent];
  online: [];
  offline: [reason: string];
}

export interface DriverStats {
  /** Frames dropped for a bad checksum or bad content. */
  badFrames: number;
  /** Bytes skipped while looking for a frame. */
  garbageBytes: number;
  events: number;
  reconnects: number;
}

export interface BirthInfo {
  model: string;
  firmware: string;
  capabilities: string[];
}

export interface DeviceDriver extends Listenable<DriverEvents> {
  readonly kind: DeviceKind;
  readonly id: string;
  readonly online: boolean;
  readonly stats: Readonly<DriverStats>;
  birth(): BirthInfo;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Runs a command (`tare`, `inventory`, `set` …); never rejects: failures come back as `{ok: false}`. */
  command(type: string, payload: Record<string, unknown>): Promise<CommandResult>;
}

/** Options every driver takes. */
export interface DriverBaseOptions {
  id: string;
  /** Wall clock in ms, used to stamp `ts`. */
  now?: () => number;
  logger?: Logger;
}

export function newStats(): DriverStats {
  return { badFrames: 0, garbageBytes: 0, events: 0, reconnects: 0 };
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

export function isoTs(ms: number): string {
  return new Date(ms).toISOString();
}

/** Adds a codec's errors to the stats and logs them at debug (a device can trigger them: no info spam). */
export function countErrors(stats: DriverStats, log: Logger, errors: { code: string; bytes: number; detail?: string }[]): void {
  for (const e of errors) {
    if (e.code === 'GARBAGE') stats.garbageBytes += e.bytes;
    else stats.badFrames += 1;
    log.debug({ code: e.code, bytes: e.bytes, detail: e.detail, badFrames: stats.badFrames }, 'bad input from device');
  }
}
