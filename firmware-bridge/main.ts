/**
 * storegw-bridge's composition root and entry point: the only place that reads argv, env and
 * signals. `node dist/storegw-bridge.js --config FILE` (or `check-config FILE`: errors with their
 * path, exit 2; or `udev-rules FILE`: the rules that give the bridge its HID scanners; or
 * `zvt-sim [--host H] [--port N] [--think-ms N] [--seed N]`: a simulated ZVT card terminal).
 */
import { pino, type LevelWithSilent } from 'pino';
import { bridgeIdOf, loadBridgeConfigFile, readPassword, readTlsOptions } from './config.js';
import { createDrivers, hardwareTransports } from './driverFactory.js';
import { Bridge } from './bridge.js';
import { statSync } from 'node:fs';
import { keyFileProblem } from '../gateway/secretFiles.js';
import { SystemdNotify } from '../gateway/systemdNotify.js';
import { scannerUdevRules } from './udevRules.js';
import { ZvtSim } from './devices/zvt/sim.js';

/**
 * A password written inline makes the config file a secrets file. The published demo secret is
 * exempt (config/bridge-demo.yaml ships world-readable; the gateway refuses it outside a demo).
 */
function inlinePasswordProblem(file: string, password: string): string | null {
  if (password === 'demo-bridge-secret') return null;
  const p = keyFileProblem('mqtt.password', file, statSync(file));
  return p && `${p} — it holds the password inline (or use mqtt.passwordFile)`;
}

const USAGE =
  'usage: storegw-bridge --config FILE\n       storegw-bridge check-config FILE\n       storegw-bridge udev-rules FILE\n' +
  '       storegw-bridge zvt-sim [--host H] [--port 20007] [--think-ms 0] [--seed N]\n';

/** The simulated card terminal in the foreground until SIGINT/SIGTERM (demo and manual tests). */
async function zvtSim(argv: string[]): Promise<number> {
  const opt = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const num = (name: string): number | undefined => (opt(name) === undefined ? undefined : Number(opt(name)));
  const sim = new ZvtSim({ host: opt('--host') ?? '127.0.0.1', port: num('--port') ?? 20007, thinkMs: num('--think-ms'), seed: num('--seed') });
  await sim.start();
  process.stdout.write(`zvt-sim: listening on ${opt('--host') ?? '127.0.0.1'}:${sim.port}\n`);
  await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await sim.stop();
  return 0;
}

async function main(argv: string[]): Promise<number> {
  // Whatever the bridge writes is its user's alone, whatever umask the shell or the unit passed in.
  process.umask(0o077);
  if (argv[0] === 'check-config') {
    const res = argv[1] ? loadBridgeConfigFile(argv[1], process.env) : null;
    if (!res) {
      process.stderr.write(USAGE);
      return 2;
    }
    if (res.ok) {
      process.stdout.write(`${argv[1]}: ok (${res.config.devices.length} devices)\n`);
      return 0;
    }
    process.stderr.write(`${res.errors.join('\n')}\n`);
    return 2;
  }
  if (argv[0] === 'zvt-sim') return zvtSim(argv.slice(1));
  if (argv[0] === 'udev-rules') {
    // The scanners' udev rules on stdout: > /etc/udev/rules.d/70-storegw-scanners.rules
    const res = argv[1] ? loadBridgeConfigFile(argv[1], process.env) : null;
    if (!res) {
      process.stderr.write(USAGE);
      return 2;
    }
    const rules = res.ok ? scannerUdevRules(res.config, argv[1]) : res;
    if (!rules.ok) {
      process.stderr.write(`${rules.errors.join('\n')}\n`);
      return 2;
    }
    process.stdout.write(rules.text);
    return 0;
  }
  const i = argv.indexOf('--config');
  const file = i >= 0 ? argv[i + 1] : undefined;
  if (!file) {
    process.stderr.write(USAGE);
    return 2;
  }
  const res = loadBridgeConfigFile(file, process.env);
  if (!res.ok) {
    process.stderr.write(`storegw-bridge: ${file} has ${res.errors.length} error(s):\n${res.errors.map((e) => `  ${e}`).join('\n')}\n`);
    return 2;
  }
  const config = res.config;
  let password: string;
  let tlsOptions: ReturnType<typeof readTlsOptions>;
  try {
    password = readPassword(config);
    tlsOptions = readTlsOptions(config);
    const loose = config.mqtt.passwordFile ? keyFileProblem('mqtt.passwordFile', config.mqtt.passwordFile, statSync(config.mqtt.passwordFile)) : inlinePasswordProblem(file, password);
    if (loose) throw new Error(`refusing to start: ${loose}`);
    const looseKey = config.mqtt.keyFile ? keyFileProblem('mqtt.keyFile', config.mqtt.keyFile, statSync(config.mqtt.keyFile)) : null;
    if (looseKey) throw new Error(`refusing to start: ${looseKey}`);
  } catch (err) {
    process.stderr.write(`storegw-bridge: ${(err as Error).message}\n`);
    return 2;
  }
  const log = pino(
    {
      name: 'storegw-bridge',
      level: config.log.level as LevelWithSilent,
      base: { pid: process.pid, bridge: bridgeIdOf(config) },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ dest: 1, sync: false }),
  );
  const now = Date.now;
  const drivers = createDrivers(config, { transports: await hardwareTransports(now), logger: log, now });
  const bridge = new Bridge({
    url: config.mqtt.url,
    username: config.mqtt.username,
    password,
    drivers,
    logger: log,
    now,
    keepaliveS: config.mqtt.keepaliveS,
    reconnect: config.mqtt.reconnect,
    maxQueued: config.mqtt.maxQueued,
    mqttOptions: tlsOptions,
    statsEveryMs: 60_000,
    startBackoff: config.portBackoff,
  });
  await bridge.start();
  log.info({ devices: config.devices.map((d) => `${d.kind}/${d.id}`) }, 'storegw-bridge ready');
  // READY=1 once every device was started (a port that is missing keeps retrying on its own) and the
  // gateway connection is being made, not once it is up: the bridge queues events while the
  // gateway is away, and a READY that waited for the link would turn a gateway outage into a start
  // timeout and a restart loop of the bridge. The unit's After=storegw.service orders the start.
  const systemd = new SystemdNotify({ env: process.env, onError: (err, state) => log.warn({ err: err.message, state }, 'systemd notification failed') });
  void systemd.ready();
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  log.info({ signal }, 'stopping');
  // STOPPING=1 travels while the devices stop; both are done before the process exits.
  await Promise.all([systemd.stopping(), bridge.stop()]);
  log.info({ stats: bridge.stats() }, 'stopped');
  log.flush();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`storegw-bridge: ${err.message}\n`);
    process.exitCode = 1;
  },
);
