/**
 * Hostile MQTT identities, through a real gateway process: seeded sequences of CONNECTs over
 * credentials × client ids (including zero-length and the bridge's predictable id) × clean flags ×
 * keep-alive, publishes at QoS 0/1/2 and disconnects. After every step:
 *  - the CONNACK code is what the policy says (sessionPolicy.ts: flags, then password, then the
 *    client id binding; `storegw-bridge-kb` is the bridge's from boot), so every accepted session
 *    is bound to its credential;
 *  - no credential ever disconnected another credential's session (every connection we expect
 *    open still answers a PINGREQ); only the same credential takes over its own client id;
 *  - a QoS 1 event is acknowledged, a QoS 2 publish closes only its own connection;
 *  - the gateway process lives.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { metric, spawnGateway, writeConfigFile, TEST_SECRET, type GatewayProcess } from '../helpers/gatewayHarness.js';
import { rawConnect, type RawClient } from '../helpers/rawMqtt.js';
import { tempDir } from '../helpers/tmp.js';

const MAX_KEEPALIVE = 120;
const tmp = tempDir('sgw-hostile-id-');
let gw: GatewayProcess;
let exited: Promise<string>;

beforeAll(async () => {
  const file = await writeConfigFile(tmp.dir, {
    dataDir: path.join(tmp.dir, 'data'),
    devices: [
      { kind: 'footfall', id: 'door-1' },
      { kind: 'footfall', id: 'door-2' },
      { kind: 'scale', id: 'bag-1', bridge: 'kb' },
    ],
    bridges: ['kb'],
    serviceUsers: [{ username: 'svc', read: ['local/#'], write: ['local/#'] }],
    // The per-credential cap has its own test (brokerBounds); here it must not hide a binding bug.
    extra: { mqtt: { host: '127.0.0.1', port: 0, maxPacketBytes: 65536, connectRate: { perSecond: 10_000, burst: 10_000 }, maxKeepaliveS: MAX_KEEPALIVE, maxConnectionsPerCredential: 1000 } },
  });
  gw = await spawnGateway(file);
  exited = new Promise((r) => gw.proc.once('exit', (code, sig) => r(`exited ${code ?? sig}`)));
}, 60_000);

afterAll(async () => {
  await gw?.kill('SIGKILL');
  tmp.remove();
});

interface Cred {
  username: string;
  password: string;
  /** Where this credential may publish an event (or a local topic for the service user). */
  topic: string;
  payload: () => string;
}
const now = (): string => new Date().toISOString();
const CREDS: Cred[] = [
  { username: 'footfall/door-1', password: TEST_SECRET, topic: 'store/v1/dev/footfall/door-1/evt/count', payload: () => JSON.stringify({ ts: now(), in: 1, out: 0 }) },
  { username: 'footfall/door-2', password: TEST_SECRET, topic: 'store/v1/dev/footfall/door-2/evt/count', payload: () => JSON.stringify({ ts: now(), in: 1, out: 0 }) },
  { username: 'bridge/kb', password: TEST_SECRET, topic: 'store/v1/dev/scale/bag-1/evt/weight', payload: () => JSON.stringify({ ts: now(), grams: 10, stable: true }) },
  { username: 'svc', password: TEST_SECRET, topic: 'local/svc/x', payload: () => 'x' },
  // The right username with a wrong secret: never accepted, never binds anything.
  { username: 'footfall/door-1', password: 'wrong-secret', topic: 'store/v1/dev/footfall/door-1/evt/count', payload: () => '{}' },
];
const BRIDGE = 2;
/** Client ids: two shared ones, the bridge's predictable (reserved) one, and zero-length. */
const IDS = ['A', 'B', 'storegw-bridge-kb', ''];
/** Mostly keep-alives a device would send; 0 and one above the maximum now and then. */
const keepalive = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(30, MAX_KEEPALIVE) }, { weight: 1, arbitrary: fc.constantFrom(0, MAX_KEEPALIVE + 1) });

type Action =
  | { t: 'connect'; cred: number; id: number; clean: boolean; keepalive: number }
  | { t: 'publish'; conn: number; qos: 0 | 1 | 2 }
  | { t: 'close'; conn: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant('connect' as const), cred: fc.nat(CREDS.length - 1), id: fc.nat(IDS.length - 1), clean: fc.boolean(), keepalive }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('publish' as const), conn: fc.nat(7), qos: fc.constantFrom(0 as const, 1 as const, 2 as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('close' as const), conn: fc.nat(7) }) },
);

interface Live {
  cred: number;
  clientId: string;
  c: RawClient;
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms))]);
}

async function alive(c: RawClient): Promise<boolean> {
  const pong = c.next('pingresp');
  c.send({ cmd: 'pingreq' });
  return (await within(pong, 15_000, 'PINGRESP')) !== null;
}

const stats = { runs: 0, actions: 0, accepted: 0, refused: {} as Record<number, number>, takeovers: 0, qos2Closed: 0, acked: 0 };

describe('client identities under hostile CONNECT sequences', () => {
  it('no credential disconnects another, every accepted session is its credential\'s, the gateway lives', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 16 }), async (actions) => {
        const run = ++stats.runs;
        // Each run gets its own client ids: bindings are held for a day, the model starts empty.
        // The bridge's id is reserved for it from boot, so it needs no prefix.
        const idOf = (i: number): string => (IDS[i] === '' || IDS[i].startsWith('storegw-') ? IDS[i] : `r${run}-${IDS[i]}`);
        const bound = new Map<string, number>(); // client id → username index that holds it
        const live: Live[] = [];
        try {
          for (const a of actions) {
            stats.actions++;
            if (a.t === 'connect') {
              const cred = CREDS[a.cred];
              const clientId = idOf(a.id);
              const owner = clientId.startsWith('storegw-') ? BRIDGE : bound.get(clientId);
              const user = cred.username;
              const right = cred.password === TEST_SECRET;
              const expected =
                clientId === '' && !a.clean ? 2 : a.keepalive === 0 || a.keepalive > MAX_KEEPALIVE ? 2 : !right ? 4 : owner !== undefined && CREDS[owner].username !== user ? 5 : 0;
              const c = await rawConnect(gw.mqttPort, { clientId, username: user, password: cred.password, clean: a.clean, keepalive: a.keepalive });
              expect(c.returnCode, `CONNECT ${user} id "${clientId}" clean ${a.clean} keepalive ${a.keepalive}`).toBe(expected);
              if (expected !== 0) {
                stats.refused[expected] = (stats.refused[expected] ?? 0) + 1;
                await within(c.closed, 15_000, 'close after a refused CONNACK');
              } else {
                stats.accepted++;
                // A persistent session is never offered [MQTT-3.2.2-2]: sessions end with their connection.
                expect(c.sessionPresent).toBe(false);
                if (clientId !== '') {
                  bound.set(clientId, a.cred);
                  // [MQTT-3.1.4-2] the same credential takes over its own session: the old one closes.
                  for (const old of live.filter((l) => l.clientId === clientId)) {
                    expect(CREDS[old.cred].username).toBe(user);
                    await within(old.c.closed, 15_000, 'the taken-over session to close');
                    live.splice(live.indexOf(old), 1);
                    stats.takeovers++;
                  }
                }
                live.push({ cred: a.cred, clientId, c });
              }
            } else if (live.length > 0) {
              const l = live[a.conn % live.length];
              if (a.t === 'close') {
                l.c.end();
                live.splice(live.indexOf(l), 1);
              } else {
                const cred = CREDS[l.cred];
                const ack = a.qos === 1 ? l.c.next('puback') : a.qos === 2 ? l.c.next('pubrec') : null;
                l.c.send({ cmd: 'publish', topic: cred.topic, qos: a.qos, messageId: a.qos > 0 ? 1 + (stats.actions % 60_000) : undefined, payload: cred.payload(), retain: false, dup: false });
                if (a.qos === 1) {
                  expect(await within(ack!, 15_000, 'PUBACK'), `PUBACK for ${cred.username}`).not.toBeNull();
                  stats.acked++;
                } else if (a.qos === 2) {
                  expect(await within(ack!, 15_000, 'close after QoS 2')).toBeNull();
                  await within(l.c.closed, 15_000, 'close after QoS 2');
                  live.splice(live.indexOf(l), 1);
                  stats.qos2Closed++;
                }
              }
            }
            // Nobody we expect connected was thrown off.
            for (const l of live) expect(await alive(l.c), `${CREDS[l.cred].username} "${l.clientId}" still connected`).toBe(true);
          }
        } finally {
          for (const l of live) l.c.end();
        }
        const race = await Promise.race([exited, new Promise<string>((r) => setImmediate(() => r('alive')))]);
        expect(race).toBe('alive');
      }),
      { seed: 1305, numRuns: 150 },
    );
    const health = await fetch(`http://127.0.0.1:${gw.httpPort}/healthz`);
    expect(health.status).toBe(200);
    // Every acknowledged event was committed (QoS 0 ones add to the count, nothing subtracts).
    const committed = (await metric(`http://127.0.0.1:${gw.httpPort}`, 'storegw_events_total{kind="footfall",class="aggregate"}')) + (await metric(`http://127.0.0.1:${gw.httpPort}`, 'storegw_events_total{kind="scale",class="sampled"}'));
    expect(committed).toBeGreaterThanOrEqual(stats.acked);
    console.info(`hostile identity: ${stats.runs} runs, ${stats.actions} actions, ${stats.accepted} accepted, refused by CONNACK code ${JSON.stringify(stats.refused)}, ${stats.takeovers} takeovers by the same credential, ${stats.qos2Closed} closed for QoS 2, ${stats.acked} QoS 1 events acknowledged`);
  }, 120_000);

  it('zero-length client id: clean 1 gets an id of its own, clean 0 gets CONNACK 2 [MQTT-3.1.3-6, -8]', async () => {
    const a = await rawConnect(gw.mqttPort, { clientId: '', username: 'footfall/door-2', password: TEST_SECRET, clean: true });
    const b = await rawConnect(gw.mqttPort, { clientId: '', username: 'footfall/door-1', password: TEST_SECRET, clean: true });
    expect([a.returnCode, b.returnCode]).toEqual([0, 0]);
    expect(await alive(a)).toBe(true);
    expect(await alive(b)).toBe(true);
    const c = await rawConnect(gw.mqttPort, { clientId: '', username: 'footfall/door-1', password: TEST_SECRET, clean: false });
    expect(c.returnCode).toBe(2);
    await within(c.closed, 15_000, 'close after CONNACK 2');
    a.end();
    b.end();
  });
});
