/**
 * storegw's composition root and entry point: the only place that reads argv, env and signals.
 */
import { fileURLToPath } from 'node:url';
import { statSync } from 'node:fs';
import { loadConfigFile } from './config.js';
import { createLogger } from './log.js';
import { pino, type LevelWithSilent } from 'pino';
import { Gateway, type GatewayOptions } from './gateway.js';
import type { Logger } from './log.js';
import { SystemdNotify } from './systemdNotify.js';
import { configReference } from './configReference.js';
import { USAGE, checkConfig, deviceAdd, hash, outbox, type Io } from './cli.js';
import { secretFileProblems } from './secretFiles.js';

const io: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  env: process.env,
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
};

async function run(args: string[]): Promise<number> {
  const i = args.indexOf('--config');
  const file = i >= 0 ? args[i + 1] : undefined;
  if (!file) {
    io.err(USAGE);
    return 2;
  }
  const res = loadConfigFile(file, process.env);
  if (!res.ok) {
    io.err(`storegw: ${file} has ${res.errors.length} error(s):\n${res.errors.map((e) => `  ${e}`).join('\n')}\n`);
    return 2;
  }
  const loose = secretFileProblems(res.config, file, statSync);
  if (loose.length > 0) {
    io.err(`storegw: refusing to start, secrets others can read:\n${loose.map((e) => `  ${e}`).join('\n')}\n`);
    return 2;
  }
  const halt = process.env.STOREGW_TEST_HALT_AT;
  // A halting test run logs synchronously: the halt line must be out before the process stops.
  const log = createLogger({ level: res.config.log.level as LevelWithSilent, ...(halt ? { stream: pino.destination({ dest: 1, sync: true }) } : {}) });
  const kioskCheckpoint = haltAt(halt, log);
  // Tests only (the writer-restart test): the SQLite writer thread exits inside its n-th group commit.
  const writerExitAt = Number(process.env.STOREGW_TEST_WRITER_EXIT_AT ?? 0);
  const gw = new Gateway({
    config: res.config,
    log,
    pagesDir: fileURLToPath(new URL('./kiosk/', import.meta.url)),
    ...(kioskCheckpoint ? { kioskCheckpoint } : {}),
    ...(writerExitAt > 0 ? { writerExitAt } : {}),
  });
  try {
    await gw.start();
  } catch (err) {
    log.fatal({ err }, 'start-up failed');
    await gw.stop();
    log.flush();
    io.err(`storegw: ${(err as Error).message}\n`);
    return (err as { code?: string }).code === 'SGW_ERR_CONFIG' ? 2 : 1;
  }
  const systemd = new SystemdNotify({ env: process.env, onError: (err, state) => log.warn({ err: err.message, state }, 'systemd notification failed') });
  void systemd.ready();
  await new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      log.info({ signal: sig }, 'stopping');
      resolve();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  // STOPPING=1 travels while the gateway stops; both are done before the process exits.
  await Promise.all([systemd.stopping(), gw.stop()]);
  log.info('stopped');
  log.flush();
  return 0;
}

/**
 * Tests only (the kiosk crash test): `STOREGW_TEST_HALT_AT=<step>[:<n>]` stops this
 * process with SIGSTOP the n-th time (default 1st) a kiosk sale reaches `step` (see
 * kiosk/saleLedger.ts SaleStep), right after a "test halt" log line, so the test can SIGKILL it at
 * exactly that boundary instead of racing it with a timer.
 */
function haltAt(spec: string | undefined, log: Logger): GatewayOptions['kioskCheckpoint'] {
  if (!spec) return undefined;
  const [step, nth] = spec.split(':');
  let left = Number(nth ?? '1');
  return (at, kioskId) => {
    if (at !== step || --left !== 0) return;
    log.warn({ step: at, deviceId: kioskId }, 'test halt: stopped at a sale step');
    process.kill(process.pid, 'SIGSTOP');
  };
}

async function main(argv: string[]): Promise<number> {
  // Everything this process creates (databases, their -wal/-shm, exports) is the service user's
  // alone, whatever umask the shell or the unit passed in.
  process.umask(0o077);
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'run':
      return run(rest);
    case 'check-config':
      return checkConfig(rest[0], io);
    case 'device':
      if (rest[0] === 'add') return deviceAdd(rest.slice(1), io);
      break;
    case 'outbox':
      return outbox(rest, io);
    case 'hash':
      return hash(rest, io);
    case 'config-reference':
      io.out(configReference());
      return 0;
  }
  io.err(USAGE);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    io.err(`storegw: ${err.message}\n`);
    process.exitCode = 1;
  },
);
