/** Config `exitGates`: defaults, and the checks the schema cannot express, each naming the field. */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../../../gateway/config.js';

const HASH = 'scrypt$4$8$1$SZh1sId7N5TCMmt0bMGgkw==$sufVcQ9x0ZRTR4/6qYcnAL5D5uDm9UqqZ5BEPPAKax0=';
const base = (over: Record<string, unknown>) => ({ storeId: 'store-1', data: { dir: '/var/lib/storegw' }, devices: [{ kind: 'rfid', id: 'gate-1', secretHash: HASH }], ...over });

describe('config exitGates', () => {
  it('is empty by default; a gate gets its passage window and alarm time', () => {
    const none = parseConfig(stringify(base({})));
    expect(none.ok && none.config.exitGates).toEqual([]);
    const r = parseConfig(stringify(base({ exitGates: [{ reader: 'gate-1', alarm: 'alarm-1' }] })));
    expect(r.ok && r.config.exitGates).toEqual([{ reader: 'gate-1', alarm: 'alarm-1', passageMs: 20_000, alarmForMs: 10_000 }]);
  });

  it('refuses a reader shared by two gates or used as a kiosk basket reader, and a bad id, naming the field', () => {
    const r = parseConfig(
      stringify(
        base({
          exitGates: [
            { reader: 'gate-1', alarm: 'alarm-1' },
            { reader: 'gate-1', alarm: 'alarm-2' },
            { reader: 'rf-1', alarm: 'alarm-3' },
          ],
          kiosk: { devices: { k1: { rfid: 'rf-1' } } },
        }),
      ),
    );
    expect(r.ok).toBe(false);
    expect(r.ok ? [] : r.errors).toEqual(
      expect.arrayContaining(['exitGates[1].reader: "gate-1" is already the reader of exitGates[0]', `exitGates[2].reader: "rf-1" is kiosk k1's basket reader (kiosk.devices.k1.rfid)`]),
    );
    const bad = parseConfig(stringify(base({ exitGates: [{ reader: 'gate 1', alarm: 'alarm-1', passageMs: 10 }] })));
    expect(bad.ok ? [] : bad.errors.join('\n')).toMatch(/exitGates\/0\/reader|exitGates\[0\]\.reader/);
  });
});
