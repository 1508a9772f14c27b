/**
 * `make demo`: the whole store on config/demo.yaml — Mosquitto as HQ, the gateway, simulated
 * devices — with progress lines, the URLs and the demo logins. Ctrl-C stops everything.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../../gateway/config.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { DeviceSim, FootfallSim } from './deviceSim.js';
import { startBridge, startHq, startShelfAndTills } from './demoStore.js';

const DEMO_DEVICE_SECRET = 'demo-device-secret';
const say = (s: string) => process.stdout.write(`demo: ${s}\n`);

const stops: (() => Promise<void>)[] = [];
let stopping = false;
async function stopAll(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  say('stopping…');
  for (const s of stops.reverse()) await s().catch((err: Error) => say(`stop failed: ${err.message}`));
  say('stopped');
  process.exit(code);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string', default: 'config/demo.yaml' } } });
  const file = path.resolve(values.config!);
  const res = loadConfigFile(file);
  if (!res.ok) throw new Error(`${file}:\n  ${res.errors.join('\n  ')}`);
  const cfg = res.config;
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  const hqPort = cfg.hq ? Number(new URL(cfg.hq.url).port) : 1884;
  say(`[1/5] starting Mosquitto as HQ on 127.0.0.1:${hqPort}`);
  const hq: Mosquitto = await startMosquitto({ port: hqPort, persistence: false });
  stops.push(() => hq.stop());

  say('[2/5] starting the gateway (node dist/storegw.js run)');
  const gw: ChildProcess = spawn(process.execPath, [path.resolve('dist/storegw.js'), 'run', '--config', file], { stdio: ['ignore', 'pipe', 'inherit'] });
  stops.push(
    () =>
      new Promise<void>((resolve) => {
        if (gw.exitCode !== null || gw.signalCode !== null) return resolve();
        gw.once('exit', () => resolve());
        gw.kill('SIGTERM');
        setTimeout(() => gw.kill('SIGKILL'), 4000).unref();
      }),
  );
  // Ready when its HTTP port answers /healthz (whatever the log level says).
  gw.stdout!.resume();
  const health = `http://127.0.0.1:${cfg.http.port ?? 8080}/healthz`;
  const gone = new Promise<never>((_, reject) => gw.once('exit', (code) => reject(new Error(`gateway exited with ${code}`))));
  const ready = (async () => {
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
      const ok = await fetch(health).then((r) => r.ok, () => false);
      if (ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`gateway not healthy at ${health} after 60 s`);
  })();
  await Promise.race([ready, gone]);
  gw.once('exit', (code) => {
    if (!stopping) {
      say(`gateway exited unexpectedly (${code})`);
      void stopAll(1);
    }
  });

  say('[3/5] starting simulated devices');
  const url = `mqtt://127.0.0.1:${cfg.mqtt.port ?? 1883}`;
  const sims: DeviceSim[] = [];
  for (const d of cfg.devices) {
    if (d.bridge || !d.secretHash) continue; // byte-level devices come with the bridge
    if (d.kind === 'esl' || d.kind === 'payment') continue; // their own simulators, below
    const o = { url, id: d.id, password: DEMO_DEVICE_SECRET, heartbeatMs: 15_000 };
    sims.push(d.kind === 'footfall' ? new FootfallSim(o, 5000) : new DeviceSim({ ...o, kind: d.kind }));
  }
  const t0 = Date.now();
  await Promise.all(sims.map((s) => s.start()));
  for (const s of sims) stops.push(() => s.stop());
  say(`devices connected in ${Date.now() - t0} ms`);
  say(`${sims.length} MQTT-native devices online`);

  say('[4/5] starting ESL access points, payment terminals and the HQ simulator');
  for (const part of await startShelfAndTills(cfg, url)) stops.push(part.stop);
  if (cfg.hq) {
    const hqSim = await startHq(cfg, `mqtt://127.0.0.1:${hqPort}`, path.resolve(path.dirname(file), 'demo-hq-signing-key.pem'), say);
    stops.push(hqSim.stop);
  }
  say('[5/5] starting the bridge: serial scales and RFID over socat ptys, the HID scanner and the light tower through their transport interfaces (log: bridge.log in the data folder)');
  const bridge = await startBridge(path.resolve(path.dirname(file), 'bridge-demo.yaml'), cfg.data.dir);
  stops.push(bridge.stop);
  const http = `http://127.0.0.1:${cfg.http.port ?? 8080}`;
  process.stdout.write(
    [
      '',
      'storegw demo store is running',
      `  ops page     ${http}/ops/        (admin / demo-admin, attendant / demo-attendant, viewer / demo-viewer)`,
      `  kiosk page   ${http}/kiosk/#k=k2&t=demo-kiosk-token   (kiosk 2: simulated scan, pay; the terminal approves)`,
      `               ${http}/kiosk/#k=k1&t=demo-kiosk-token   (kiosk 1: with its scales, RFID basket and light tower)`,
      `  API          ${http}/api/devices  (after POST /api/login)`,
      `  metrics      ${http}/metrics`,
      `  MQTT         ${url}  (devices: {kind}/{id} / demo-device-secret)`,
      `  HQ (Mosquitto) mqtt://127.0.0.1:${hqPort}   e.g. mosquitto_sub -p ${hqPort} -t 'hq/#' -v`,
      '  Ctrl-C stops everything.',
      '',
    ].join('\n') + '\n',
  );
}

main().catch((err: Error) => {
  process.stderr.write(`demo: ${err.message}\n`);
  void stopAll(1);
});
