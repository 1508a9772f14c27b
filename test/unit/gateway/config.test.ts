import { afterAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { loadConfigFile, parseConfig } from '../../../gateway/config.js';
import { tempDir } from '../../helpers/tmp.js';

const HASH = 'scrypt$4$8$1$SZh1sId7N5TCMmt0bMGgkw==$sufVcQ9x0ZRTR4/6qYcnAL5D5uDm9UqqZ5BEPPAKax0=';

function base(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    storeId: 'store-1',
    data: { dir: '/var/lib/storegw' },
    devices: [
      { kind: 'footfall', id: 'door-1', secretHash: HASH },
      { kind: 'esl', id: 'ap-1', secretHash: HASH },
    ],
    ...over,
  };
}
const parse = (o: Record<string, unknown>, env: Record<string, string> = {}) => parseConfig(stringify(o), env);
function errorsOf(r: ReturnType<typeof parseConfig>): string[] {
  expect(r.ok).toBe(false);
  return r.ok ? [] : r.errors;
}

describe('parseConfig', () => {
  it('accepts a minimal config, fills the defaults and freezes the result', () => {
    const r = parse(base());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.demo).toBe(false);
    expect(r.config.mqtt).toMatchObject({ host: '127.0.0.1', maxPacketBytes: 65536, maxBatch: 1024, connectRate: { perSecond: 20, burst: 200 } });
    expect(r.config.mqtt.port).toBeUndefined();
    expect(r.config.devices[0].disabled).toBe(false);
    expect(r.config.log.level).toBe('info');
    expect(Object.isFrozen(r.config)).toBe(true);
    expect(Object.isFrozen(r.config.devices[0])).toBe(true);
    expect(() => {
      (r.config.mqtt as { maxBatch: number }).maxBatch = 1;
    }).toThrow();
  });

  it('a config with three errors reports all three, each with its path', () => {
    const r = parse(
      base({
        storeId: 'store one!',
        mqtt: { port: 70000 },
        devices: [
          { kind: 'footfall', id: 'door-1', secretHash: HASH },
          { kind: 'esl', id: 'ap-1', secretHash: HASH },
          { kind: 'scale', id: 's-1', secretHash: HASH },
          { kind: 'toaster', id: 't-1', secretHash: HASH },
        ],
      }),
    );
    expect(errorsOf(r).sort()).toEqual(
      [
        'devices[3].kind: must be one of "esl", "scale", "scanner", "rfid", "footfall", "light", "payment", "kiosk", "printer"',
        'mqtt.port: must be <= 65535',
        'storeId: must match pattern "^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"',
      ].sort(),
    );
  });

  it('a schema error does not hide the duplicate and the missing secret found elsewhere in the file', () => {
    // Three errors in one file: the operator should see all three at once ("all three reported").
    const r = parse(
      base({
        mqtt: { port: 'eighteen' },
        devices: [
          { kind: 'footfall', id: 'door-1', secretHash: HASH },
          { kind: 'footfall', id: 'door-1', secretHash: HASH },
          { kind: 'esl', id: 'ap-1' },
        ],
      }),
    );
    expect(errorsOf(r).sort()).toEqual(
      ['devices[1].id: duplicates devices[0] (footfall/door-1)', 'devices[2].secretHash: is required unless the device has a bridge', 'mqtt.port: must be integer'].sort(),
    );
  });

  it('names unknown keys and missing required ones', () => {
    expect(errorsOf(parseConfig(stringify({ storeId: 's', data: { dir: 'd' }, mqt: {} }))).sort()).toEqual(['mqt: is not allowed']);
    expect(errorsOf(parseConfig(stringify({ storeId: 's' })))).toEqual(['data: is required']);
    expect(errorsOf(parse(base({ devices: [{ kind: 'esl', id: 'a', secretHash: 'plain' }] })))).toEqual([
      'devices[0].secretHash: must match pattern "^scrypt\\$[0-9]{1,2}\\$[0-9]{1,2}\\$[0-9]{1,2}\\$[A-Za-z0-9+/=]{16,64}\\$[A-Za-z0-9+/=]{40,64}$"',
    ]);
  });

  it('STOREGW_MQTT_PORT overrides the file; a bad value names the variable', () => {
    const r = parse(base({ mqtt: { port: 1883 } }), { STOREGW_MQTT_PORT: '21883' });
    expect(r.ok && r.config.mqtt.port).toBe(21883);
    const r2 = parse(base(), { STOREGW_MQTT_PORT: '1884', STOREGW_HTTP_PORT: '8081', STOREGW_STORE_ID: 'env-store', STOREGW_DATA_DIR: '/tmp/x', STOREGW_LOG_LEVEL: 'warn' });
    expect(r2.ok).toBe(true);
    if (r2.ok) expect([r2.config.mqtt.port, r2.config.http.port, r2.config.storeId, r2.config.data.dir, r2.config.log.level]).toEqual([1884, 8081, 'env-store', '/tmp/x', 'warn']);
    expect(errorsOf(parse(base(), { STOREGW_MQTT_PORT: 'abc' }))).toEqual(['STOREGW_MQTT_PORT: must be an integer (got "abc")']);
    expect(errorsOf(parse(base(), { STOREGW_MQTT_PORT: '70000' }))).toEqual(['mqtt.port: must be <= 65535']);
    const r4 = parse(base(), { STOREGW_MQTT_MAX_CONNECTIONS: '20000' });
    expect(r4.ok && r4.config.mqtt.maxConnections).toBe(20000);
    expect(errorsOf(parse(base(), { STOREGW_MQTT_MAX_CONNECTIONS: '0' }))).toEqual(['mqtt.maxConnections: must be >= 1']);
    const r3 = parse(base({ mqtt: { port: 1883 } }), { STOREGW_MQTT_PORT: '' });
    expect(r3.ok && r3.config.mqtt.port).toBe(1883); // empty means unset
  });

  it('bad YAML says where, and a non-mapping root is refused', () => {
    const e = errorsOf(parseConfig('storeId: s\ndata:\n  dir: [unclosed\n'));
    expect(e).toHaveLength(1);
    expect(e[0]).toMatch(/^\(yaml\) line \d+: /);
    const dup = errorsOf(parseConfig('storeId: a\nstoreId: b\ndata: { dir: d }\n'));
    expect(dup[0]).toMatch(/^\(yaml\) line 2: .*[Uu]nique/);
    expect(errorsOf(parseConfig('- a\n- b\n'))).toEqual(['(root): must be a mapping of settings']);
    expect(errorsOf(parseConfig(''))).toEqual(['(root): must be a mapping of settings']);
  });

  it('a duplicate device names both entries', () => {
    const r = parse(
      base({
        devices: [
          { kind: 'footfall', id: 'door-1', secretHash: HASH },
          { kind: 'esl', id: 'door-1', secretHash: HASH }, // same id, other kind: fine
          { kind: 'footfall', id: 'door-1', secretHash: HASH },
        ],
      }),
    );
    expect(errorsOf(r)).toEqual(['devices[2].id: duplicates devices[0] (footfall/door-1)']);
  });

  it('a device needs a secretHash unless a configured bridge speaks for it', () => {
    expect(errorsOf(parse(base({ devices: [{ kind: 'scale', id: 's-1' }] })))).toEqual(['devices[0].secretHash: is required unless the device has a bridge']);
    expect(parse(base({ devices: [{ kind: 'scale', id: 's-1', bridge: 'kb' }], bridges: [{ id: 'kb', secretHash: HASH }] })).ok).toBe(true);
    expect(errorsOf(parse(base({ devices: [{ kind: 'scale', id: 's-1', bridge: 'nope' }] })))).toEqual(['devices[0].bridge: no bridge "nope" in bridges']);
  });

  it('duplicate ops users and kiosks are named', () => {
    const u = { username: 'admin', passwordHash: HASH, role: 'admin' };
    expect(errorsOf(parse(base({ opsUsers: [u, u] })))).toEqual(['opsUsers[1].username: duplicate "admin"']);
    const k = { id: 'k1', tokenHash: HASH };
    expect(errorsOf(parse(base({ kiosks: [k, k] })))).toEqual(['kiosks[1].id: duplicate "k1"']);
  });

  it('health.staleAfterS takes device kinds only: a typo is an error, not a silently ignored key', () => {
    const ok = parse(base({ health: { staleAfterS: { footfall: 1, esl: 300 } } }));
    expect(ok.ok && ok.config.health.staleAfterS).toEqual({ footfall: 1, esl: 300 });
    const r = parse(base({ health: { staleAfterS: { footfal: 1 } } }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.join('\n')).toContain('health.staleAfterS.footfal');
  });

  it('a relative data.dir is resolved against the config file folder', () => {
    const r = parseConfig(stringify(base({ data: { dir: '../data' } })), {}, '/etc/storegw');
    expect(r.ok && r.config.data.dir).toBe('/etc/data');
  });
});

describe('loadConfigFile', () => {
  const tmp = tempDir('sgw-config-');
  afterAll(() => tmp.remove());

  it('config/demo.yaml parses OK', () => {
    const r = loadConfigFile('config/demo.yaml', {});
    expect(r.ok ? [] : r.errors).toEqual([]);
    if (!r.ok) return;
    expect(r.config.storeId).toBe('demo-store');
    expect(r.config.demo).toBe(true);
    expect(r.config.mqtt.port).toBe(1883);
    expect(r.config.http.port).toBe(8080);
    expect(r.config.data.dir).toBe(path.resolve('data/demo'));
    expect(r.config.opsUsers.map((u) => u.username).sort()).toEqual(['admin', 'attendant', 'viewer']);
  });

  it('a missing file is an error, not a throw', () => {
    const file = path.join(tmp.dir, 'nope.yaml');
    expect(loadConfigFile(file, {})).toEqual({ ok: false, errors: [`(file) ${file}: ENOENT`] });
  });

  it('takes env from the argument', () => {
    const file = path.join(tmp.dir, 'c.yaml');
    writeFileSync(file, stringify(base({ data: { dir: 'd' } })));
    const r = loadConfigFile(file, { STOREGW_MQTT_PORT: '2000' });
    expect(r.ok && r.config.mqtt.port).toBe(2000);
    expect(r.ok && r.config.data.dir).toBe(path.join(tmp.dir, 'd'));
  });
});

describe('parseConfig never throws on bad YAML', () => {
  it('an alias with no anchor is an error line, not an exception', () => {
    const r = parseConfig('*!');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]).toMatch(/^\(yaml\)/);
  });
});
