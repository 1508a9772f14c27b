/**
 * The bridge config of an OpenEPaperLink AP: protocol `oepl` publishes as kind `esl`, needs an
 * `http` port, checks its options (naming the field), and the factory builds the driver on it.
 */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseBridgeConfig } from '../../../../../firmware-bridge/config.js';
import { createDrivers, type Transports } from '../../../../../firmware-bridge/driverFactory.js';
import { OeplDriver } from '../../../../../firmware-bridge/devices/oepl/driver.js';
import { silentLogger } from '../../../../../firmware-bridge/devices/deviceDriver.js';

const parse = (devices: unknown[]) => parseBridgeConfig(stringify({ mqtt: { url: 'mqtt://127.0.0.1:1883', username: 'bridge/b1', password: 'p' }, devices }));
const AP = { kind: 'esl', id: 'ap-1', protocol: 'oepl', http: { url: 'http://10.20.0.5' } };

describe('oepl in the bridge config', () => {
  it('builds an OeplDriver from an http port and options', () => {
    const r = parse([{ ...AP, options: { tags: { L1: '021EF2F2341B' }, ttlMinutes: 10, tagSleep: 'leave', layouts: { shelf: [{ text: [0, 0, '{price}', 'fonts/bahnschrift20', 1] }] }, layoutByHwType: { '1': 'shelf' } } }]);
    if (!r.ok) throw new Error(r.errors.join('; '));
    const [d] = createDrivers(r.config, { transports: {} as Transports, logger: silentLogger() });
    expect(d).toBeInstanceOf(OeplDriver);
    expect(d!.kind).toBe('esl');
    expect(d!.id).toBe('ap-1');
  });

  it('names what is wrong', () => {
    const r = parse([
      { ...AP, kind: 'scale' },
      { kind: 'esl', id: 'ap-2', protocol: 'oepl', serial: { path: '/dev/ttyUSB0' } },
      { ...AP, id: 'ap-3', options: { tags: { L1: 'not-a-mac' } } },
      { ...AP, id: 'ap-4', options: { tagSleep: 'never' } },
    ]);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const text = r.errors.join('\n');
    expect(text).toContain('devices[0].kind: protocol oepl publishes as kind "esl" (got "scale")');
    expect(text).toContain('devices[1].http: is required for protocol oepl');
    expect(text).toContain('devices[2].options.tags');
    expect(text).toContain('devices[3].options.tagSleep');
  });
});
