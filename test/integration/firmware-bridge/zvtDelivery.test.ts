/**
 * A payment result must survive a bridge killed after the driver emitted it but before the gateway
 * acknowledged it (PUBACK). The bridge binary runs as a child against the real gateway through a
 * TCP relay that can stop passing the bridge's bytes on: the gateway's command still reaches the
 * bridge, but the result is published into the void and no PUBACK comes back. The journal must then still hold the result as
 * `emitted` (not `done`); kill -9, unfreeze, restart: the gateway gets the result exactly once and
 * the journal closes it only after the PUBACK.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startGateway, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';
import { buildBridge, committedEvents, paymentOnline, spawnBridge } from './zvtFixture.js';
import { ZvtSim } from '../../../firmware-bridge/devices/zvt/sim.js';

/** A TCP relay to the gateway's MQTT port; `upFrozen` drops every byte the bridge sends (a gateway that stopped reading). */
class Relay {
  upFrozen = false;
  port = 0;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  constructor(target: number) {
    this.server = net.createServer((c) => {
      const u = net.connect(target, '127.0.0.1');
      for (const s of [c, u]) {
        this.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          this.sockets.delete(s);
          c.destroy();
          u.destroy();
        });
      }
      c.on('data', (d) => void (this.upFrozen || u.write(d)));
      u.on('data', (d) => void c.write(d));
    });
  }
  async start(): Promise<void> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as net.AddressInfo).port;
  }
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

let tmp: { dir: string; remove: () => void };
let bin: string;
let binDir: string;
let gw: RunningGateway;
let sim: ZvtSim;
let relay: Relay;
let configFile: string;
let journal: string;
const children: ChildProcess[] = [];
let events: ReturnType<typeof committedEvents>;
const committedEvent = (match: (type: string, d: Record<string, unknown>) => boolean) => events.payment(match);

function journalPhases(requestId: string): string[] {
  let text = '';
  try {
    text = readFileSync(journal, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l.endsWith('}'))
    .map((l) => JSON.parse(l) as { requestId: string; phase: string })
    .filter((r) => r.requestId === requestId)
    .map((r) => r.phase);
}

/** Resolves once the journal holds a record of `requestId` in one of `phases` (fs.watch, no polling). */
function journalReaches(requestId: string, phases: string[]): Promise<void> {
  return new Promise((resolve) => {
    const hit = () => journalPhases(requestId).some((p) => phases.includes(p));
    const w = watch(path.dirname(journal), () => {
      if (!hit()) return;
      w.close();
      resolve();
    });
    if (hit()) {
      w.close();
      resolve();
    }
  });
}

beforeAll(async () => {
  tmp = tempDir('sgw-zvt-delivery-');
  ({ bin, binDir } = await buildBridge('storegw-bridge-zvtd-'));
  sim = new ZvtSim();
  await sim.start();
  gw = await startGateway({ devices: [{ kind: 'payment', id: 'pt-7', bridge: 'kd' }], bridges: ['kd'] });
  events = committedEvents(gw);
  relay = new Relay(Number(new URL(gw.mqttUrl).port));
  await relay.start();
  configFile = path.join(tmp.dir, 'bridge.yaml');
  journal = path.join(tmp.dir, 'state', 'zvt-pt-7.jsonl');
  const config = {
    log: { level: 'warn' },
    mqtt: { url: `mqtt://127.0.0.1:${relay.port}`, username: 'bridge/kd', password: TEST_SECRET, reconnect: { initialMs: 50, maxMs: 500 } },
    portBackoff: { initialMs: 20, maxMs: 200 },
    devices: [{ kind: 'payment', id: 'pt-7', protocol: 'zvt', tcp: { host: '127.0.0.1', port: sim.port }, options: { stateDir: path.join(tmp.dir, 'state'), t3Ms: 2000, t4Ms: 3000, statusIntervalMs: 0 } }],
  };
  writeFileSync(configFile, stringify(config), { mode: 0o600 });
}, 60_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await relay?.stop();
  await sim?.stop();
  await gw?.stop();
  tmp?.remove();
  if (binDir) rmSync(binDir, { recursive: true, force: true });
});

describe('kill -9 of the bridge between a payment result and its PUBACK', () => {
  it('the journal keeps the result open until the gateway acknowledged it; after the restart it arrives once', async () => {
    const first = spawnBridge(bin, configFile, children);
    await paymentOnline(gw, 'pt-7', true);
    // From here on the gateway hears nothing from the bridge, so it acknowledges nothing.
    relay.upFrozen = true;
    const cmdId = await gw.gw.commands.send('payment', 'pt-7', 'charge', { requestId: 'k-7', amount: 3100, currency: 'EUR' }, { source: 'test' });
    await journalReaches('k-7', ['emitted', 'done']);
    first.kill('SIGKILL');
    await once(first, 'exit');
    // The terminal keeps the payment; the gateway never saw its result.
    expect(sim.books.transactions.find((t) => t.info.amount === 3100)).toMatchObject({ committed: true, reversed: false });
    expect(events.all.some((e) => e.type === 'result')).toBe(false);
    const phases = journalPhases('k-7');
    expect(phases).toContain('emitted');
    expect(phases).not.toContain('done');

    relay.upFrozen = false;
    spawnBridge(bin, configFile, children);
    const r = await committedEvent((t, d) => t === 'result' && d.requestId === 'k-7');
    expect(r).toMatchObject({ status: 'approved', amount: 3100, currency: 'EUR' });
    expect(r.receipt).toContain('Kundenbeleg');
    await journalReaches('k-7', ['done']);
    // The gateway re-sends the unacked charge: refused by requestId, the terminal saw one authorization.
    const ack = await committedEvent((t, d) => t === 'ack' && d.cmdId === cmdId);
    expect(ack).toMatchObject({ ok: false });
    expect(ack.error).toMatch(/^requestId:/);
    expect(sim.books.commands.filter((c) => c.type === 'authorization')).toHaveLength(1);
    expect(events.all.filter((e) => e.type === 'result')).toHaveLength(1);
  });
});
