/**
 * The demo's faster clock carries over to the gateway's limits that the demo's own periods are
 * measured against: staleness per device kind and the shelf's presence window (at N = 4 the shelf
 * reader's 37.5 s gaps must outlast the window, or no shelf ever shows empty).
 */
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../../gateway/config.js';
import { scaledConfig } from '../../sim/demoTimeScale.js';

const loaded = loadConfigFile('config/demo.yaml');
if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
const demo = loaded.config;

describe('scaledConfig', () => {
  it('divides the shelf presence window by the scale, never below 1 s', () => {
    expect(demo.shelves[0]!.presenceMs).toBe(60_000);
    expect(scaledConfig(demo, 4).shelves[0]!.presenceMs).toBe(15_000);
    expect(scaledConfig(demo, 1).shelves[0]!.presenceMs).toBe(60_000);
    expect(scaledConfig({ ...demo, shelves: [{ ...demo.shelves[0]!, presenceMs: 1500 }] }, 10).shelves[0]!.presenceMs).toBe(1000);
  });

  it('divides staleness limits and leaves the loaded config alone', () => {
    expect(scaledConfig(demo, 4).health.staleAfterS.esl).toBe(45);
    expect(demo.health.staleAfterS.esl).toBe(180);
  });
});
