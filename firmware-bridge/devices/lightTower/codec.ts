/**
 * Light tower ("candle", README.md here): one GPIO line per colour. Green = lane OK, amber = attention,
 * red = intervention, off = lane closed; steady or flashing is the retailer's escalation choice.
 * Pure: the line states for a command and the flash schedule; the driver owns the timer.
 */
export type LightColor = 'off' | 'green' | 'amber' | 'red';
export type LightMode = 'steady' | 'flash';
export type Lamp = 'green' | 'amber' | 'red';
export type LineStates = Record<Lamp, 0 | 1>;

export const LAMPS: readonly Lamp[] = ['green', 'amber', 'red'];

/** The line states for `color` in `mode`; `lit` is the flash phase (ignored when steady). */
export function lineStates(color: LightColor, mode: LightMode, lit = true): LineStates {
  const on = mode === 'steady' || lit;
  return {
    green: color === 'green' && on ? 1 : 0,
    amber: color === 'amber' && on ? 1 : 0,
    red: color === 'red' && on ? 1 : 0,
  };
}

export interface FlashSchedule {
  /** Full on+off period (default 1000 ms). */
  periodMs: number;
  /** Time lit within a period (default half). */
  onMs: number;
}
export const DEFAULT_FLASH: Readonly<FlashSchedule> = Object.freeze({ periodMs: 1000, onMs: 500 });

export function assertFlashSchedule(f: FlashSchedule): void {
  if (!(f.periodMs > 0)) throw new RangeError('lightTower.flash.periodMs: must be > 0');
  if (!(f.onMs > 0 && f.onMs < f.periodMs)) throw new RangeError('lightTower.flash.onMs: must be between 0 and periodMs');
}

/** The flash phase at `nowMs` for a flash that started at `startMs`, and when it next changes. */
export function flashPhase(startMs: number, nowMs: number, f: FlashSchedule = DEFAULT_FLASH): { lit: boolean; nextChangeMs: number } {
  const elapsed = Math.max(0, nowMs - startMs);
  const inPeriod = elapsed % f.periodMs;
  const periodStart = nowMs - inPeriod;
  return inPeriod < f.onMs ? { lit: true, nextChangeMs: periodStart + f.onMs } : { lit: false, nextChangeMs: periodStart + f.periodMs };
}

/** Parses an untrusted command into a color and mode, or a reason. */
export function parseSet(x: unknown): { ok: true; color: LightColor; mode: LightMode } | { ok: false; reason: string } {
  const o = (x ?? {}) as { color?: unknown; mode?: unknown };
  const colors: readonly unknown[] = ['off', 'green', 'amber', 'red'];
  if (!colors.includes(o.color)) return { ok: false, reason: 'color: must be one of off, green, amber, red' };
  const mode = o.mode ?? 'steady';
  if (mode !== 'steady' && mode !== 'flash') return { ok: false, reason: 'mode: must be steady or flash' };
  return { ok: true, color: o.color as LightColor, mode };
}
