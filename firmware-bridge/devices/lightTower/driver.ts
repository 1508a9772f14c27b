/** Light tower driver: `set {color, mode}` drives one GPIO output per lamp; flashing runs on a timer. */
import type { GpioOutput } from '../../transports/transport.js';
import type { BirthInfo, CommandResult, DriverBaseOptions } from '../deviceDriver.js';
import { DriverBase } from '../driverBase.js';
import { DEFAULT_FLASH, LAMPS, assertFlashSchedule, flashPhase, lineStates, parseSet, type FlashSchedule, type Lamp, type LightColor, type LightMode } from './codec.js';

export interface LightTowerDriverOptions extends DriverBaseOptions {
  lines: Record<Lamp, GpioOutput>;
  flash?: FlashSchedule;
}

export class LightTowerDriver extends DriverBase {
  readonly kind = 'light' as const;
  private readonly flash: FlashSchedule;
  private timer: NodeJS.Timeout | null = null;
  /** The state last set (for tests and the birth message). */
  current: { color: LightColor; mode: LightMode } = { color: 'off', mode: 'steady' };

  constructor(private readonly options: LightTowerDriverOptions) {
    super(options, 'lightTower');
    this.flash = options.flash ?? DEFAULT_FLASH;
    assertFlashSchedule(this.flash);
  }

  birth(): BirthInfo {
    return { model: 'GPIO light tower', firmware: 'storegw-bridge', capabilities: ['set'] };
  }

  async start(): Promise<void> {
    for (const l of LAMPS) await this.options.lines[l].open();
    await this.apply('off', 'steady', true);
    this.goOnline();
  }

  async stop(): Promise<void> {
    this.clearTimer();
    for (const l of [...LAMPS].reverse()) {
      await this.options.lines[l].close().catch((err: Error) => this.log.warn({ err: err.message, lamp: l }, 'closing a line failed'));
    }
    this.markStopped();
  }

  async command(type: string, payload: Record<string, unknown>): Promise<CommandResult> {
    if (type !== 'set') return { ok: false, error: `unknown command: ${type}` };
    const p = parseSet(payload);
    if (!p.ok) return { ok: false, error: p.reason };
    this.clearTimer();
    try {
      this.current = { color: p.color, mode: p.mode };
      await this.apply(p.color, p.mode, true);
      if (p.mode === 'flash' && p.color !== 'off') this.scheduleFlash(this.now(), p.color);
      return { ok: true };
    } catch (err) {
      return { ok: false, error: `gpio: ${(err as Error).message}` };
    }
  }

  private async apply(color: LightColor, mode: LightMode, lit: boolean): Promise<void> {
    const s = lineStates(color, mode, lit);
    for (const l of LAMPS) await this.options.lines[l].write(s[l]);
  }

  private scheduleFlash(startMs: number, color: LightColor): void {
    const { nextChangeMs } = flashPhase(startMs, this.now(), this.flash);
    this.timer = setTimeout(() => {
      const { lit } = flashPhase(startMs, this.now(), this.flash);
      this.apply(color, 'flash', lit).catch((err: Error) => this.log.warn({ err: err.message }, 'gpio write failed'));
      this.scheduleFlash(startMs, color);
    }, Math.max(1, nextChangeMs - this.now()));
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
