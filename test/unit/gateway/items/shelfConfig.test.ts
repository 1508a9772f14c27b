/** Config `shelves`: defaults, and a reader is a gate, a kiosk basket or a shelf, never two; errors name the field. */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../../../gateway/config.js';

const HASH = 'scrypt$4$8$1$SZh1sId7N5TCMmt0bMGgkw==$sufVcQ9x0ZRTR4/6qYcnAL5D5uDm9UqqZ5BEPPAKax0=';
const base = (over: Record<string, unknown>) => ({ storeId: 'store-1', data: { dir: '/var/lib/storegw' }, devices: [{ kind: 'rfid', id: 'shelf-1', secretHash: HASH }], ...over });

describe('config shelves', () => {
  it('is empty by default; a shelf gets one facing and a 60 s presence window', () => {
    const none = parseConfig(stringify(base({})));
    expect(none.ok && none.config.shelves).toEqual([]);
    const r = parseConfig(stringify(base({ shelves: [{ reader: 'shelf-1', zone: 'tees' }] })));
    expect(r.ok && r.config.shelves).toEqual([{ reader: 'shelf-1', zone: 'tees', minFacings: 1, presenceMs: 60_000 }]);
  });

  it('refuses a reader shared by two shelves, or that is an exit gate or a kiosk basket reader', () => {
    const r = parseConfig(
      stringify(
        base({
          shelves: [
            { reader: 'shelf-1', zone: 'tees' },
            { reader: 'shelf-1', zone: 'socks' },
            { reader: 'gate-1', zone: 'door' },
            { reader: 'rf-1', zone: 'kiosk' },
          ],
          exitGates: [{ reader: 'gate-1', alarm: 'alarm-1' }],
          kiosk: { devices: { k1: { rfid: 'rf-1' } } },
        }),
      ),
    );
    expect(r.ok ? [] : r.errors).toEqual(
      expect.arrayContaining([
        'shelves[1].reader: "shelf-1" is already the reader of shelves[0]',
        'shelves[2].reader: "gate-1" is the reader of exitGates[0]',
        `shelves[3].reader: "rf-1" is kiosk k1's basket reader (kiosk.devices.k1.rfid)`,
      ]),
    );
    const bad = parseConfig(stringify(base({ shelves: [{ reader: 'shelf-1', zone: 'tees', presenceMs: 5 }] })));
    expect(bad.ok ? '' : bad.errors.join('\n')).toMatch(/shelves\/0\/presenceMs|shelves\[0\]\.presenceMs/);
  });
});
