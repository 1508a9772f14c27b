/**
 * The hostile suite's own harness: one gateway child process per file (reused across fast-check
 * runs, so a property costs packets, not spawns), a bystander device whose QoS 1 events must stay
 * acknowledged and exported byte-for-byte whatever the attacker does, and the outbox read back
 * the way `storegw outbox export` reads it (a read-only SQLite connection beside the writer).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import type { MqttClient } from 'mqtt';
import { GATEWAY_BIN, buildConfig, connectDevice, spawnGateway, TEST_SECRET, type ConfigOptions, type GatewayProcess } from '../helpers/gatewayHarness.js';
import { tempDir } from '../helpers/tmp.js';
import { OutboxStore } from '../../gateway/outbox/store.js';
import type { OutboxRecord } from '../../gateway/protocol/envelopes.js';

/** Every property in test/hostile runs with this seed, so a failure replays exactly. */
export const SEED = 1305;

/** `make test` builds first; a bare `npx vitest run test/hostile` may not have. */
export function ensureBuilt(): void {
  if (existsSync(GATEWAY_BIN)) return;
  const b = spawnSync(process.execPath, ['build.mjs'], { stdio: 'inherit' });
  if (b.status !== 0) throw new Error('node build.mjs failed');
}

/** Lines a dying or badly hurt Node process writes; none may appear in a gateway's output. */
const CRASH_RE = /uncaughtException|unhandledRejection|Maximum call stack|FATAL ERROR|JavaScript heap out of memory|^\s+at .+:\d+:\d+\)?$/m;

export interface HostileGateway {
  proc: GatewayProcess;
  configFile: string;
  dataDir: string;
  mqttUrl: string;
  httpUrl: string;
  mqttPort: number;
  /** True while the child runs (no exit code, no signal). */
  alive(): boolean;
  /** Output lines (pino JSON and stderr) that look like a crash or a stack trace. */
  crashLines(): string[];
  /** Parsed pino lines matching `pred`. */
  logs(pred: (l: Record<string, unknown>) => boolean): Record<string, unknown>[];
  /** Outbox records with seq >= from, read through a read-only connection. */
  outbox(from?: number): Promise<OutboxRecord[]>;
  /** `storegw outbox export` as a child process: the records as HQ would get them. */
  exportRecords(): Promise<Record<string, unknown>[]>;
  stop(): Promise<void>;
}

/**
 * Spawns `node dist/storegw.js run` on a fresh temp config. Compaction windows are set to a day so
 * that nothing a property stored is merged away under it while it runs.
 */
export async function startHostileGateway(o: Partial<ConfigOptions> = {}): Promise<HostileGateway> {
  ensureBuilt();
  const tmp = tempDir('sgw-hostile-');
  const dataDir = path.join(tmp.dir, 'data');
  const raw = await buildConfig({
    ...o,
    dataDir,
    extra: { compaction: { windowMs: 86_400_000, aggregateBucketMs: 60_000, intervalMs: 3_600_000 }, ...o.extra },
  });
  const configFile = path.join(tmp.dir, 'storegw.yaml');
  writeFileSync(configFile, stringify(raw), { mode: 0o600 });
  const proc = await spawnGateway(configFile);
  const reader = new OutboxStore(path.join(dataDir, 'outbox.db'), { readonly: true });
  await reader.start();
  const alive = () => proc.proc.exitCode === null && proc.proc.signalCode === null;
  return {
    proc,
    configFile,
    dataDir,
    mqttUrl: `mqtt://127.0.0.1:${proc.mqttPort}`,
    httpUrl: `http://127.0.0.1:${proc.httpPort}`,
    mqttPort: proc.mqttPort,
    alive,
    crashLines: () => proc.output.filter((l) => CRASH_RE.test(l)),
    logs: (pred) => {
      const out: Record<string, unknown>[] = [];
      for (const line of proc.output) {
        if (!line.startsWith('{')) continue;
        try {
          const j = JSON.parse(line) as Record<string, unknown>;
          if (pred(j)) out.push(j);
        } catch {
          // a partial line (stderr chunk) is not a log line
        }
      }
      return out;
    },
    outbox: (from = 0) => reader.read(from, 100_000),
    exportRecords: async () => {
      const out = await runCli(['outbox', 'export', '--config', configFile]);
      if (out.code !== 0) throw new Error(`outbox export exited ${out.code}: ${out.stderr}`);
      return out.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    async stop() {
      await reader.stop().catch(() => undefined);
      await proc.kill('SIGTERM');
      tmp.remove();
    },
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node dist/storegw.js ARGS` without STOREGW_* from the environment, so only the file counts. */
export function runCli(args: string[], stdin?: string): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('STOREGW_')) env[k] = v;
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [GATEWAY_BIN, ...args], { env, stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    p.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    p.once('error', reject);
    p.once('close', (code) => resolve({ code, stdout, stderr }));
    if (stdin !== undefined) p.stdin!.end(stdin);
  });
}

/**
 * A well-behaved device beside the attacker: each `check()` publishes one exact-class alert at
 * QoS 1, waits for its PUBACK (mqtt.js resolves publishAsync on it) and finds it in the outbox
 * exactly once with the very payload it sent.
 */
export class Bystander {
  private n = 0;
  readonly sent: { message: string; payload: string }[] = [];
  private constructor(
    private readonly gw: HostileGateway,
    private readonly client: MqttClient,
    readonly kind: string,
    readonly id: string,
  ) {}

  static async connect(gw: HostileGateway, kind = 'footfall', id = 'door-2'): Promise<Bystander> {
    const c = await connectDevice(gw.mqttUrl, `${kind}/${id}`, TEST_SECRET, { clientId: `bystander-${id}` });
    return new Bystander(gw, c, kind, id);
  }

  /** Throws (with the reason) unless the event is acknowledged and stored exactly. */
  async check(): Promise<void> {
    // Quotes, a backslash and astral text, but no `$` pattern: exactness.test.ts owns that property,
    // and a bystander that fails for it would hide what this file is about.
    const message = `bystander ${++this.n} 'q' "q" \\ ü 🛒`;
    const payload = JSON.stringify({ ts: new Date().toISOString(), code: 'HOSTILE_BYSTANDER', severity: 'info', message });
    this.sent.push({ message, payload });
    if (!this.client.connected) throw new Error('bystander: lost its connection');
    await withTimeout(this.client.publishAsync(`store/v1/dev/${this.kind}/${this.id}/evt/alert`, payload, { qos: 1 }), 15_000, 'bystander: no PUBACK');
    const mine = (await this.gw.outbox()).filter((r) => r.deviceId === this.id && r.type === 'alert' && (r.data as { message?: unknown }).message === message);
    if (mine.length !== 1) throw new Error(`bystander: event ${this.n} is stored ${mine.length} times (acknowledged and lost or altered)`);
    if (JSON.stringify(mine[0].data) !== JSON.stringify(JSON.parse(payload))) throw new Error(`bystander: event ${this.n} stored altered: ${JSON.stringify(mine[0].data)}`);
  }

  async end(): Promise<void> {
    await this.client.endAsync().catch(() => undefined);
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_r, reject) => (t = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms)))]).finally(() => clearTimeout(t));
}

/** Per-surface tallies, printed once per file so the figures can go into BENCHMARKS.md. */
export class Tally {
  readonly counts: Record<string, number> = {};
  constructor(readonly surface: string) {}
  add(what: string, n = 1): void {
    this.counts[what] = (this.counts[what] ?? 0) + n;
  }
  print(): void {
    process.stdout.write(`[hostile] ${this.surface}: ${JSON.stringify(this.counts)}\n`);
  }
}
