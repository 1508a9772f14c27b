/**
 * `make demo` on a faster clock (`--time-scale N`, default 1): every period of the demo store is
 * divided by N — device heartbeats, the terminals' and access points' check-ins, the bridge's
 * heartbeats, the ESL status rounds, HQ's price changes and the promotion's start — and so are the
 * gateway's staleness limits (health.staleAfterS) and shelf presence windows (shelves[].presenceMs),
 * so each check-in keeps the same share of its limit as in the real-time demo. A minute watched at N = 4 then covers what four minutes show at
 * N = 1: every device checking in past its staleness limit, several price changes reaching the
 * labels. The test suite uses this; people watching the demo keep N = 1.
 *
 * Not scaled (they are the gateway's and the libraries' own timers, not the demo's): MQTT
 * keep-alive, the ESL command ack timeout, uplink batching, session lifetimes. The full-length
 * watch (`make demo-soak`) still covers those.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_STALE_AFTER_S, parseConfig, type Config } from '../../gateway/config.js';

/** Faster than this and the ESL status rounds (1,000 labels each) would crowd the gateway. */
export const MAX_TIME_SCALE = 10;

/** The `--time-scale` option: a number from 1 to MAX_TIME_SCALE. */
export function parseTimeScale(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 1 || n > MAX_TIME_SCALE) throw new Error(`--time-scale: must be a number from 1 to ${MAX_TIME_SCALE} (got "${text}")`);
  return n;
}

/** A period of the demo on the scaled clock (at least 1 ms). */
export function scaledMs(ms: number, timeScale: number): number {
  return Math.max(1, Math.round(ms / timeScale));
}

/** The config with every device kind's staleness limit divided by the scale (whole seconds, at least 1). */
export function scaledConfig(cfg: Readonly<Config>, timeScale: number): Config {
  const copy = JSON.parse(JSON.stringify(cfg)) as Config;
  const stale: Record<string, number> = {};
  for (const kind of Object.keys(DEFAULT_STALE_AFTER_S) as (keyof typeof DEFAULT_STALE_AFTER_S)[]) {
    stale[kind] = Math.max(1, Math.ceil((cfg.health.staleAfterS[kind] ?? DEFAULT_STALE_AFTER_S[kind]) / timeScale));
  }
  copy.health = { ...copy.health, staleAfterS: stale };
  // The shelf reader's cycle and its gaps run on the demo clock: an unscaled presence window would
  // outlast every gap (at N = 4 a 37.5 s gap against 60 s of presence), and no shelf would ever
  // show empty. Scaled, it spans the same number of read cycles as at N = 1.
  copy.shelves = copy.shelves.map((sh) => ({ ...sh, presenceMs: Math.max(1000, Math.round(sh.presenceMs / timeScale)) }));
  return copy;
}

/**
 * The gateway's config file for a scaled demo: the loaded config (its relative paths already made
 * absolute, defaults filled in) with the scaled limits, as JSON (which is YAML) in a folder of its
 * own. Checked with the gateway's own parser before use, so a config this cannot carry over says so
 * here rather than as a gateway that will not start.
 */
export function writeScaledConfig(cfg: Readonly<Config>, timeScale: number): { file: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'storegw-demo-config-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  const file = path.join(dir, 'demo-scaled.yaml');
  const text = JSON.stringify(scaledConfig(cfg, timeScale), null, 2);
  const res = parseConfig(text, {}, dir);
  if (!res.ok) {
    remove();
    throw new Error(`--time-scale: the scaled config does not load:\n  ${res.errors.join('\n  ')}`);
  }
  writeFileSync(file, text, { mode: 0o600 });
  return { file, remove };
}
