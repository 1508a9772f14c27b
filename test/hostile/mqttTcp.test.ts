/**
 * Arbitrary bytes over TCP to the MQTT port, before a CONNECT and after a valid one: random packet
 * types, malformed remaining lengths, truncated packets, and valid-but-odd packets (huge topic
 * filters, publishes to topics with `+`/`#`/NUL/`$`, PINGREQ floods, UNSUBSCRIBE of nothing, a
 * second CONNECT [MQTT-3.1.0-2]). Whatever arrives: the gateway process lives, a bystander device's
 * QoS 1 events are still PUBACKed and stored exactly, and nothing the attacker sent is stored or
 * delivered to a subscriber.
 */
import net from 'node:net';
import fc from 'fast-check';
import mqttPacket from 'mqtt-packet';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, TEST_SECRET } from '../helpers/gatewayHarness.js';
import { Bystander, SEED, Tally, startHostileGateway, withTimeout, type HostileGateway } from './harness.js';

let gw: HostileGateway;
let bystander: Bystander;
let watcher: MqttClient;
/** Everything a service user subscribed to `#` was delivered. */
const watched: string[] = [];
const tally = new Tally('mqtt-tcp');

beforeAll(async () => {
  gw = await startHostileGateway({ serviceUsers: [{ username: 'watcher', read: ['#'] }] });
  bystander = await Bystander.connect(gw);
  watcher = await connectDevice(gw.mqttUrl, 'watcher', TEST_SECRET);
  watcher.on('message', (topic) => watched.push(topic));
  await watcher.subscribeAsync('#', { qos: 1 });
}, 60_000);

afterAll(async () => {
  tally.print();
  await bystander?.end();
  await watcher?.endAsync().catch(() => undefined);
  await gw?.stop();
});

const gen = (p: Record<string, unknown>): Buffer => mqttPacket.generate(p as never);

function connectPacket(username = 'footfall/door-1', password = TEST_SECRET, clientId = 'hostile-door-1'): Buffer {
  return gen({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 30, username, password: Buffer.from(password) });
}

/** Topics no device may write, or that are not topics at all. */
const oddTopic = fc.oneof(
  fc.constantFrom('#', '+', 'store/v1/dev/+/door-1/evt/count', 'store/v1/dev/footfall/door-1/evt/#', '$SYS/broker/clients', '$storegw/rejected', 'store/v1/dev/footfall/door-2/evt/alert', 'store/v1/dev/footfall/door-1/cmd/x', 'store/v1/dev/footfall/door-1/rej', 'store/v1/dev/footfall/door-1/evt/count\u0000x', '', '/', 'hq/v1/store/test-store/batch'),
  fc.string({ maxLength: 40 }).map((s) => `store/v1/dev/footfall/door-1/evt/${s}#`),
  fc.string({ maxLength: 40 }).map((s) => `$${s}`),
  fc.string({ unit: 'binary', maxLength: 64 }).map((s) => `${s}+`),
);

/** One client → server packet, valid or not. */
const packet: fc.Arbitrary<{ label: string; bytes: Buffer }> = fc.oneof(
  fc.uint8Array({ maxLength: 96 }).map((b) => ({ label: 'random bytes', bytes: Buffer.from(b) })),
  // A fixed header and a remaining length of five continuation bytes ([MQTT-2.2.3]: four at most).
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ minLength: 5, maxLength: 5 })).map(([h, l]) => ({ label: 'malformed remaining length', bytes: Buffer.from([h, ...l.map((b) => b | 0x80)]) })),
  // A header that announces up to 256 MB and then a few bytes: must be refused, not buffered.
  fc.tuple(fc.integer({ min: 1, max: 15 }), fc.integer({ min: 0, max: 268_435_455 })).map(([t, n]) => ({ label: 'announced length', bytes: Buffer.concat([Buffer.from([t << 4]), varint(n), Buffer.alloc(Math.min(n, 32), 0x41)]) })),
  fc.tuple(oddTopic, fc.uint8Array({ maxLength: 64 }), fc.constantFrom(0, 1, 2), fc.boolean()).map(([topic, payload, qos, retain]) => ({
    label: 'publish to an odd topic',
    bytes: gen({ cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain, dup: false, messageId: qos > 0 ? 7 : undefined }),
  })),
  fc.tuple(fc.oneof(oddTopic, fc.integer({ min: 1000, max: 60_000 }).map((n) => 'a/'.repeat(n / 2))), fc.constantFrom(0, 1, 2)).map(([topic, qos]) => ({
    label: 'subscribe odd or huge filter',
    bytes: gen({ cmd: 'subscribe', messageId: 9, subscriptions: [{ topic: topic || 'x', qos }] }),
  })),
  fc.array(oddTopic.filter((t) => t.length > 0), { minLength: 1, maxLength: 4 }).map((t) => ({ label: 'unsubscribe of nothing', bytes: gen({ cmd: 'unsubscribe', messageId: 11, unsubscriptions: t }) })),
  fc.integer({ min: 1, max: 200 }).map((n) => ({ label: 'pingreq flood', bytes: Buffer.concat(Array.from({ length: n }, () => Buffer.from([0xc0, 0x00]))) })),
  fc.constant({ label: 'second connect', bytes: connectPacket() }),
  fc.constant({ label: 'connect with a wrong password', bytes: connectPacket('footfall/door-2', 'wrong', 'hostile-door-2') }),
  fc.constant({ label: 'connect as nobody', bytes: connectPacket('toaster/x', TEST_SECRET, 'hostile-x') }),
  fc.constantFrom('puback', 'pubrec', 'pubrel', 'pubcomp').chain((cmd) => fc.integer({ min: 1, max: 65535 }).map((messageId) => ({ label: 'ack of nothing', bytes: gen({ cmd, messageId }) }))),
  fc.constantFrom(0x20, 0x90, 0xb0, 0xd0, 0xf0, 0x00).map((h) => ({ label: 'server-only or reserved type', bytes: Buffer.from([h, 0x02, 0x00, 0x00]) })),
  fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 4 }), fc.nat()).map(([head, cut]) => {
    const whole = gen({ cmd: 'publish', topic: 'store/v1/dev/footfall/door-1/evt/count', payload: Buffer.from(head), qos: 1, messageId: 3 });
    return { label: 'truncated publish', bytes: whole.subarray(0, cut % whole.length) };
  }),
  fc.constant({ label: 'disconnect', bytes: gen({ cmd: 'disconnect' }) }),
);

function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

/**
 * Opens a socket, optionally completes a CONNECT, writes the chunks, half-closes, and resolves
 * once the server has closed (the server does not allow half-open sockets) or after a bound.
 */
async function attack(chunks: Buffer[], connectFirst: boolean): Promise<{ connack: number | null; closedByServer: boolean }> {
  const s = net.connect({ port: gw.mqttPort, host: '127.0.0.1' });
  s.on('error', () => undefined); // a reset by the server is an allowed answer
  const closed = new Promise<void>((r) => s.once('close', () => r()));
  let received = Buffer.alloc(0);
  s.on('data', (d: Buffer) => (received = Buffer.concat([received, d])));
  await new Promise<void>((r) => s.once('connect', () => r()));
  let connack: number | null = null;
  if (connectFirst) {
    s.write(connectPacket());
    // CONNACK is 0x20 0x02 flags rc.
    await withTimeout(
      new Promise<void>((r) => {
        const check = () => (received.length >= 4 ? r() : s.once('data', check));
        check();
      }),
      15_000,
      'CONNACK',
    );
    connack = received[0] === 0x20 ? received[3] : -1;
  }
  for (const c of chunks) if (!s.destroyed) s.write(c);
  s.end();
  const byServer = await Promise.race([closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5_000))]);
  s.destroy();
  await closed;
  return { connack, closedByServer: byServer };
}

async function noHarm(): Promise<void> {
  expect(gw.alive()).toBe(true);
  await bystander.check();
  // Nothing but the bystander's events may be stored: the attacker never wrote a legal topic.
  const rogue = (await gw.outbox()).filter((r) => r.deviceId !== 'door-2');
  expect(rogue).toEqual([]);
  // Nothing with a wildcard, a NUL or a `$` in its topic reached a subscriber of `#`.
  expect(watched.filter((t) => /[+#\u0000]/.test(t) || t.startsWith('$'))).toEqual([]);
  // The attacker (door-1) never got a command, a rej or an event under another device delivered.
  expect(watched.filter((t) => /\/cmd\//.test(t) || (t.includes('/door-2/') && t !== 'store/v1/dev/footfall/door-2/evt/alert' && !t.endsWith('/state')))).toEqual([]);
}

describe('MQTT over TCP, hostile bytes', () => {
  it('before a CONNECT: anything but a CONNECT is dropped, the gateway lives', async () => {
    const lines = gw.proc.output.length;
    await fc.assert(
      fc.asyncProperty(fc.array(packet, { minLength: 1, maxLength: 6 }), async (pkts) => {
        tally.add('cases before CONNECT');
        for (const p of pkts) tally.add(`before: ${p.label}`);
        const r = await attack(
          pkts.map((p) => p.bytes),
          false,
        );
        if (r.closedByServer) tally.add('closed by server');
        await noHarm();
      }),
      { seed: SEED, numRuns: 300 },
    );
    // How much an unauthenticated peer makes the gateway write (the disk the outbox needs).
    tally.add('log lines before CONNECT', gw.proc.output.length - lines);
    expect(gw.crashLines()).toEqual([]);
  }, 120_000);

  it('after a valid CONNECT: odd and malformed packets never store, deliver or crash', async () => {
    const lines = gw.proc.output.length;
    await fc.assert(
      fc.asyncProperty(fc.array(packet, { minLength: 1, maxLength: 8 }), async (pkts) => {
        tally.add('cases after CONNECT');
        for (const p of pkts) tally.add(`after: ${p.label}`);
        const r = await attack(
          pkts.map((p) => p.bytes),
          true,
        );
        expect(r.connack).toBe(0);
        await noHarm();
      }),
      { seed: SEED, numRuns: 300 },
    );
    tally.add('log lines after CONNECT', gw.proc.output.length - lines);
    expect(gw.crashLines()).toEqual([]);
  }, 120_000);

  it('a second CONNECT on the same connection closes it [MQTT-3.1.0-2]', async () => {
    const r = await attack([connectPacket()], true);
    expect(r.connack).toBe(0);
    expect(r.closedByServer).toBe(true);
    await noHarm();
  });

  it('another credential presenting the bystander\'s client id does not throw it off', async () => {
    // identity.test.ts owns the CONNACK code; here only the harm: the bystander must stay served.
    const s = net.connect({ port: gw.mqttPort, host: '127.0.0.1' });
    s.on('error', () => undefined);
    const closed = new Promise<void>((res) => s.once('close', () => res()));
    // The answer (CONNACK, whatever its code, or a close) comes before we hang up.
    const answered = new Promise<void>((res) => {
      s.once('data', () => res());
      s.once('close', () => res());
    });
    s.write(connectPacket('footfall/door-1', TEST_SECRET, 'bystander-door-2'));
    await withTimeout(answered, 15_000, 'an answer to the CONNECT');
    s.end();
    await withTimeout(closed, 15_000, 'the server closes a half-closed connection');
    tally.add('bystander checks', bystander.sent.length);
    await noHarm();
  }, 60_000);
});
