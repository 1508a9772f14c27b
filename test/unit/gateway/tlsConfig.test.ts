import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { parseConfig } from '../../../gateway/config.js';
import { plainLanListeners } from '../../../gateway/tlsConfig.js';
import { tempDir } from '../../helpers/tmp.js';

describe('TLS settings', () => {
  it('resolves TLS files against the config folder and names each unreadable one', () => {
    const tmp = tempDir('sgw-tlscfg-');
    try {
      writeFileSync(path.join(tmp.dir, 'gw.crt'), 'x');
      writeFileSync(path.join(tmp.dir, 'gw.key'), 'x');
      const ok = parseConfig(stringify({ storeId: 's', data: { dir: 'd' }, mqtt: { tls: { certFile: 'gw.crt', keyFile: 'gw.key' } }, http: { tls: { certFile: 'gw.crt', keyFile: 'gw.key' } } }), {}, tmp.dir);
      expect(ok.ok && ok.config.mqtt.tls).toEqual({ port: 8883, certFile: path.join(tmp.dir, 'gw.crt'), keyFile: path.join(tmp.dir, 'gw.key'), requireClientCert: false });
      const bad = parseConfig(stringify({ storeId: 's', data: { dir: 'd' }, mqtt: { tls: { certFile: 'gw.crt', keyFile: 'nope.key', requireClientCert: true } } }), {}, tmp.dir);
      expect(bad.ok ? [] : bad.errors).toEqual([
        `mqtt.tls.keyFile: cannot read ${path.join(tmp.dir, 'nope.key')} (ENOENT)`,
        'mqtt.tls.caFile: is required with mqtt.tls.requireClientCert (the CA that signs device certificates)',
      ]);
    } finally {
      tmp.remove();
    }
  });

  it('names the listeners that put secrets on the LAN in clear', () => {
    expect(plainLanListeners({ mqtt: { host: '127.0.0.1' }, http: { host: '::1', secureCookies: false } })).toEqual([]);
    expect(plainLanListeners({ mqtt: { host: '0.0.0.0' }, http: { host: '0.0.0.0', secureCookies: false } }).map((w) => w.slice(0, w.indexOf(':')))).toEqual(['mqtt.host', 'http.host']);
    expect(plainLanListeners({ mqtt: { host: '127.0.0.1' }, http: { host: '10.0.0.2', tls: {}, secureCookies: false } })).toEqual([]);
    expect(plainLanListeners({ mqtt: { host: '127.0.0.1' }, http: { host: '10.0.0.2', secureCookies: true } })).toEqual([]);
  });
});
