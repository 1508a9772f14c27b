/**
 * What the ZVT bridge tests share: the payment events the gateway committed (waited on by content),
 * a payment device's online state in the registry, and the bridge as a child process built from
 * source (so a test can SIGKILL it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import type { RunningGateway } from '../../helpers/gatewayHarness.js';
import type { NewEvent } from '../../../gateway/outbox/store.js';

/** Every event the gateway commits, kept; `payment(match)` resolves with the first payment event that matches, now or later. */
export function committedEvents(gw: RunningGateway): { all: NewEvent[]; payment: (match: (type: string, d: Record<string, unknown>) => boolean) => Promise<Record<string, unknown>> } {
  const all: NewEvent[] = [];
  const waiters = new Set<() => void>();
  gw.gw.onEvent((e) => {
    all.push(e);
    for (const w of [...waiters]) w();
  });
  const payment = (match: (type: string, d: Record<string, unknown>) => boolean) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const check = () => {
        const hit = all.find((e) => e.kind === 'payment' && match(e.type, JSON.parse(e.data) as Record<string, unknown>));
        if (!hit) return false;
        waiters.delete(w);
        resolve(JSON.parse(hit.data) as Record<string, unknown>);
        return true;
      };
      const w = () => void check();
      if (!check()) waiters.add(w);
    });
  return { all, payment };
}

/** Resolves once the gateway's registry says payment device `id` is (or is not) online. */
export function paymentOnline(gw: RunningGateway, id: string, want: boolean): Promise<void> {
  return new Promise((resolve) => {
    if (gw.gw.registry.get('payment', id)?.online === want) return resolve();
    const off = gw.gw.registry.onChange((d) => {
      if (d.kind === 'payment' && d.id === id && d.online === want) {
        off();
        resolve();
      }
    });
  });
}

/** The bridge bundled from source into a folder of its own under node_modules/.cache (removed by the caller). */
export async function buildBridge(prefix: string): Promise<{ bin: string; binDir: string }> {
  mkdirSync('node_modules/.cache', { recursive: true });
  const binDir = mkdtempSync(path.resolve(`node_modules/.cache/${prefix}`));
  const bin = path.join(binDir, 'storegw-bridge.js');
  await build({ entryPoints: ['firmware-bridge/main.ts'], outfile: bin, bundle: true, platform: 'node', format: 'esm', target: 'node24', tsconfig: 'tsconfig.server.json', packages: 'external', logLevel: 'warning' });
  return { bin, binDir };
}

/** The bridge as a child process; what it says goes to the test's stderr (it logs at warn and above). */
export function spawnBridge(bin: string, configFile: string, children: ChildProcess[]): ChildProcess {
  const proc = spawn(process.execPath, [bin, '--config', configFile], { cwd: path.resolve('.'), stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (d: Buffer) => process.stderr.write(d));
  proc.stderr!.on('data', (d: Buffer) => process.stderr.write(d));
  children.push(proc);
  return proc;
}
