/**
 * What any MQTT 3.1.1 broker owes about `$` topics, checked against the gateway process:
 * - [MQTT-4.7.2-1] a subscription whose filter starts with `#` or `+` does not match a topic that
 *   starts with `$`: a service user subscribed to `#` never sees `$storegw/rejected` (where refused
 *   events are parked) nor aedes' `$SYS/...` announcements;
 * - a client cannot publish to a `$` topic (they are the broker's), nor subscribe to one.
 * Each case ends with a sentinel event the watcher must receive, so "nothing seen" means "nothing
 * delivered", not "not delivered yet".
 */
import fc from 'fast-check';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, suback, TEST_SECRET } from '../helpers/gatewayHarness.js';
import { Bystander, SEED, Tally, startHostileGateway, withTimeout, type HostileGateway } from './harness.js';

let gw: HostileGateway;
let bystander: Bystander;
const tally = new Tally('mqtt-$-topics');

beforeAll(async () => {
  gw = await startHostileGateway({ serviceUsers: [{ username: 'watcher', read: ['#'], write: ['#'] }] });
  bystander = await Bystander.connect(gw);
}, 60_000);
afterAll(async () => {
  tally.print();
  await bystander?.end();
  await gw?.stop();
});

/** A filter that starts with a wildcard and could match a `$` topic if the broker forgot the rule. */
const wildFilter = fc.oneof(
  fc.constantFrom('#', '+/#', '+/rejected', '+/+', '+/+/#', '+/+/+', '+/+/new/clients', '+/+/+/+', '+/+/heartbeat'),
  fc.array(fc.constantFrom('+', 'rejected', 'new', 'clients', 'heartbeat', 'storegw'), { minLength: 1, maxLength: 4 }).map((l) => ['+', ...l].join('/')),
);

/** Makes the broker publish on `$` topics: a refused event (→ `$storegw/rejected`) and a new client (→ `$SYS/…/new/clients`). */
async function provokeDollarTopics(): Promise<void> {
  const dev = await connectDevice(gw.mqttUrl, 'footfall/door-1', TEST_SECRET);
  await dev.publishAsync('store/v1/dev/footfall/door-1/evt/count', '{"in": "not a number"}', { qos: 1 });
  await dev.endAsync();
}

async function watcherOn(filters: string[]): Promise<{ c: MqttClient; seen: string[] }> {
  const c = await connectDevice(gw.mqttUrl, 'watcher', TEST_SECRET);
  const seen: string[] = [];
  c.on('message', (t) => seen.push(t));
  for (const f of filters) expect(await suback(c, f)).toBe(1);
  return { c, seen };
}

/** Waits until the watcher got the bystander's next event (it matches `#`), so everything before it was delivered. */
async function sentinel(seen: string[]): Promise<void> {
  const before = seen.length;
  await bystander.check();
  await withTimeout(
    (async () => {
      while (!seen.slice(before).includes('store/v1/dev/footfall/door-2/evt/alert')) await new Promise((r) => setImmediate(r));
    })(),
    15_000,
    'the sentinel event at the watcher',
  );
}

describe('$ topics [MQTT-4.7.2-1]', () => {
  it('filters starting with a wildcard never deliver a $ topic', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(wildFilter, { minLength: 1, maxLength: 4 }), async (filters) => {
        tally.add('cases: wildcard filters');
        const { c, seen } = await watcherOn([...filters, '#']);
        await provokeDollarTopics();
        await sentinel(seen);
        await c.endAsync();
        expect(seen.filter((t) => t.startsWith('$'))).toEqual([]);
        expect(gw.alive()).toBe(true);
      }),
      { seed: SEED, numRuns: 100 },
    );
    // The provocation really happened: the refused events were dead-lettered and counted.
    expect(gw.logs((l) => l.msg === 'event rejected').length).toBeGreaterThan(0);
  }, 120_000);

  it('nobody subscribes to a $ topic, not even a service user allowed `#`', async () => {
    const c = await connectDevice(gw.mqttUrl, 'watcher', TEST_SECRET);
    for (const f of ['$SYS/#', '$storegw/rejected', '$storegw/#', '$', '$/+', '$SYS/+/new/clients']) {
      tally.add('refused: $ subscribe');
      expect(await suback(c, f)).toBe(0x80);
    }
    await c.endAsync();
  });

  it('nobody publishes to a $ topic: the connection closes and nothing is delivered or stored', async () => {
    const { c: watcher, seen } = await watcherOn(['#']);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('watcher', 'footfall/door-1'),
        fc.oneof(fc.constantFrom('$SYS/broker/clients/connected', '$storegw/rejected', '$', '$/x', '$SYS'), fc.string({ maxLength: 30 }).map((s) => `$${s}`)),
        fc.boolean(),
        async (user, topic, retain) => {
          tally.add('cases: $ publish');
          const c = await connectDevice(gw.mqttUrl, user, TEST_SECRET);
          const gone = new Promise<void>((r) => c.once('close', () => r()));
          c.publish(topic, '{"forged":true}', { qos: 1, retain });
          await withTimeout(gone, 15_000, `the connection of ${user} closes after a publish to ${topic}`);
          c.end(true);
          tally.add('refused: $ publish (connection closed)');
        },
      ),
      { seed: SEED, numRuns: 100 },
    );
    await sentinel(seen);
    await watcher.endAsync();
    expect(seen.filter((t) => t.startsWith('$'))).toEqual([]);
    expect((await gw.outbox()).filter((r) => r.deviceId !== 'door-2')).toEqual([]);
    expect(gw.alive()).toBe(true);
    expect(gw.crashLines()).toEqual([]);
  }, 120_000);
});
