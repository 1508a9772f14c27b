/**
 * TLS with a throwaway store CA made by the `openssl` CLI: MQTT over TLS for devices (password, or
 * a client certificate whose CN is the username; same ACL), the frame guard on the TLS listener, a
 * plain-TCP client refused, a certificate from another CA refused, `requireClientCert`; HTTPS for
 * pages and API with Secure cookies; a key file others can read refuses start.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import path from 'node:path';
import { stringify } from 'yaml';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { GATEWAY_BIN, buildConfig, connectDevice, startGateway, ts, TEST_PASSWORDS, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';
import { makeStoreCa, type Issued, type StoreCa } from '../../helpers/storeCa.js';

const tmp = tempDir('sgw-tls-');
let ca: StoreCa;
let rogue: StoreCa;
let server: Issued;
let g: RunningGateway;
let tlsPort: number;

function mqttSection(tlsSection: Record<string, unknown>) {
  return { host: '127.0.0.1', port: 0, connectRate: { perSecond: 1000, burst: 5000 }, tls: { port: 0, ...tlsSection } };
}

beforeAll(async () => {
  ca = makeStoreCa(tmp.dir, 'store-ca');
  rogue = makeStoreCa(tmp.dir, 'rogue-ca');
  server = ca.server();
  g = await startGateway({
    extra: {
      mqtt: mqttSection({ certFile: server.certFile, keyFile: server.keyFile, caFile: ca.caFile }),
      http: { host: '127.0.0.1', port: 0, tls: { certFile: server.certFile, keyFile: server.keyFile } },
    },
  });
  tlsPort = g.gw.broker.tlsPort;
});
afterAll(async () => {
  await g?.stop();
  tmp.remove();
});

const mqtts = () => `mqtts://127.0.0.1:${tlsPort}`;
const httpsUrl = () => `https://127.0.0.1:${g.gw.httpPort}`;

function closed(c: MqttClient): Promise<void> {
  return new Promise((resolve) => (c.disconnected ? resolve() : c.once('close', () => resolve())));
}

/** 'connected', or 'closed' when the gateway ends the connection without a CONNACK (mqtt.js then only closes). */
function outcome(url: string, username: string | undefined, password: string | undefined, extra: IClientOptions): Promise<'connected' | 'closed' | 'refused'> {
  return new Promise((resolve) => {
    const c = mqtt.connect(url, { username, password, reconnectPeriod: 0, connectTimeout: 10_000, ...extra });
    c.once('connect', () => {
      c.end(true);
      resolve('connected');
    });
    c.once('error', (err) => {
      c.end(true);
      resolve((err as { code?: unknown }).code === undefined || typeof (err as { code?: unknown }).code === 'string' ? 'closed' : 'refused');
    });
    c.once('close', () => resolve('closed'));
  });
}

/** GET/POST over HTTPS trusting only the store CA. */
function httpsRequest(url: string, init: { method?: string; body?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: init.method ?? 'GET', ca: ca.ca, headers: init.body ? { 'content-type': 'application/json', origin: httpsUrl() } : {} }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

describe('MQTT over TLS', () => {
  it('lets a device in with its password over TLS and PUBACKs its event', async () => {
    const c = await connectDevice(mqtts(), 'footfall/door-1', TEST_SECRET, { ca: ca.ca });
    await c.publishAsync('store/v1/dev/footfall/door-1/evt/count', JSON.stringify({ ts: ts(), in: 1, out: 0 }), { qos: 1 });
    expect(g.gw.registry.get('footfall', 'door-1')!.events).toBe(1);
    await c.endAsync();
  });

  it('lets a device in with a client certificate and no password (CN = username)', async () => {
    const cert = ca.client('footfall/door-2');
    const c = await connectDevice(mqtts(), undefined, undefined, { ca: ca.ca, cert: cert.cert, key: cert.key });
    await c.publishAsync('store/v1/dev/footfall/door-2/evt/count', JSON.stringify({ ts: ts(), in: 2, out: 0 }), { qos: 1 });
    expect(g.gw.registry.get('footfall', 'door-2')!.events).toBe(1);
    await c.endAsync();
    // The username may be given; it must be the certificate's.
    const same = await connectDevice(mqtts(), 'footfall/door-2', undefined, { ca: ca.ca, cert: cert.cert, key: cert.key });
    await same.endAsync();
  });

  it('keeps a certificate to its own identity: another username is refused, another device’s topic closes the connection', async () => {
    const cert = ca.client('footfall/door-1', 'door-1-b');
    await expect(connectDevice(mqtts(), 'footfall/door-2', TEST_SECRET, { ca: ca.ca, cert: cert.cert, key: cert.key })).rejects.toMatchObject({ code: 4 });
    const c = await connectDevice(mqtts(), undefined, undefined, { ca: ca.ca, cert: cert.cert, key: cert.key });
    const events = g.gw.registry.get('footfall', 'door-2')!.events;
    const gone = closed(c);
    c.publish('store/v1/dev/footfall/door-2/evt/count', JSON.stringify({ ts: ts(), in: 9, out: 0 }), { qos: 1 });
    await gone;
    expect(g.gw.registry.get('footfall', 'door-2')!.events).toBe(events);
    c.end(true);
  });

  it('refuses a client certificate the store CA did not sign, even with a good password, and counts it', async () => {
    const cert = rogue.client('footfall/door-1');
    expect(await outcome(mqtts(), undefined, undefined, { ca: ca.ca, cert: cert.cert, key: cert.key })).toBe('closed');
    expect(await outcome(mqtts(), 'footfall/door-1', TEST_SECRET, { ca: ca.ca, cert: cert.cert, key: cert.key })).toBe('closed');
    const text = (await httpsRequest(`${httpsUrl()}/metrics`)).body;
    expect(text).toMatch(/storegw_protocol_errors_total\{reason="tls_bad_cert"\} 2/);
  });

  it('refuses a plain-TCP MQTT client on the TLS port (no CONNACK), and counts it', async () => {
    const s = net.connect(tlsPort, '127.0.0.1');
    const got: Buffer[] = [];
    s.on('data', (d: Buffer) => got.push(d));
    s.on('error', () => undefined);
    s.once('connect', () => {
      // CONNECT, MQTT 3.1.1, clean session, client id "x"
      s.write(Buffer.from([0x10, 13, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 2, 0, 60, 0, 1, 0x78]));
    });
    await new Promise<void>((resolve) => s.once('close', () => resolve()));
    expect(Buffer.concat(got).includes(Buffer.from([0x20, 2]))).toBe(false);
    const text = (await httpsRequest(`${httpsUrl()}/metrics`)).body;
    expect(text).toMatch(/storegw_protocol_errors_total\{reason="tls_handshake"\} [1-9]/);
  });

  it('puts the frame guard on the TLS listener too: the first packet must be CONNECT', async () => {
    const s = tls.connect({ host: '127.0.0.1', port: tlsPort, ca: ca.ca });
    s.on('error', () => undefined);
    await new Promise<void>((resolve) => s.once('secureConnect', () => resolve()));
    s.write(Buffer.from([0xc0, 0])); // PINGREQ before CONNECT [MQTT-3.1.0-1]
    await new Promise<void>((resolve) => s.once('close', () => resolve()));
    const text = (await httpsRequest(`${httpsUrl()}/metrics`)).body;
    expect(text).toMatch(/storegw_protocol_errors_total\{reason="not_connect"\} [1-9]/);
  });
});

describe('HTTPS', () => {
  it('answers /healthz over HTTPS with the store certificate, and not over plain HTTP', async () => {
    const r = await httpsRequest(`${httpsUrl()}/healthz`);
    expect(r.status).toBe(200);
    await expect(fetch(`http://127.0.0.1:${g.gw.httpPort}/healthz`)).rejects.toBeDefined();
  });

  it('sets the session cookie Secure over HTTPS', async () => {
    const r = await httpsRequest(`${httpsUrl()}/api/login`, { method: 'POST', body: JSON.stringify({ username: 'admin', password: TEST_PASSWORDS.admin }) });
    expect(r.status).toBe(200);
    const cookie = String(r.headers['set-cookie']);
    expect(cookie).toMatch(/;\s*Secure/i);
    expect(cookie).toMatch(/HttpOnly/i);
  });
});

describe('requireClientCert', () => {
  let g2: RunningGateway;
  beforeAll(async () => {
    g2 = await startGateway({ extra: { mqtt: mqttSection({ host: '127.0.0.1', certFile: server.certFile, keyFile: server.keyFile, caFile: ca.caFile, requireClientCert: true }) } });
  });
  afterAll(async () => g2?.stop());

  it('refuses a password-only device at the handshake and lets a certified one in', async () => {
    const url = `mqtts://127.0.0.1:${g2.gw.broker.tlsPort}`;
    expect(await outcome(url, 'footfall/door-1', TEST_SECRET, { ca: ca.ca })).toBe('closed');
    const cert = ca.client('footfall/door-1', 'door-1-c');
    const c = await connectDevice(url, 'footfall/door-1', TEST_SECRET, { ca: ca.ca, cert: cert.cert, key: cert.key });
    await c.endAsync();
  });
});

describe('revoked client certificates (crlFile)', () => {
  let g5: RunningGateway;
  let kept: Issued;
  let revoked: Issued;
  beforeAll(async () => {
    kept = ca.client('footfall/door-1', 'kept');
    revoked = ca.client('footfall/door-2', 'revoked');
    const crlFile = ca.revoke(revoked);
    g5 = await startGateway({ extra: { mqtt: mqttSection({ certFile: server.certFile, keyFile: server.keyFile, caFile: ca.caFile, crlFile }) } });
  });
  afterAll(async () => g5?.stop());

  it('refuses a revoked certificate, even with the right password, and keeps the others working', async () => {
    const url = `mqtts://127.0.0.1:${g5.gw.broker.tlsPort}`;
    expect(await outcome(url, undefined, undefined, { ca: ca.ca, cert: revoked.cert, key: revoked.key })).toBe('closed');
    expect(await outcome(url, 'footfall/door-2', TEST_SECRET, { ca: ca.ca, cert: revoked.cert, key: revoked.key })).toBe('closed');
    expect(await outcome(url, undefined, undefined, { ca: ca.ca, cert: kept.cert, key: kept.key })).toBe('connected');
    expect(await outcome(url, 'footfall/door-2', TEST_SECRET, { ca: ca.ca })).toBe('connected');
    expect(await (await fetch(`${g5.httpUrl}/metrics`)).text()).toMatch(/storegw_protocol_errors_total\{reason="tls_bad_cert"\} 2\n/);
  });
});

describe('connect rate limit before the handshake', () => {
  let g3: RunningGateway;
  beforeAll(async () => {
    g3 = await startGateway({ extra: { mqtt: { host: '127.0.0.1', port: 0, connectRate: { perSecond: 0.1, burst: 2 }, tls: { port: 0, certFile: server.certFile, keyFile: server.keyFile } } } });
  });
  afterAll(async () => g3?.stop());

  it('closes the third connection from one address at once, before any handshake, and counts it', async () => {
    const port = g3.gw.broker.tlsPort;
    const open = (): Promise<{ socket: net.Socket; closedFirst: Promise<boolean> }> =>
      new Promise((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => {
          // true: the gateway closed it while we sent nothing (refused); the two admitted ones wait for a ClientHello.
          const closedFirst = new Promise<boolean>((r) => {
            socket.once('close', () => r(true));
            socket.resume();
          });
          resolve({ socket, closedFirst });
        });
        socket.on('error', () => undefined);
      });
    const a = await open();
    const b = await open();
    const c = await open();
    expect(await c.closedFirst).toBe(true);
    const text = await (await fetch(`${g3.httpUrl}/metrics`)).text();
    expect(text).toMatch(/storegw_mqtt_connects_total\{result="rate_limited"\} 1\n/);
    // The admitted ones are still open (waiting for their handshake): end them.
    for (const x of [a, b]) {
      expect(x.socket.destroyed).toBe(false);
      x.socket.destroy();
    }
  });
});

describe('the bridge over TLS', () => {
  let g4: RunningGateway;
  beforeAll(async () => {
    g4 = await startGateway({
      devices: [{ kind: 'scale', id: 's1', bridge: 'kb' }],
      bridges: ['kb'],
      extra: { mqtt: mqttSection({ certFile: server.certFile, keyFile: server.keyFile, caFile: ca.caFile, requireClientCert: true }) },
    });
  });
  afterAll(async () => g4?.stop());

  it('connects with the store CA, its client certificate (CN bridge/kb) and its password', async () => {
    const dir = path.join(tmp.dir, 'bridge');
    mkdirSync(dir);
    const cert = ca.client('bridge/kb', 'bridge-kb');
    writeFileSync(path.join(dir, 'bridge.secret'), `${TEST_SECRET}\n`, { mode: 0o600 });
    const file = path.join(dir, 'bridge.yaml');
    const cfg = {
      mqtt: { url: `mqtts://127.0.0.1:${g4.gw.broker.tlsPort}`, username: 'bridge/kb', passwordFile: 'bridge.secret', caFile: ca.caFile, certFile: cert.certFile, keyFile: cert.keyFile },
      devices: [{ kind: 'scale', id: 's1', protocol: 'mtsics', serial: { path: path.join(dir, 'no-such-port') } }],
    };
    writeFileSync(file, stringify(cfg), { mode: 0o600 });
    const bin = path.resolve('dist/storegw-bridge.js');
    const p = spawn(process.execPath, [bin, '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const connected = await new Promise<boolean>((resolve) => {
      const on = (d: Buffer) => {
        out += d.toString('utf8');
        if (out.includes('"connected to the gateway"')) resolve(true);
      };
      p.stdout.on('data', on);
      p.stderr.on('data', on);
      p.once('exit', () => resolve(false));
    });
    p.kill('SIGKILL');
    expect(connected, out).toBe(true);
  });
});

describe('TLS key files at start', () => {
  beforeAll(() => {
    if (!existsSync(GATEWAY_BIN)) {
      const b = spawnSync(process.execPath, ['build.mjs'], { stdio: 'inherit' });
      if (b.status !== 0) throw new Error('node build.mjs failed');
    }
  });

  it('refuses to start with a TLS key file others can read, naming the field', async () => {
    const dir = path.join(tmp.dir, 'loose');
    mkdirSync(dir);
    const loose = ca.server('loose-server');
    chmodSync(loose.keyFile, 0o644);
    const file = path.join(dir, 'storegw.yaml');
    writeFileSync(file, stringify(await buildConfig({ dataDir: path.join(dir, 'data'), extra: { mqtt: mqttSection({ certFile: loose.certFile, keyFile: loose.keyFile }) } })), { mode: 0o600 });
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, [GATEWAY_BIN, 'run', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
      p.stdout.on('data', (d: Buffer) => {
        if (d.toString('utf8').includes('"storegw ready"')) p.kill('SIGKILL');
      });
      p.once('close', (code) => resolve({ code, stderr }));
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/mqtt\.tls\.keyFile: .*loose-server\.key .*\(mode 0644\)/);
  });
});
