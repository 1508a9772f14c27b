/**
 * A zone's planned GTINs are one number in any of its lengths: a config that writes the GTIN-14
 * form of a catalog GTIN-13 watches and counts the catalog's item, not a second one no read ever
 * matches (which would stay "out" for good); a GTIN with a wrong check digit is a config error.
 */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import pino from 'pino';
import { Shelves } from '../../../../gateway/items/shelves.js';
import { parseConfig } from '../../../../gateway/config.js';

const CATALOG = new Map([['4012345678901', 'Tee'], ['96385074', 'Socks']]);
const itemOf = (gtin14: string) => {
  for (const [gtin, name] of CATALOG) if (gtin.padStart(14, '0') === gtin14) return { gtin, name };
  return null;
};

function shelves(gtins: string[]) {
  const watched: { zone: string; gtin: string }[] = [];
  const s = new Shelves({
    shelves: [{ reader: 'shelf-1', zone: 'tees', gtins, minFacings: 1, presenceMs: 60_000 }],
    store: { levels: async () => [], shelfWatch: async () => [], watchShelfItems: async (items: { zone: string; gtin: string }[]) => void watched.push(...items), setShelfEpisode: async () => undefined } as never,
    itemOf,
    nameOf: (g) => CATALOG.get(g) ?? null,
    sold: () => false,
    alert: () => undefined,
    count: () => undefined,
    log: pino({ level: 'silent' }),
    now: () => 1_000,
    mono: () => 1_000,
  });
  return { s, watched };
}

describe('shelf planned GTINs', () => {
  it('watches the catalog form of a GTIN-14 or GTIN-13 written for one item, once', async () => {
    const { s, watched } = shelves(['04012345678901', '4012345678901', '00000096385074', '5901234123457']);
    await s.start();
    await s.stop();
    expect(watched).toEqual([
      { zone: 'tees', gtin: '4012345678901' },
      { zone: 'tees', gtin: '96385074' },
      // not in the catalog: kept as configured
      { zone: 'tees', gtin: '5901234123457' },
    ]);
  });

  it('a cycle count counts the catalog item, not the configured spelling', async () => {
    const { s } = shelves(['04012345678901']);
    const c = s.startCount('tees', 'att', 'r-1');
    const lines = await s.countLines(c);
    expect(lines.map((l) => l.gtin)).toEqual(['4012345678901']);
  });

  it('refuses a planned GTIN whose check digit is wrong, naming it', () => {
    const HASH = 'scrypt$4$8$1$SZh1sId7N5TCMmt0bMGgkw==$sufVcQ9x0ZRTR4/6qYcnAL5D5uDm9UqqZ5BEPPAKax0=';
    const r = parseConfig(stringify({ storeId: 'store-1', data: { dir: '/var/lib/storegw' }, devices: [{ kind: 'rfid', id: 'shelf-1', secretHash: HASH }], shelves: [{ reader: 'shelf-1', zone: 'tees', gtins: ['4012345678901', '4012345678902'] }] }));
    expect(r.ok ? [] : r.errors).toEqual(['shelves[0].gtins[1]: "4012345678902" is not a GTIN (8, 12, 13 or 14 digits with a valid check digit)']);
  });
});
