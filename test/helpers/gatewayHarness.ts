/**
 * Starts a real gateway for tests: in-process (`startGateway`) or as a child process that can be
 * killed with SIGKILL (`spawnGateway`). Ports are ephemeral, data lives in a temp folder, secrets
 * are hashed with a low scrypt cost so suites stay fast.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { stringify } from 'yaml';
import mqtt, { type MqttClient, type IClientOptions } from 'mqtt';
import type { Config } from '../../gateway/config.js';
import { createLogger } from '../../gateway/log.js';
import type { Gateway } from '../../gateway/gateway.js';
import { hashSecret } from '../../gateway/scryptHash.js';
import type { DeviceKind } from '../../gateway/protocol/topics.js';
import { tempDir } from './tmp.js';

export const TEST_SECRET = 'test-device-secret-0123456789';
export const TEST_PASSWORDS = { admin: 'admin-pass-1', attendant: 'attendant-pass-1', viewer: 'viewer-pass-1' } as const;

// The promises are cached, not the values: concurrent first callers share one complete result
// instead of one of them seeing a map still being filled.
let cachedHash: Promise<string> | null = null;
let cachedPw: Promise<Record<string, string>> | null = null;
function secretHash(): Promise<string> {
  cachedHash ??= hashSecret(TEST_SECRET, 4);
  return cachedHash;
}
function passwordHashes(): Promise<Record<string, string>> {
  cachedPw ??= (async () => {
    const pw: Record<string, string> = {};
    for (const [u, p] of Object.entries(TEST_PASSWORDS)) pw[u] = await hashSecret(p, 4);
    return pw;
  })();
  return cachedPw;
}

export interface TestDevice {
  kind: DeviceKind;
  id: string;
  bridge?: string;
}

export interface ConfigOptions {
  dataDir: string;
  devices?: TestDevice[];
  bridges?: string[];
  serviceUsers?: { username: string; read?: string[]; write?: string[] }[];
  mqttPort?: number;
  httpPort?: number;
  maxPacketBytes?: number;
  connectRate?: { perSecond: number; burst: number };
  extra?: Record<string, unknown>;
}

export const DEFAULT_DEVICES: TestDevice[] = [
  { kind: 'footfall', id: 'door-1' },
  { kind: 'footfall', id: 'door-2' },
  { kind: 'scale', id: 'scale-1' },
  { kind: 'esl', id: 'ap-1' },
  { kind: 'rfid', id: 'gate-1' },
];

/** A config object as a store would write it (YAML-able), with fast hashes. */
export async function buildConfig(o: ConfigOptions): Promise<Record<string, unknown>> {
  const h = await secretHash();
  const pw = await passwordHashes();
  return {
    storeId: 'test-store',
    data: { dir: o.dataDir, quotaBytes: 64 * 1024 * 1024 },
    log: { level: 'info' },
    mqtt: {
      host: '127.0.0.1',
      port: o.mqttPort ?? 0,
      maxPacketBytes: o.maxPacketBytes ?? 65536,
      connectRate: o.connectRate ?? { perSecond: 1000, burst: 5000 },
    },
    http: { host: '127.0.0.1', port: o.httpPort ?? 0 },
    devices: (o.devices ?? DEFAULT_DEVICES).map((d) => (d.bridge ? { kind: d.kind, id: d.id, bridge: d.bridge } : { kind: d.kind, id: d.id, secretHash: h })),
    bridges: (o.bridges ?? []).map((id) => ({ id, secretHash: h })),
    serviceUsers: (o.serviceUsers ?? []).map((u) => ({ username: u.username, secretHash: h, read: u.read ?? [], write: u.write ?? [] })),
    opsUsers: Object.entries(pw).map(([username, passwordHash]) => ({ username, passwordHash, role: username })),
    kiosks: [],
    ...o.extra,
  };
}

export interface RunningGateway {
  gw: Gateway;
  config: Readonly<Config>;
  mqttUrl: string;
  httpUrl: string;
  logs: Record<string, unknown>[];
  dataDir: string;
  stop(): Promise<void>;
}

/** A real gateway in this process, logs captured as parsed JSON lines. */
export async function startGateway(opts: Partial<ConfigOptions> = {}): Promise<RunningGateway> {
  const tmp = opts.dataDir ? null : tempDir('sgw-gw-');
  const dataDir = opts.dataDir ?? tmp!.dir;
  const raw = await buildConfig({ ...opts, dataDir });
  // Imported here, not at the top: most files that use this harness only spawn dist/storegw.js,
  // and loading the gateway's source (its config schemas, then the whole gateway) into every
  // test worker cost each of them seconds.
  const [{ parseConfig }, { Gateway }] = await Promise.all([import('../../gateway/config.js'), import('../../gateway/gateway.js')]);
  const res = parseConfig(stringify(raw), {});
  if (!res.ok) throw new Error(`test config invalid: ${res.errors.join('; ')}`);
  const logs: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const log = createLogger({ level: 'info', stream });
  const gw = new Gateway({ config: res.config, log });
  try {
    await gw.start();
  } catch (err) {
    // A gateway that failed to start still leaves nothing behind: stores closed, temp folder gone.
    await gw.stop().catch(() => undefined);
    tmp?.remove();
    throw err;
  }
  return {
    gw,
    config: res.config,
    mqttUrl: `mqtt://127.0.0.1:${gw.mqttPort}`,
    httpUrl: `http://127.0.0.1:${gw.httpPort}`,
    logs,
    dataDir,
    async stop() {
      await gw.stop();
      tmp?.remove();
    },
  };
}

/** Writes a config file for a child-process gateway. */
export async function writeConfigFile(dir: string, o: ConfigOptions): Promise<string> {
  const file = path.join(dir, 'storegw.yaml');
  // 0600: the gateway refuses a config others can read (it holds password hashes).
  writeFileSync(file, stringify(await buildConfig(o)), { mode: 0o600 });
  return file;
}

/** The gateway bundle spawned by tests and benches; `STOREGW_GATEWAY_BIN` points a bench at another build (A/B). */
export const GATEWAY_BIN = path.resolve(process.env.STOREGW_GATEWAY_BIN ?? 'dist/storegw.js');

export interface GatewayProcess {
  proc: ChildProcess;
  mqttPort: number;
  httpPort: number;
  lastSeq: number;
  output: string[];
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Spawns `node dist/storegw.js run --config FILE` and resolves on its "storegw ready" log line.
 * `STOREGW_GATEWAY_NODE_ARGS` (space-separated) adds node flags, e.g. `--cpu-prof` to profile a
 * bench's gateway (NODE_OPTIONS refuses --cpu-prof).
 */
export function spawnGateway(configFile: string, env: Record<string, string> = {}, opts: { nofile?: number; nodeArgs?: readonly string[] } = {}): Promise<GatewayProcess> {
  const nodeArgs = [...(opts.nodeArgs ?? []), ...(process.env.STOREGW_GATEWAY_NODE_ARGS?.split(' ').filter(Boolean) ?? [])];
  const args = [...nodeArgs, GATEWAY_BIN, 'run', '--config', configFile];
  return new Promise((resolve, reject) => {
    const spawnOpts = { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'] };
    // `nofile`: under a shell that lowers the descriptor limit first (soft and hard: node cannot raise it).
    const proc =
      opts.nofile === undefined
        ? spawn(process.execPath, args, spawnOpts)
        : spawn('bash', ['-c', `ulimit -n ${Math.trunc(opts.nofile)} && exec "$0" "$@"`, process.execPath, ...args], spawnOpts);
    const output: string[] = [];
    let buf = '';
    let ready = false;
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    // A UTF-8 character split across two chunks must not read as two U+FFFD.
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        output.push(line);
        if (!ready && line.includes('"storegw ready"')) {
          ready = true;
          const j = JSON.parse(line) as { mqttPort: number; httpPort: number; lastSeq: number };
          resolve({
            proc,
            mqttPort: j.mqttPort,
            httpPort: j.httpPort,
            lastSeq: j.lastSeq,
            output,
            kill: async (signal = 'SIGKILL') => {
              if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
              return exited;
            },
          });
        }
      }
    });
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (d: string) => output.push(d));
    proc.once('exit', (code) => {
      if (!ready) reject(new Error(`gateway exited with ${code} before ready:\n${output.join('\n')}`));
    });
  });
}

/** A connected mqtt.js client as a device; rejects with the CONNACK error if refused. */
export function connectDevice(url: string, username: string | undefined, password: string | undefined, extra: IClientOptions = {}): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { username, password, reconnectPeriod: 0, connectTimeout: 5000, ...extra });
    c.once('connect', () => resolve(c));
    c.once('error', (err) => {
      c.end(true);
      reject(err);
    });
  });
}

export function ts(): string {
  return new Date().toISOString();
}

/** Reads one counter/gauge sample from /metrics text ('name{a="b"}' or 'name'); 0 when absent. */
export async function metric(httpUrl: string, sample: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (line.startsWith(sample + ' ')) return Number(line.slice(sample.length + 1));
  }
  return 0;
}

/** The SUBACK return code for one filter (0x80 = refused; mqtt.js reports that as an error). */
export function suback(c: MqttClient, filter: string, qos: 0 | 1 = 1): Promise<number> {
  return new Promise((resolve, reject) =>
    c.subscribe(filter, { qos }, (err, granted) => {
      const packet = (err as { packet?: { granted?: number[] } } | null)?.packet;
      if (packet?.granted) resolve(packet.granted[0]);
      else if (err) reject(err);
      else resolve(granted![0].qos);
    }),
  );
}
