import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { bridgeIdOf, loadBridgeConfigFile, parseBridgeConfig, readPassword } from '../../../firmware-bridge/config.js';
import { tempDir } from '../../helpers/tmp.js';

const base = {
  mqtt: { url: 'mqtt://127.0.0.1:1883', username: 'bridge/kb', password: 'secret' },
  devices: [
    { kind: 'scale', id: 'k1-produce', protocol: 'mtsics', serial: { path: '/dev/ttyUSB0' } },
    { kind: 'rfid', id: 'k1-basket', protocol: 'chafon', serial: { path: '/dev/ttyUSB1', baudRate: 57600 } },
    { kind: 'scanner', id: 'k1-scanner', protocol: 'hidScanner', hid: { vendorId: 1504, productId: 4608 } },
    { kind: 'footfall', id: 'door', protocol: 'beams', gpio: { beamA: 17, beamB: 27 } },
    { kind: 'light', id: 'k1-light', protocol: 'lightTower', gpio: { green: 5, amber: 6, red: 13 } },
  ],
};
function withDevices(mut: (d: Record<string, unknown>[]) => void): string {
  const c = structuredClone(base) as { devices: Record<string, unknown>[] };
  mut(c.devices);
  return stringify(c);
}
function errorsOf(text: string, env: Record<string, string> = {}): string[] {
  const r = parseBridgeConfig(text, env);
  return r.ok ? [] : r.errors;
}

const tmp = tempDir('sgw-bridge-cfg-');
afterAll(() => tmp.remove());

describe('bridge config', () => {
  it('accepts a valid config, fills defaults and freezes it', () => {
    const r = parseBridgeConfig(stringify(base));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.devices[0].serial).toEqual({ path: '/dev/ttyUSB0', baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1, xon: false, rtscts: false, presenceCheckMs: 1000 });
    expect(r.config.devices[2].options).toEqual({ mode: 'keyboard' });
    expect(r.config.mqtt.reconnect).toEqual({ initialMs: 250, maxMs: 10_000, factor: 2 });
    expect(bridgeIdOf(r.config)).toBe('kb');
    expect(Object.isFrozen(r.config.devices[0].serial)).toBe(true);
  });

  it('names the path of a missing serial path', () => {
    expect(errorsOf(withDevices((d) => delete (d[1].serial as Record<string, unknown>).path))).toEqual(['devices[1].serial.path: is required']);
  });

  it('reports every error at once, each with its path', () => {
    const errs = errorsOf(
      withDevices((d) => {
        d[0].protocol = 'nmea';
        (d[1].serial as Record<string, unknown>).parity = 'sometimes';
        d[2].hid = { vendorId: 70000 };
      }),
    );
    expect(errs).toContain('devices[0].protocol: must be one of "mtsics", "toledoContinuous", "chafon", "hidScanner", "beams", "lightTower", "escpos", "oepl", "zvt"');
    expect(errs).toContain('devices[1].serial.parity: must be one of "none", "even", "odd", "mark", "space"');
    expect(errs).toContain('devices[2].hid.vendorId: must be <= 65535');
  });

  it('checks kind against protocol, the port each protocol needs, lines and duplicates', () => {
    const errs = errorsOf(
      withDevices((d) => {
        d[0].kind = 'rfid';
        d[1].serial = undefined;
        d[1].gpio = { green: 1 };
        d[2].hid = {};
        d[3].gpio = { beamA: 4 };
        d[4].id = 'door';
        d[4].kind = 'footfall';
        d.push({ kind: 'scale', id: 'b', protocol: 'toledoContinuous', serial: { path: '/dev/ttyUSB0' } });
      }),
    );
    expect(errs).toEqual(
      expect.arrayContaining([
        'devices[0].kind: protocol mtsics publishes as kind "scale" (got "rfid")',
        'devices[1].serial: is required for protocol chafon',
        'devices[1].gpio: is not used by protocol chafon (it needs serial)',
        'devices[2].hid: give path, or vendorId and productId',
        'devices[3].gpio.beamB: is required for protocol beams',
        'devices[4].kind: protocol lightTower publishes as kind "light" (got "footfall")',
        'devices[4].id: duplicates devices[3] (footfall/door)',
        'devices[5].serial.path: /dev/ttyUSB0 is already used by devices[0]',
      ]),
    );
  });

  it("checks each protocol's options under the device's path", () => {
    const errs = errorsOf(
      withDevices((d) => {
        d[0].options = { mode: 'burst', pollIntervalMs: 5 };
        d[1].options = { antennas: [5], speed: 3 };
      }),
    );
    expect(errs).toEqual(
      expect.arrayContaining([
        'devices[0].options.mode: must be one of "poll", "stream"',
        'devices[0].options.pollIntervalMs: must be >= 20',
        'devices[1].options.antennas[0]: must be <= 4',
        'devices[1].options.speed: is not allowed',
      ]),
    );
  });

  it('needs bridge/{id}, a password or a password file (not both), a url, and devices', () => {
    const c = structuredClone(base) as Record<string, unknown> & { mqtt: Record<string, unknown> };
    c.mqtt.username = 'scale/k1';
    c.mqtt.url = 'http://x';
    expect(errorsOf(stringify(c))).toEqual(
      expect.arrayContaining([expect.stringMatching(/^mqtt\.url: must match pattern/), expect.stringMatching(/^mqtt\.username: must match pattern/)]),
    );
    delete c.mqtt.password;
    c.mqtt.username = 'bridge/kb';
    c.mqtt.url = 'mqtt://h:1';
    expect(errorsOf(stringify(c))).toEqual(['mqtt.password: is required (or mqtt.passwordFile)']);
    c.mqtt.password = 'p';
    c.mqtt.passwordFile = 'f';
    expect(errorsOf(stringify(c))).toEqual(['mqtt.passwordFile: give password or passwordFile, not both']);
    expect(errorsOf(stringify({ mqtt: base.mqtt, devices: [] }))).toEqual(['devices: must NOT have fewer than 1 items']);
    expect(errorsOf('a: [')[0]).toMatch(/^\(yaml\) line 1/);
    expect(errorsOf('- 1')).toEqual(['(root): must be a mapping of settings']);
    expect(errorsOf('*!')).toEqual([expect.stringMatching(/^\(yaml\) Unresolved alias/)]);
  });

  it('lets STOREGW_BRIDGE_* env override the file', () => {
    const r = parseBridgeConfig(stringify(base), { STOREGW_BRIDGE_MQTT_URL: 'mqtt://10.0.0.2:1883', STOREGW_BRIDGE_LOG_LEVEL: 'debug' });
    expect(r.ok && r.config.mqtt.url).toBe('mqtt://10.0.0.2:1883');
    expect(r.ok && r.config.log.level).toBe('debug');
  });

  it('resolves passwordFile next to the config file and reads it', () => {
    const dir = path.join(tmp.dir, 'etc');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'bridge.secret'), 'from-file\n');
    const c = structuredClone(base) as { mqtt: Record<string, unknown> };
    delete c.mqtt.password;
    c.mqtt.passwordFile = 'bridge.secret';
    writeFileSync(path.join(dir, 'bridge.yaml'), stringify(c));
    const r = loadBridgeConfigFile(path.join(dir, 'bridge.yaml'), {});
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.mqtt.passwordFile).toBe(path.join(dir, 'bridge.secret'));
    expect(readPassword(r.config)).toBe('from-file');
    expect(loadBridgeConfigFile(path.join(dir, 'missing.yaml'), {})).toEqual({ ok: false, errors: [`(file) ${path.join(dir, 'missing.yaml')}: ENOENT`] });
  });

  it('the shipped demo and example configs are valid', () => {
    for (const f of ['config/bridge-demo.yaml', 'config/bridge-example.yaml']) {
      const r = loadBridgeConfigFile(f, {});
      expect(r.ok ? [] : r.errors).toEqual([]);
    }
  });
});
