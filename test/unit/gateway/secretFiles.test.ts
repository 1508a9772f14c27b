import { describe, expect, it } from 'vitest';
import { configFileProblem, keyFileProblem } from '../../../gateway/secretFiles.js';

const ME = 1000;

describe('keyFileProblem', () => {
  it('accepts 0600 and 0400 of the service user, and root-owned 0640', () => {
    for (const mode of [0o600, 0o400]) expect(keyFileProblem('hq.keyFile', '/k', { mode: 0o100000 | mode, uid: ME })).toBeNull();
    expect(keyFileProblem('hq.keyFile', '/k', { mode: 0o100640, uid: 0 })).toBeNull();
  });

  it('refuses any group/other bit of a user-owned key, and other bits or group write of a root-owned one, naming field, file and mode', () => {
    for (const mode of [0o640, 0o604, 0o644, 0o660, 0o602]) {
      expect(keyFileProblem('mqtt.tls.keyFile', '/etc/storegw/gw.key', { mode, uid: ME })).toBe(
        `mqtt.tls.keyFile: /etc/storegw/gw.key can be read or written by group/others (mode 0${mode.toString(8)}); chmod 600 it (or 640 owned by root)`,
      );
    }
    for (const mode of [0o644, 0o660, 0o604]) expect(keyFileProblem('http.tls.keyFile', '/k', { mode, uid: 0 })).toMatch(/^http\.tls\.keyFile: \/k /);
  });
});

describe('configFileProblem', () => {
  it('accepts 0600 and group-readable 0640', () => {
    expect(configFileProblem('/c.yaml', { mode: 0o600, uid: ME })).toBeNull();
    expect(configFileProblem('/c.yaml', { mode: 0o640, uid: 0 })).toBeNull();
  });

  it('refuses a config others can read, or anyone but its owner can write', () => {
    expect(configFileProblem('/c.yaml', { mode: 0o644, uid: ME })).toBe('(config file) /c.yaml: holds password hashes and can be read by others (mode 0644); chmod 640 it');
    expect(configFileProblem('/c.yaml', { mode: 0o660, uid: ME })).toMatch(/can be written by group\/others \(mode 0660\)/);
    expect(configFileProblem('/c.yaml', { mode: 0o602, uid: ME })).toMatch(/can be written/);
  });
});
