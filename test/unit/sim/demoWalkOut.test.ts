/**
 * The demo's exit gate as config/demo.yaml wires it: its reader and its alarm light are MQTT-native
 * devices the demo simulates, and the walked-out tag is an SGTIN-96 of an each-sold item in the
 * catalog the demo's HQ publishes, with serials no basket tag uses (so the gate alarms, never
 * answers `foreign` or `sold`). The alarm itself is checked through the real gateway in
 * test/integration/gateway/exitGate.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../../gateway/config.js';
import { decodeSgtin96 } from '../../../gateway/kiosk/sgtin.js';
import { demoSgtin, WALK_OUT_ITEM } from '../../sim/demoWalkOut.js';
import { DEMO_LABELS, demoBasketTags } from '../../sim/demoStore.js';
import { nameDemoCatalog } from '../../sim/demoCatalog.js';
import { storeFeeds } from '../../sim/hqFeeds.js';

describe('the demo walk-out', () => {
  it('demo.yaml binds the gate reader to an alarm light, both simulated MQTT devices', () => {
    const r = loadConfigFile('config/demo.yaml', {});
    if (!r.ok) throw new Error(r.errors.join('; '));
    expect(r.config.exitGates).toHaveLength(1);
    const [gate] = r.config.exitGates;
    const dev = (id: string) => r.config.devices.find((d) => d.id === id);
    expect(dev(gate!.reader)).toMatchObject({ kind: 'rfid', secretHash: expect.any(String) });
    expect(dev(gate!.alarm)).toMatchObject({ kind: 'light', secretHash: expect.any(String) });
    expect(dev(gate!.reader)!.bridge).toBeUndefined();
  });

  it('walks out an each-sold catalog item, under serials no basket tag has', () => {
    const store = storeFeeds(DEMO_LABELS, 2);
    nameDemoCatalog(store);
    const t = decodeSgtin96(demoSgtin(WALK_OUT_ITEM, 700_000));
    if (!t.ok) throw new Error(t.reason);
    const item = store.catalog.items.find((i) => `0${i.gtin}` === t.gtin14 || i.gtin === t.gtin14);
    expect(item).toMatchObject({ unit: 'each', name: expect.stringContaining('Shampoo') });
    const basket = demoBasketTags().map((b) => decodeSgtin96(b.epc)).map((b) => (b.ok ? b.serial : -1));
    expect(basket.every((s) => s < 700_000)).toBe(true);
  });
});
