/**
 * What every driver holds the same way: its id, counters, clock, its pino child (`module`,
 * `deviceId`), and the online flag with the `online`/`offline` events that go with it. A driver
 * extends this and adds its transport and its protocol; serial drivers go through `SerialDriver`.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { DeviceKind } from '../../gateway/protocol/topics.js';
import {
  newStats,
  silentLogger,
  type BirthInfo,
  type CommandResult,
  type DeviceDriver,
  type DriverBaseOptions,
  type DriverEvents,
} from './deviceDriver.js';

export abstract class DriverBase extends EventEmitter<DriverEvents> implements DeviceDriver {
  abstract readonly kind: DeviceKind;
  readonly id: string;
  readonly stats = newStats();
  protected readonly now: () => number;
  protected readonly log: Logger;
  private isOnline = false;

  /** `module` names the driver in its logs (`mtsics`, `hidScanner` …). */
  constructor(options: DriverBaseOptions, module: string) {
    super();
    this.id = options.id;
    this.now = options.now ?? Date.now;
    this.log = (options.logger ?? silentLogger()).child({ module, deviceId: options.id });
  }

  get online(): boolean {
    return this.isOnline;
  }

  abstract birth(): BirthInfo;
  abstract start(): Promise<void>;
  abstract stop(): Promise<void>;
  abstract command(type: string, payload: Record<string, unknown>): Promise<CommandResult>;

  /** The device is reachable: the bridge publishes `state online`. */
  protected goOnline(): void {
    this.isOnline = true;
    this.emit('online');
  }

  /** The device went away on its own (unplugged): the bridge publishes `state offline`. */
  protected goOffline(reason: string): void {
    this.isOnline = false;
    this.emit('offline', reason);
  }

  /** stop() ran: no longer online, but no `offline` event, since nothing was lost. */
  protected markStopped(): void {
    this.isOnline = false;
  }
}
