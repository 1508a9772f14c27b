import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  DEVICE_KINDS,
  deviceUsername,
  parseDeviceTopic,
  parseDeviceUsername,
  topicMatches,
  topics,
} from '../../../../gateway/protocol/topics.js';

describe('parseDeviceTopic', () => {
  it('parses every channel of the v1 contract', () => {
    expect(parseDeviceTopic('store/v1/dev/footfall/door-1/evt/count')).toEqual({
      ok: true,
      topic: { channel: 'evt', kind: 'footfall', deviceId: 'door-1', type: 'count' },
    });
    expect(parseDeviceTopic('store/v1/dev/scale/k1-bagging/cmd/tare')).toEqual({
      ok: true,
      topic: { channel: 'cmd', kind: 'scale', deviceId: 'k1-bagging', type: 'tare' },
    });
    for (const channel of ['birth', 'state', 'rej'] as const) {
      expect(parseDeviceTopic(`store/v1/dev/esl/ap-1/${channel}`)).toEqual({ ok: true, topic: { channel, kind: 'esl', deviceId: 'ap-1' } });
    }
  });

  it('round-trips the builders', () => {
    for (const kind of DEVICE_KINDS) {
      expect(parseDeviceTopic(topics.evt(kind, 'x.1:2', 'heartbeat'))).toEqual({ ok: true, topic: { channel: 'evt', kind, deviceId: 'x.1:2', type: 'heartbeat' } });
      expect(parseDeviceTopic(topics.birth(kind, 'a'))).toMatchObject({ ok: true });
      expect(parseDeviceTopic(topics.state(kind, 'a'))).toMatchObject({ ok: true });
      expect(parseDeviceTopic(topics.rej(kind, 'a'))).toMatchObject({ ok: true });
      expect(parseDeviceTopic(topics.cmd(kind, 'a', 'show'))).toMatchObject({ ok: true });
    }
  });

  const bad: [string, RegExp][] = [
    ['store/v1/dev/footfall/door-1', /^topic: must look like store\/v1\/dev\//],
    ['store/v2/dev/footfall/door-1/evt/count', /^topic: must look like/],
    ['shop/v1/dev/footfall/door-1/evt/count', /^topic: must look like/],
    ['', /^topic: must look like/],
    ['store/v1/dev/toaster/t-1/evt/count', /^topic\.kind: must be one of esl, scale, .* \(got "toaster"\)$/],
    ['store/v1/dev/footfall/+/evt/count', /^topic\.deviceId: must match/],
    ['store/v1/dev/footfall/-lead/evt/count', /^topic\.deviceId: must match/],
    ['store/v1/dev/footfall//evt/count', /^topic\.deviceId: must match/],
    [`store/v1/dev/footfall/${'a'.repeat(65)}/evt/count`, /^topic\.deviceId: must match/],
    ['store/v1/dev/footfall/door-1/evt/count/extra', /^topic: too many levels$/],
    ['store/v1/dev/footfall/door-1/birth/x', /^topic: birth takes no further level$/],
    ['store/v1/dev/footfall/door-1/state/x', /^topic: state takes no further level$/],
    ['store/v1/dev/footfall/door-1/evt', /^topic\.type: must be a lowerCamel word after evt\/$/],
    ['store/v1/dev/footfall/door-1/evt/', /^topic\.type: must be a lowerCamel word after evt\/$/],
    ['store/v1/dev/footfall/door-1/evt/Count', /^topic\.type: /],
    ['store/v1/dev/footfall/door-1/evt/#', /^topic\.type: /],
    ['store/v1/dev/footfall/door-1/cmd/+', /^topic\.type: must be a lowerCamel word after cmd\/$/],
    ['store/v1/dev/footfall/door-1/status', /^topic\.channel: must be one of birth, state, evt, cmd, rej \(got "status"\)$/],
  ];
  it.each(bad)('refuses %j with a reason naming the level', (topic, reason) => {
    const r = parseDeviceTopic(topic);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it('property: never throws, and ok results rebuild the same topic', () => {
    const level = fc.oneof(fc.constantFrom('store', 'v1', 'dev', 'evt', 'cmd', 'birth', 'state', 'rej', 'footfall', 'esl', 'door-1', 'count', '+', '#', ''), fc.string({ maxLength: 6 }));
    fc.assert(
      fc.property(fc.array(level, { maxLength: 9 }), fc.boolean(), (levels, prefix) => {
        const t = (prefix ? ['store', 'v1', 'dev', ...levels] : levels).join('/');
        const r = parseDeviceTopic(t);
        if (r.ok) {
          const p = r.topic;
          const rebuilt = p.channel === 'evt' || p.channel === 'cmd' ? topics[p.channel](p.kind, p.deviceId, p.type) : topics[p.channel](p.kind, p.deviceId);
          expect(rebuilt).toBe(t);
        } else expect(r.reason).toMatch(/^topic(\.\w+)?: /);
      }),
    );
  });
});

describe('topicMatches', () => {
  const cases: [string, string, boolean][] = [
    ['a/b/c', 'a/b/c', true],
    ['a/b/c', 'a/b', false],
    ['a/b', 'a/b/c', false],
    ['a/+/c', 'a/x/c', true],
    ['a/+/c', 'a/x/y/c', false],
    ['a/+', 'a/', true], // an empty level is a level
    ['+/+', '/x', true],
    ['a/#', 'a/b/c', true],
    ['a/#', 'a', true], // [MQTT-4.7.1-2] '#' also matches the parent level
    ['#', 'a/b', true],
    ['a/b/#', 'a/c', false],
    ['store/v1/dev/+/+/evt/#', 'store/v1/dev/footfall/door-1/evt/count', true],
    ['store/v1/dev/+/+/evt/#', 'store/v1/dev/footfall/door-1/state', false],
    // [MQTT-4.7.2-1] wildcards at the first level do not match '$' topics …
    ['#', '$SYS/broker/uptime', false],
    ['+/broker/uptime', '$SYS/broker/uptime', false],
    ['+', '$storegw', false],
    // … but a literal '$' first level does
    ['$SYS/#', '$SYS/broker/uptime', true],
    ['$storegw/rejected', '$storegw/rejected', true],
  ];
  it.each(cases)('%s vs %s → %s', (filter, topic, want) => {
    expect(topicMatches(filter, topic)).toBe(want);
  });
});

describe('device usernames', () => {
  it('builds and parses {kind}/{id}', () => {
    expect(deviceUsername('rfid', 'gate-1')).toBe('rfid/gate-1');
    expect(parseDeviceUsername('rfid/gate-1')).toEqual({ kind: 'rfid', deviceId: 'gate-1' });
    expect(parseDeviceUsername('kiosk/k1.a:b_c')).toEqual({ kind: 'kiosk', deviceId: 'k1.a:b_c' });
  });

  it.each([
    ['no slash', 'footfall'],
    ['unknown kind', 'toaster/t-1'],
    ['empty id', 'footfall/'],
    ['id with a slash', 'footfall/a/b'],
    ['wildcard id', 'footfall/+'],
    ['bridge user', 'bridge/kiosk-bridge'],
    ['service user', 'analytics'],
    ['empty', ''],
  ])('returns null for %s', (_what, username) => {
    expect(parseDeviceUsername(username)).toBeNull();
  });
});
