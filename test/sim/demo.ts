/**
 * `make demo`: the whole store on config/demo.yaml — Mosquitto as HQ, the gateway, simulated
 * devices — with progress lines, the URLs, the demo logins and where the logs go (`--logs`,
 * default `logs/` in the data folder: gateway.log, bridge.log). Ctrl-C stops everything and exits 0.
 * `--time-scale N` runs the store's clock N times faster (demoTimeScale.ts): what the tests watch.
 *
 * Ctrl-C in a terminal sends SIGINT to the whole process group: the gateway, Mosquitto and the
 * socat pairs get it too and stop by themselves while this process stops the rest; every part here
 * must take its peers vanishing in any order without a crash.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../../gateway/config.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { DeviceSim, FootfallSim } from './deviceSim.js';
import { AlarmLightSim, ExitGateSim, scheduleWalkOuts } from './demoWalkOut.js';
import { bookOpeningStock, DEMO_LABELS, startBridge, startHq, startShelfAndTills } from './demoStore.js';
import type { MemberPhone } from './memberPhone.js';
import { parseTimeScale, scaledMs, writeScaledConfig } from './demoTimeScale.js';

const DEMO_DEVICE_SECRET = 'demo-device-secret';
/** One part that does not stop within this long (unless it names its own limit) is not waited for. */
const PART_STOP_MS = 3000;
/** The gateway gets SIGKILL after this long (what it acknowledged survives that) and is waited for a little longer. */
const GATEWAY_KILL_MS = 5000;
/** How often a shopper walks an unpaid item out through the exit gate (demo clock). */
const WALK_OUT_EVERY_MS = 240_000;
const say = (s: string) => process.stdout.write(`demo: ${s}\n`);

const stops: { name: string; stop: () => Promise<void>; waitMs?: number }[] = [];
let stopping = false;
/** The start-up under way: a Ctrl-C in the middle lets the step finish (bounded) so its part is stopped too. */
let startup: Promise<void> = Promise.resolve();
async function stopAll(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  say('stopping…');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([startup.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, PART_STOP_MS)))]);
  clearTimeout(timer);
  for (const part of stops.reverse()) {
    let timer: NodeJS.Timeout | undefined;
    const waitMs = part.waitMs ?? PART_STOP_MS;
    const late = new Promise<string>((r) => (timer = setTimeout(() => r('late'), waitMs)));
    const done = part.stop().then(
      () => 'ok',
      (err: Error) => `failed: ${err.message}`,
    );
    const how = await Promise.race([done, late]);
    clearTimeout(timer);
    if (how !== 'ok') say(`stopping ${part.name}: ${how === 'late' ? `not done after ${waitMs} ms` : how}`);
  }
  say('stopped');
  process.exit(code);
}

/** The last lines of a log file, for a part that died. */
function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string', default: 'config/demo.yaml' }, logs: { type: 'string' }, 'time-scale': { type: 'string', default: '1' } } });
  const file = path.resolve(values.config!);
  const timeScale = parseTimeScale(values['time-scale']!);
  const res = loadConfigFile(file);
  if (!res.ok) throw new Error(`${file}:\n  ${res.errors.join('\n  ')}`);
  const cfg = res.config;
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  const logDir = path.resolve(values.logs ?? path.join(cfg.data.dir, 'logs'));
  // Private like the rest of the data folder: the gateway would otherwise tighten it and warn on every fresh start.
  mkdirSync(logDir, { recursive: true, mode: 0o700 });
  const gatewayLog = path.join(logDir, 'gateway.log');
  const bridgeLog = path.join(logDir, 'bridge.log');
  say(`logs (pino JSON, new each run): gateway ${gatewayLog}`);
  say(`                                bridge  ${bridgeLog}`);

  const hqPort = cfg.hq ? Number(new URL(cfg.hq.url).port) : 1884;
  say(`[1/5] starting Mosquitto as HQ on 127.0.0.1:${hqPort}`);
  const hq: Mosquitto = await startMosquitto({ port: hqPort, persistence: false });
  stops.push({ name: 'Mosquitto (HQ)', stop: () => hq.stop() });

  // On a faster clock the gateway's staleness limits shrink with the check-in periods.
  let gatewayConfig = file;
  if (timeScale !== 1) {
    const scaled = writeScaledConfig(cfg, timeScale);
    stops.push({ name: 'scaled config', stop: async () => scaled.remove() });
    gatewayConfig = scaled.file;
    say(`time scale ${timeScale}: every period of the demo and the gateway's staleness limits divided by ${timeScale} (config ${scaled.file})`);
  }

  if (stopping) return;
  say('[2/5] starting the gateway (node dist/storegw.js run)');
  // Its stdout (the log) and stderr (start-up refusals) go straight to the file, not through here.
  const out = openSync(gatewayLog, 'w', 0o600);
  const gw: ChildProcess = spawn(process.execPath, [path.resolve('dist/storegw.js'), 'run', '--config', gatewayConfig], { stdio: ['ignore', out, out] });
  closeSync(out);
  stops.push({
    name: 'gateway',
    waitMs: GATEWAY_KILL_MS + 1000,
    stop: () =>
      new Promise<void>((resolve) => {
        if (gw.exitCode !== null || gw.signalCode !== null) return resolve();
        gw.once('exit', () => resolve());
        gw.kill('SIGTERM');
        setTimeout(() => gw.kill('SIGKILL'), GATEWAY_KILL_MS).unref();
      }),
  });
  // Ready when its HTTP port answers /healthz (whatever the log level says).
  const health = `http://127.0.0.1:${cfg.http.port ?? 8080}/healthz`;
  const gone = new Promise<never>((_, reject) => gw.once('exit', (code) => reject(new Error(`gateway exited with ${code} before it was ready; the end of ${gatewayLog}:\n${tail(gatewayLog)}`))));
  const ready = (async () => {
    for (const deadline = Date.now() + 60_000; Date.now() < deadline && gw.exitCode === null; ) {
      const ok = await fetch(health).then((r) => r.ok, () => false);
      if (ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (gw.exitCode === null) throw new Error(`gateway not healthy at ${health} after 60 s; see ${gatewayLog}`);
  })();
  await Promise.race([ready, gone]);
  gone.catch(() => undefined);
  gw.once('exit', (code, signal) => {
    if (stopping) return;
    // Exit 0 is a gateway stopped by a signal: Ctrl-C reached it first. Anything else is a failure.
    if (code === 0) return void stopAll(0);
    say(`gateway exited unexpectedly (${code ?? signal}); the end of ${gatewayLog}:\n${tail(gatewayLog)}`);
    void stopAll(1);
  });

  if (stopping) return;
  say('[3/5] starting simulated devices');
  const url = `mqtt://127.0.0.1:${cfg.mqtt.port ?? 1883}`;
  const sims: DeviceSim[] = [];
  let exitGate: ExitGateSim | null = null;
  for (const d of cfg.devices) {
    if (d.bridge || !d.secretHash) continue; // byte-level devices come with the bridge
    if (d.kind === 'esl' || d.kind === 'payment' || cfg.shelves.some((sh) => sh.reader === d.id)) continue; // their own simulators, below
    const o = { url, id: d.id, password: DEMO_DEVICE_SECRET, heartbeatMs: scaledMs(15_000, timeScale) };
    const gate = cfg.exitGates.find((g) => g.reader === d.id || g.alarm === d.id);
    if (gate && d.kind === 'rfid') sims.push((exitGate = new ExitGateSim(o)));
    else if (gate && d.kind === 'light') sims.push(new AlarmLightSim(o, (m) => m.color === 'red' && say(`the exit gate alarm light (${d.id}) flashes red`)));
    else sims.push(d.kind === 'footfall' ? new FootfallSim(o, scaledMs(5000, timeScale)) : new DeviceSim({ ...o, kind: d.kind }));
  }
  const t0 = Date.now();
  await Promise.all(sims.map((s) => s.start()));
  stops.push({ name: 'MQTT-native devices', stop: async () => void (await Promise.all(sims.map((s) => s.stop()))) });
  say(`devices connected in ${Date.now() - t0} ms`);
  say(`${sims.length} MQTT-native devices online`);

  if (stopping) return;
  say('[4/5] starting ESL access points, payment terminals and the HQ simulator');
  for (const part of await startShelfAndTills(cfg, url, timeScale)) stops.push(part);
  let memberPhone: MemberPhone | null = null;
  if (cfg.hq) {
    const hqSim = await startHq(cfg, `mqtt://127.0.0.1:${hqPort}`, path.resolve(path.dirname(file), 'demo-hq-signing-key.pem'), say, timeScale);
    stops.push(hqSim);
    memberPhone = hqSim.memberPhone;
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([hqSim.priced.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 60_000)))]);
    clearTimeout(timer);
    say(inTime ? 'the gateway prices from the catalog HQ sent' : `the gateway has not reported HQ's catalog in use after 60 s (see ${gatewayLog}); starting the kiosk devices anyway`);
    await bookOpeningStock(cfg, DEMO_LABELS);
    say(`opening stock booked: 24 of each of the ${DEMO_LABELS} catalog items`);
  }
  if (stopping) return;
  say('[5/5] starting the bridge: serial scales and RFID over socat ptys, the HID scanner and the light tower through their transport interfaces, a ZVT card terminal, a receipt printer and an OpenEPaperLink access point on local ports');
  const bridge = await startBridge(path.resolve(path.dirname(file), 'bridge-demo.yaml'), bridgeLog, cfg.data.dir, timeScale);
  stops.push(bridge);
  say(`bridge connected; its serial devices' ptys are in ${bridge.ptyDir} (removed on stop)`);
  if (memberPhone) {
    // Now and then a member shows the app's QR at the HID scanner (a fresh presentation each time).
    const phone = memberPhone;
    const memberTimer = setInterval(() => {
      bridge.scan(phone.present());
      say('a member showed the member app QR at the HID scanner');
    }, scaledMs(180_000, timeScale));
    stops.push({ name: 'member phone', stop: async () => clearInterval(memberTimer) });
  }
  if (exitGate) {
    // Every few minutes a shopper walks an unpaid tagged item out: one alarm, its record and the ops alert.
    const stopWalkOuts = scheduleWalkOuts(exitGate, scaledMs(WALK_OUT_EVERY_MS, timeScale), say);
    stops.push({ name: 'exit gate walk-outs', stop: async () => stopWalkOuts() });
  }
  if (stopping) return;
  const http = `http://127.0.0.1:${cfg.http.port ?? 8080}`;
  process.stdout.write(
    [
      '',
      'storegw demo store is running',
      `  ops page     ${http}/ops/        (admin / demo-admin, attendant / demo-attendant, viewer / demo-viewer)`,
      `  kiosk page   ${http}/kiosk/#k=k2&t=demo-kiosk-token   (kiosk 2: simulated scan, pay; the terminal approves)`,
      `               ${http}/kiosk/#k=k1&t=demo-kiosk-token   (kiosk 1: scales, RFID basket, light tower, a ZVT card terminal and a receipt printer)`,
      `  API          ${http}/api/devices  (after POST /api/login)`,
      `  metrics      ${http}/metrics`,
      `  MQTT         ${url}  (devices: {kind}/{id} / demo-device-secret)`,
      `  HQ (Mosquitto) mqtt://127.0.0.1:${hqPort}   e.g. mosquitto_sub -p ${hqPort} -t 'hq/#' -v`,
      `  logs         ${gatewayLog}`,
      `               ${bridgeLog}`,
      '  Ctrl-C stops everything.',
      '',
    ].join('\n') + '\n',
  );
}

startup = main();
startup.catch((err: Error) => {
  if (stopping) return; // a part failed because the stop took it away
  process.stderr.write(`demo: ${err.message}\n`);
  void stopAll(1);
});
