/**
 * A real Mosquitto (Debian package) on an ephemeral loopback port, for HQ in tests, the demo and
 * the bench. Persistence can be switched on (the bench's fair baseline).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, waitForPort } from './ports.js';
import { tempDir } from './tmp.js';

export interface MosquittoOptions {
  port?: number;
  persistence?: boolean;
  /** Maximum packet size HQ accepts (bytes); 0 = Mosquitto's default. */
  maxPacketSize?: number;
  extraConfig?: string;
}

export interface Mosquitto {
  port: number;
  url: string;
  pid: number;
  proc: ChildProcess;
  dir: string;
  stop(): Promise<void>;
  /** Kill it hard (WAN down); `start()` brings it back on the same port. */
  kill(): Promise<void>;
  start(): Promise<void>;
}

export const MOSQUITTO_BIN = '/usr/sbin/mosquitto';

export async function startMosquitto(opts: MosquittoOptions = {}): Promise<Mosquitto> {
  const port = opts.port ?? (await freePort());
  const tmp = tempDir('mosq-');
  const conf = path.join(tmp.dir, 'mosquitto.conf');
  const lines = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    // Started as root (CI, this machine), Mosquitto would drop to user "mosquitto", which cannot
    // write the test's 0700 temp folder: persistence would silently fail.
    ...(process.getuid?.() === 0 ? ['user root'] : []),
    `persistence ${opts.persistence ? 'true' : 'false'}`,
    `persistence_location ${tmp.dir}/`,
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'max_queued_messages 100000',
    'max_inflight_messages 0',
  ];
  if (opts.maxPacketSize) lines.push(`max_packet_size ${opts.maxPacketSize}`);
  if (opts.extraConfig) lines.push(opts.extraConfig);
  writeFileSync(conf, lines.join('\n') + '\n');

  let proc: ChildProcess;
  const m: Mosquitto = {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    pid: 0,
    proc: undefined as unknown as ChildProcess,
    dir: tmp.dir,
    async start() {
      proc = spawn(MOSQUITTO_BIN, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
      proc.stderr?.on('data', () => {});
      m.proc = proc;
      m.pid = proc.pid ?? 0;
      await waitForPort(port);
    },
    async kill() {
      if (!proc || proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (proc && proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
      tmp.remove();
    },
  };
  await m.start();
  return m;
}
