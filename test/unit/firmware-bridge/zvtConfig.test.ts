import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseBridgeConfig } from '../../../firmware-bridge/config.js';

const mqtt = { url: 'mqtt://127.0.0.1:1883', username: 'bridge/kb', password: 'secret' };
const errorsOf = (device: Record<string, unknown>): string[] => {
  const r = parseBridgeConfig(stringify({ mqtt, devices: [device] }));
  return r.ok ? [] : r.errors;
};
const pt = { kind: 'payment', id: 'pt-1', protocol: 'zvt' };

describe('bridge config: zvt terminals', () => {
  it('takes a terminal on TCP or on RS-232, with its options', () => {
    expect(errorsOf({ ...pt, tcp: { host: '192.168.1.50', port: 20007 }, options: { stateDir: '/var/lib/storegw-bridge', password: '123456', currency: 'EUR', t3Ms: 5000, t4Ms: 180000 } })).toEqual([]);
    expect(errorsOf({ ...pt, serial: { path: '/dev/ttyS0', stopBits: 2 }, options: { stateDir: 'state' } })).toEqual([]);
  });
  it('takes the flood bounds of terminals and printers, and names one out of range', () => {
    expect(errorsOf({ ...pt, tcp: { host: 'pt', port: 20007 }, options: { stateDir: 's', promptGapMs: 100, maxMessagesPerExchange: 500 } })).toEqual([]);
    expect(errorsOf({ ...pt, tcp: { host: 'pt', port: 20007 }, options: { stateDir: 's', maxMessagesPerExchange: 1 } })).toEqual([expect.stringMatching(/^devices\[0\]\.options\.maxMessagesPerExchange/)]);
    const printer = { kind: 'printer', id: 'pr-1', protocol: 'escpos', tcp: { host: 'pr', port: 9100 } };
    expect(errorsOf({ ...printer, options: { statusGapMs: 200, alertRepeatMs: 60_000 } })).toEqual([]);
    expect(errorsOf({ ...printer, options: { alertRepeatMs: -1 } })).toEqual([expect.stringMatching(/^devices\[0\]\.options\.alertRepeatMs/)]);
  });
  it('names what is wrong: no journal folder, a bad password, the wrong kind, a port it cannot use', () => {
    expect(errorsOf({ ...pt, tcp: { host: 'pt', port: 20007 } })).toEqual([expect.stringMatching(/^devices\[0\]\.options.*stateDir/)]);
    expect(errorsOf({ ...pt, tcp: { host: 'pt', port: 20007 }, options: { stateDir: 's', password: '12ab56' } })).toEqual([expect.stringMatching(/^devices\[0\]\.options\.password/)]);
    expect(errorsOf({ ...pt, kind: 'scale', tcp: { host: 'pt', port: 20007 }, options: { stateDir: 's' } })).toEqual(['devices[0].kind: protocol zvt publishes as kind "payment" (got "scale")']);
    expect(errorsOf({ ...pt, hid: { path: '/dev/hidraw0' }, options: { stateDir: 's' } })).toContain('devices[0].hid: is not used by protocol zvt (it needs tcp or serial)');
  });
});
