/**
 * kill -9 of the bridge process in the middle of a card payment: the bridge binary runs as a child
 * against the real gateway and the simulated terminal; it is killed the moment its journal records
 * the approval it is about to commit. After a restart the driver settles the payment from its
 * journal and the terminal (Repeat Receipt, and a reversal when it cannot prove the commit). Which
 * side of the ack the kill lands on is up to the scheduler; every outcome must agree with the
 * terminal's books: approved only for a payment the terminal keeps, declined only for one it
 * reversed. A re-sent charge for the same requestId is refused, never paid twice.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startGateway, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';
import { buildBridge, committedEvents, paymentOnline, spawnBridge } from './zvtFixture.js';
import { ZvtSim } from '../../../firmware-bridge/devices/zvt/sim.js';

let tmp: { dir: string; remove: () => void };
let bin: string;
let binDir: string;
let gw: RunningGateway;
let sim: ZvtSim;
let configFile: string;
const children: ChildProcess[] = [];
let events: ReturnType<typeof committedEvents>;
const committedEvent = (match: (type: string, d: Record<string, unknown>) => boolean) => events.payment(match);

beforeAll(async () => {
  tmp = tempDir('sgw-zvt-crash-');
  ({ bin, binDir } = await buildBridge('storegw-bridge-zvt-'));
  // A short pause at each step, so the kill lands while the terminal is still master.
  sim = new ZvtSim({ thinkMs: 30 });
  await sim.start();
  gw = await startGateway({ devices: [{ kind: 'payment', id: 'pt-9', bridge: 'kc' }], bridges: ['kc'] });
  events = committedEvents(gw);
  configFile = path.join(tmp.dir, 'bridge.yaml');
  const config = {
    log: { level: 'warn' },
    mqtt: { url: gw.mqttUrl, username: 'bridge/kc', password: TEST_SECRET, reconnect: { initialMs: 50, maxMs: 500 } },
    portBackoff: { initialMs: 20, maxMs: 200 },
    devices: [{ kind: 'payment', id: 'pt-9', protocol: 'zvt', tcp: { host: '127.0.0.1', port: sim.port }, options: { stateDir: path.join(tmp.dir, 'state'), t3Ms: 2000, t4Ms: 3000, statusIntervalMs: 0 } }],
  };
  writeFileSync(configFile, stringify(config), { mode: 0o600 });
}, 60_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await sim?.stop();
  await gw?.stop();
  tmp?.remove();
  if (binDir) rmSync(binDir, { recursive: true, force: true });
});

describe('kill -9 of the bridge at the commit point of a card payment', () => {
  it('after the restart the result agrees with the terminal, and the payment is never taken twice', async () => {
    const first = spawnBridge(bin, configFile, children);
    await paymentOnline(gw, 'pt-9', true);
    const journal = path.join(tmp.dir, 'state', 'zvt-pt-9.jsonl');
    const killed = new Promise<void>((resolve) => {
      const w = watch(path.dirname(journal), () => {
        let text = '';
        try {
          text = readFileSync(journal, 'utf8');
        } catch {
          return;
        }
        const lines = text.split('\n').filter((l) => l.endsWith('}'));
        if (!lines.some((l) => (JSON.parse(l) as { phase: string }).phase === 'committing')) return;
        first.kill('SIGKILL');
        w.close();
        resolve();
      });
    });
    const cmdId = await gw.gw.commands.send('payment', 'pt-9', 'charge', { requestId: 'k-1', amount: 4100, currency: 'EUR' }, { source: 'test' });
    await killed;
    await once(first, 'exit');
    const phases = readFileSync(journal, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { phase: string }).phase);
    expect(phases.slice(0, 2)).toEqual(['started', 'committing']);
    expect(phases).not.toContain('done');

    spawnBridge(bin, configFile, children);
    const r = await committedEvent((t, d) => t === 'result' && d.requestId === 'k-1');
    const tx = sim.books.transactions.find((t) => t.kind === 'payment' && t.info.amount === 4100)!;
    expect(r.recovered).toBe(true);
    if (r.status === 'approved') expect(tx).toMatchObject({ committed: true, reversed: false });
    else expect(r.status === 'declined' && tx.reversed).toBe(true);
    // The gateway re-sends the unacked charge to the new bridge process: refused by requestId, or
    // the first process's ack had already gone out. Either way the terminal saw one authorization.
    const ack = await committedEvent((t, d) => t === 'ack' && d.cmdId === cmdId);
    if (!ack.ok) expect(ack.error).toMatch(/^requestId:/);
    expect(sim.books.commands.filter((c) => c.type === 'authorization')).toHaveLength(1);
    // The record closes once the gateway acknowledged the result (its PUBACK may trail the commit seen here).
    const lastPhase = () => readFileSync(journal, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { requestId: string; phase: string }).filter((l) => l.requestId === 'k-1').at(-1)!.phase;
    await new Promise<void>((resolve) => {
      const w = watch(path.dirname(journal), () => lastPhase() === 'done' && (w.close(), resolve()));
      if (lastPhase() === 'done') (w.close(), resolve());
    });
    expect(lastPhase()).toBe('done');
  });
});
