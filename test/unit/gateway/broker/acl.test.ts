import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canPublish, canSubscribe, filterCovered, type Identity } from '../../../../gateway/broker/acl.js';
import { topicMatches } from '../../../../gateway/protocol/topics.js';

const door1: Identity = { type: 'device', username: 'footfall/door-1', kind: 'footfall', deviceId: 'door-1' };
const bridge: Identity = { type: 'bridge', username: 'bridge/kb', bridgeId: 'kb', devices: new Set(['scale/bag-1', 'scanner/k1-scanner']) };
const analytics: Identity = {
  type: 'service',
  username: 'analytics',
  read: ['store/v1/dev/+/+/evt/#', 'store/v1/dev/+/+/state'],
  write: ['local/analytics/#'],
};
const root = (o: Identity, t: string) => canPublish(o, t).ok;

describe('canPublish', () => {
  it('a device writes its own evt, birth and state', () => {
    expect(canPublish(door1, 'store/v1/dev/footfall/door-1/evt/count')).toEqual({ ok: true, topic: { channel: 'evt', kind: 'footfall', deviceId: 'door-1', type: 'count' } });
    expect(canPublish(door1, 'store/v1/dev/footfall/door-1/birth')).toEqual({ ok: true, topic: { channel: 'birth', kind: 'footfall', deviceId: 'door-1' } });
    expect(canPublish(door1, 'store/v1/dev/footfall/door-1/state')).toEqual({ ok: true, topic: { channel: 'state', kind: 'footfall', deviceId: 'door-1' } });
  });

  it("a device writes neither another device's topics nor its own cmd and rej", () => {
    expect(canPublish(door1, 'store/v1/dev/footfall/door-2/evt/count')).toEqual({ ok: false, reason: 'footfall/door-1 may not write under footfall/door-2' });
    expect(canPublish(door1, 'store/v1/dev/esl/door-1/evt/heartbeat')).toMatchObject({ ok: false }); // same id, other kind
    expect(canPublish(door1, 'store/v1/dev/footfall/door-1/cmd/reset')).toEqual({ ok: false, reason: 'footfall/door-1 may not write cmd topics' });
    expect(canPublish(door1, 'store/v1/dev/footfall/door-1/rej')).toEqual({ ok: false, reason: 'footfall/door-1 may not write rej topics' });
  });

  it('a topic outside the contract is refused with the parser reason; $-topics always', () => {
    expect(canPublish(door1, 'store/v1/dev/footfall/door-1/evt')).toEqual({ ok: false, reason: 'topic.type: must be a lowerCamel word after evt/' });
    expect(canPublish(door1, 'anything/else')).toMatchObject({ ok: false, reason: expect.stringMatching(/^topic: must look like/) });
    expect(canPublish(door1, '$SYS/broker/x')).toEqual({ ok: false, reason: '$-topics are reserved for the broker' });
    expect(canPublish(analytics, '$SYS/x')).toEqual({ ok: false, reason: '$-topics are reserved for the broker' });
  });

  it('a bridge writes for its configured devices only', () => {
    expect(root(bridge, 'store/v1/dev/scale/bag-1/evt/weight')).toBe(true);
    expect(root(bridge, 'store/v1/dev/scanner/k1-scanner/birth')).toBe(true);
    expect(root(bridge, 'store/v1/dev/scale/bag-2/evt/weight')).toBe(false);
    expect(root(bridge, 'store/v1/dev/scale/bag-1/cmd/tare')).toBe(false);
  });

  it('a service user writes what its write patterns match, nothing else', () => {
    expect(canPublish(analytics, 'local/analytics/kpi/hour')).toEqual({ ok: true, topic: null });
    expect(canPublish(analytics, 'local/analytics')).toEqual({ ok: true, topic: null }); // '#' matches the parent level
    expect(canPublish(analytics, 'store/v1/dev/footfall/door-1/evt/count')).toEqual({ ok: false, reason: 'service user analytics may not write store/v1/dev/footfall/door-1/evt/count' });
  });
});

describe('service users on device topics, whatever their patterns', () => {
  const integrator: Identity = { type: 'service', username: 'integrator', read: ['#'], write: ['#'] };

  it('never write a device cmd or rej topic, nor a gateway record type', () => {
    expect(canPublish(integrator, 'store/v1/dev/light/l1/cmd/set')).toEqual({ ok: false, reason: 'service user integrator may not write device cmd topics', refused: 'service_device_write' });
    expect(canPublish(integrator, 'store/v1/dev/light/l1/rej')).toMatchObject({ ok: false, refused: 'service_device_write' });
    expect(canPublish(integrator, 'store/v1/dev/kiosk/k1/evt/transaction')).toMatchObject({ ok: false, reason: expect.stringContaining('kiosk transaction') });
    expect(canPublish(integrator, 'store/v1/dev/light/storegw/evt/alert')).toMatchObject({ ok: false, refused: 'service_device_write' });
  });

  it('never retain on a device topic; outside the device tree their patterns decide', () => {
    expect(canPublish(integrator, 'store/v1/dev/footfall/door-1/state', true)).toMatchObject({ ok: false, reason: 'service user integrator may not retain on device topics' });
    expect(canPublish(integrator, 'local/x', true)).toEqual({ ok: true, topic: null });
    expect(canPublish(integrator, 'local/x')).toEqual({ ok: true, topic: null });
  });

  it('never speak for a device: no event, birth or state, not even a malformed device topic', () => {
    for (const t of ['store/v1/dev/footfall/door-1/evt/count', 'store/v1/dev/payment/p1/evt/result', 'store/v1/dev/scanner/s1/evt/scan', 'store/v1/dev/footfall/door-1/state', 'store/v1/dev/footfall/door-1/birth', 'store/v1/dev/nokind/x/evt/y']) {
      expect(canPublish(integrator, t)).toMatchObject({ ok: false, refused: 'service_device_write', reason: expect.stringContaining('may not write device topics') });
    }
  });
});

describe('canSubscribe', () => {
  it('a device reads its own cmd/# (or one cmd type) and rej', () => {
    for (const f of ['store/v1/dev/footfall/door-1/cmd/#', 'store/v1/dev/footfall/door-1/cmd/+', 'store/v1/dev/footfall/door-1/cmd/reset', 'store/v1/dev/footfall/door-1/rej']) {
      expect(canSubscribe(door1, f), f).toEqual({ ok: true });
    }
  });

  it('a device reads nothing else', () => {
    for (const f of [
      'store/v1/dev/footfall/door-2/cmd/#',
      'store/v1/dev/+/+/cmd/#',
      'store/v1/dev/footfall/+/cmd/#',
      'store/v1/dev/+/door-1/cmd/#',
      'store/v1/dev/footfall/door-1/#',
      'store/v1/dev/footfall/door-1/evt/#',
      'store/v1/dev/footfall/door-1/cmd',
      'store/v1/dev/footfall/door-1/cmd/a/b',
      'store/v1/dev/footfall/door-1/rej/#',
      'store/v1/dev/footfall/door-1/birth',
      'store/v1/#',
      '#',
      '+/+/+/+/+/+/+',
    ]) {
      const r = canSubscribe(door1, f);
      expect(r.ok, f).toBe(false);
    }
    expect(canSubscribe(door1, '$SYS/#')).toEqual({ ok: false, reason: '$-topics are reserved for the broker' });
  });

  it("a bridge reads its devices' cmd and rej, not other devices'", () => {
    expect(canSubscribe(bridge, 'store/v1/dev/scale/bag-1/cmd/#').ok).toBe(true);
    expect(canSubscribe(bridge, 'store/v1/dev/scanner/k1-scanner/rej').ok).toBe(true);
    expect(canSubscribe(bridge, 'store/v1/dev/scale/bag-2/cmd/#').ok).toBe(false);
    expect(canSubscribe(bridge, 'store/v1/dev/scale/+/cmd/#').ok).toBe(false);
  });

  it('a service user reads filters its read patterns cover', () => {
    expect(canSubscribe(analytics, 'store/v1/dev/+/+/evt/#').ok).toBe(true);
    expect(canSubscribe(analytics, 'store/v1/dev/footfall/+/evt/count').ok).toBe(true);
    expect(canSubscribe(analytics, 'store/v1/dev/footfall/door-1/state').ok).toBe(true);
    expect(canSubscribe(analytics, 'store/v1/dev/+/+/+/#').ok).toBe(false);
    expect(canSubscribe(analytics, 'store/v1/dev/#').ok).toBe(false);
    expect(canSubscribe(analytics, '#')).toEqual({ ok: false, reason: 'service user analytics may not read #' });
    expect(canSubscribe(analytics, 'store/v1/dev/footfall/door-1/cmd/#').ok).toBe(false);
  });
});

describe('filterCovered', () => {
  it.each([
    ['a/b', 'a/b', true],
    ['a/b', 'a/+', true],
    ['a/+', 'a/+', true],
    ['a/+', 'a/#', true],
    ['a/b/c', 'a/#', true],
    ['a/#', 'a/#', true],
    ['a/#', '#', true],
    ['a/+', 'a/b', false],
    ['a/#', 'a/+', false],
    ['#', 'a/#', false],
    ['a/b/c', 'a/+', false],
    ['a', 'a/b', false],
  ])('%s under %s → %s', (f, p, want) => {
    expect(filterCovered(f, p)).toBe(want);
  });

  it('a $-filter is not covered by a pattern whose first level is a wildcard ([MQTT-4.7.2-1])', () => {
    // '#' and '+/…' never match '$SYS/…' topics, so they cannot cover a '$SYS/…' filter.
    expect(topicMatches('#', '$SYS/broker')).toBe(false);
    expect(filterCovered('$SYS/#', '#')).toBe(false);
    expect(filterCovered('$SYS/broker', '+/broker')).toBe(false);
    expect(filterCovered('$SYS/broker', '$SYS/+')).toBe(true);
  });

  // Filters and patterns from a small alphabet so that coverage actually happens; '#' only last.
  const filterArb = (levels: string[]) =>
    fc
      .tuple(fc.array(fc.constantFrom(...levels, '+'), { minLength: 0, maxLength: 3 }), fc.boolean())
      .map(([ls, hash]) => (hash ? [...ls, '#'] : ls.length ? ls : ['a']).join('/'));
  /** Every topic of 1-4 levels over the alphabet: checking all of them makes "every topic" literal. */
  const allTopics = (alphabet: string[]) => {
    const out: string[] = [];
    let layer: string[][] = [[]];
    for (let n = 1; n <= 4; n++) {
      layer = layer.flatMap((t) => alphabet.map((l) => [...t, l]));
      out.push(...layer.map((t) => t.join('/')));
    }
    return out;
  };

  it('property: filterCovered(f, p) implies every topic matching f matches p', () => {
    const alphabet = ['a', 'b', ''];
    const topicsAll = allTopics(alphabet);
    fc.assert(
      fc.property(filterArb(alphabet), filterArb(alphabet), (f, p) => {
        if (!filterCovered(f, p)) return;
        for (const t of topicsAll) if (topicMatches(f, t)) expect(topicMatches(p, t), `${t} matches ${f} but not ${p}`).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: also with $-topics, which first-level wildcards do not match [MQTT-4.7.2-1]', () => {
    const alphabet = ['a', '$SYS', ''];
    const topicsAll = allTopics(alphabet);
    fc.assert(
      fc.property(filterArb(alphabet), filterArb(alphabet), (f, p) => {
        if (!filterCovered(f, p)) return;
        for (const t of topicsAll) if (topicMatches(f, t)) expect(topicMatches(p, t), `${t} matches ${f} but not ${p}`).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
