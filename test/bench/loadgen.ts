/**
 * The load generator: real mqtt.js clients on loopback publishing QoS 1 device events with
 * realistic payloads, timing each PUBACK (hrtime at publish → publish callback), and a raw-socket
 * connect storm for the idle-device bench (a bare CONNECT/CONNACK, so the storm is limited by the
 * server, not by mqtt.js' per-client set-up).
 */
import net from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { Samples } from './stats.js';

export interface Identity {
  clientId: string;
  username: string;
  password: string;
  /** The device's event topic, e.g. store/v1/dev/rfid/bench-0/evt/read */
  topic: string;
}

export interface LoadClient {
  id: Identity;
  c: MqttClient;
  inflight: number;
}

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** An RFID tag read as a UHF reader sends it, each one a different tag. */
let tagNo = 0;
export function rfidRead(): string {
  tagNo = (tagNo + 1) % 0xffffff;
  const serial = tagNo.toString(16).toUpperCase().padStart(6, '0');
  const rssi = -40 - (tagNo % 35);
  const antenna = 1 + (tagNo % 4);
  return `{"ts":"${new Date().toISOString()}","epc":"3074257BF7194E4000${serial}","antenna":${antenna},"rssi":${rssi}}`;
}

export async function connectClients(url: string, ids: Identity[], noDelay: boolean): Promise<LoadClient[]> {
  return Promise.all(
    ids.map(
      (id) =>
        new Promise<LoadClient>((resolve, reject) => {
          const c = mqtt.connect(url, {
            clientId: id.clientId,
            username: id.username,
            password: id.password,
            protocolVersion: 4,
            clean: true,
            keepalive: 60,
            reconnectPeriod: 0,
            connectTimeout: 15_000,
          });
          // mqtt.js never sets TCP_NODELAY; the stream exists synchronously after connect().
          if (noDelay) (c.stream as net.Socket).setNoDelay?.(true);
          c.once('connect', () => resolve({ id, c, inflight: 0 }));
          c.once('error', (err) => {
            c.end(true);
            reject(new Error(`${id.username}: ${err.message}`));
          });
        }),
    ),
  );
}

export async function closeClients(clients: LoadClient[]): Promise<void> {
  await Promise.all(clients.map((l) => new Promise<void>((resolve) => l.c.end(false, {}, () => resolve()))));
}

export interface LoadResult {
  /** Acknowledged events within the measuring window, per second. */
  rate: number;
  acked: number;
  /** Events offered (published) within the measuring window, per second. */
  offered: number;
  latency: Samples;
  errors: number;
  /** Publishes still unacknowledged after the drain timeout. */
  lost: number;
  maxInflight: number;
  firstError?: string;
}

interface Window {
  start: number;
  end: number;
}

/** Shared bookkeeping: one publish, its latency counted only inside the measuring window. */
function makePublisher(res: LoadResult, w: Window) {
  let inflightTotal = 0;
  const publish = (l: LoadClient, after?: () => void): void => {
    const t0 = nowMs();
    l.inflight++;
    inflightTotal++;
    if (inflightTotal > res.maxInflight) res.maxInflight = inflightTotal;
    l.c.publish(l.id.topic, rfidRead(), { qos: 1 }, (err) => {
      const t1 = nowMs();
      l.inflight--;
      inflightTotal--;
      if (err) {
        res.errors++;
        res.firstError ??= err.message;
      } else if (t0 >= w.start && t1 <= w.end) {
        res.acked++;
        res.latency.add(t1 - t0);
      }
      after?.();
    });
  };
  return { publish, inflight: () => inflightTotal };
}

function newResult(): LoadResult {
  return { rate: 0, acked: 0, offered: 0, latency: new Samples(), errors: 0, lost: 0, maxInflight: 0 };
}

async function drain(inflight: () => number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (inflight() > 0 && Date.now() < deadline) await sleep(20);
  return inflight();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * As fast as possible: every client keeps `window` publishes in flight, sending the next one as
 * each PUBACK arrives. Measures after `warmupS`, for `seconds`. `onWindow` is called at the start
 * and the end of the measuring window (to sample the server).
 */
export async function maxThroughput(
  clients: LoadClient[],
  o: { window: number; warmupS: number; seconds: number; onWindow?: (phase: 'start' | 'end') => Promise<void> | void },
): Promise<LoadResult> {
  const res = newResult();
  const w: Window = { start: Infinity, end: Infinity };
  let running = true;
  let published = 0;
  let publishedAtStart = 0;
  const { publish, inflight } = makePublisher(res, w);
  const pump = (l: LoadClient): void => {
    while (running && l.inflight < o.window) {
      published++;
      publish(l, () => pump(l));
    }
  };
  for (const l of clients) pump(l);
  await sleep(o.warmupS * 1000);
  await o.onWindow?.('start');
  w.start = nowMs();
  publishedAtStart = published;
  await sleep(o.seconds * 1000);
  w.end = nowMs();
  const publishedInWindow = published - publishedAtStart;
  await o.onWindow?.('end');
  running = false;
  res.lost = await drain(inflight, 15_000);
  const dt = (w.end - w.start) / 1000;
  res.rate = res.acked / dt;
  res.offered = publishedInWindow / dt;
  return res;
}

/**
 * A fixed offered rate spread round-robin over the clients, paced by a 1 ms timer (catching up
 * when a tick is late, so the offered rate holds). Latency from the actual publish call.
 */
export async function fixedRate(
  clients: LoadClient[],
  o: { rate: number; warmupS: number; seconds: number; onWindow?: (phase: 'start' | 'end') => Promise<void> | void },
): Promise<LoadResult> {
  const res = newResult();
  const w: Window = { start: Infinity, end: Infinity };
  const { publish, inflight } = makePublisher(res, w);
  const t0 = nowMs();
  let sent = 0;
  let sentAtStart = 0;
  let next = 0;
  const timer = setInterval(() => {
    const due = Math.floor(((nowMs() - t0) * o.rate) / 1000);
    while (sent < due) {
      publish(clients[next]);
      next = (next + 1) % clients.length;
      sent++;
    }
  }, 1);
  try {
    await sleep(o.warmupS * 1000);
    await o.onWindow?.('start');
    w.start = nowMs();
    sentAtStart = sent;
    await sleep(o.seconds * 1000);
    w.end = nowMs();
    await o.onWindow?.('end');
  } finally {
    clearInterval(timer);
  }
  const dt = (w.end - w.start) / 1000;
  res.offered = (sent - sentAtStart) / dt;
  res.lost = await drain(inflight, 15_000);
  res.rate = res.acked / dt;
  return res;
}

/** One message in flight: publish, wait for its PUBACK, publish the next; for `seconds`. */
export async function oneInFlight(client: LoadClient, o: { seconds: number; maxMessages: number }): Promise<LoadResult> {
  const res = newResult();
  const w: Window = { start: nowMs(), end: Infinity };
  const { publish } = makePublisher(res, w);
  const stopAt = w.start + o.seconds * 1000;
  await new Promise<void>((resolve) => {
    let n = 0;
    const step = (): void => {
      if (nowMs() >= stopAt || n >= o.maxMessages || res.errors > 0) {
        resolve();
        return;
      }
      n++;
      publish(client, step);
    };
    step();
  });
  w.end = nowMs();
  res.rate = res.acked / ((w.end - w.start) / 1000);
  res.offered = res.rate;
  return res;
}

// ---------------------------------------------------------------------------------------------
// Connect storm with raw sockets (MQTT 3.1.1 CONNECT → CONNACK), then the sockets stay idle.

function utf8Field(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

/** CONNECT, MQTT 3.1.1, clean session, username + password, keep-alive 60 s (the gateway refuses 0: mqtt.maxKeepaliveS). */
export function connectPacket(id: Identity, keepaliveS = 60): Buffer {
  const variable = Buffer.concat([utf8Field('MQTT'), Buffer.from([4, 0x80 | 0x40 | 0x02, keepaliveS >> 8, keepaliveS & 0xff])]);
  const payload = Buffer.concat([utf8Field(id.clientId), utf8Field(id.username), utf8Field(id.password)]);
  const body = Buffer.concat([variable, payload]);
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body]);
}

export interface StormResult {
  ok: number;
  errors: Record<string, number>;
  elapsedMs: number;
  ratePerS: number;
  sockets: net.Socket[];
  /** CONNACK latency per connection (from TCP connect start), ms. */
  latency: Samples;
}

/** Opens `ids.length` connections, at most `concurrency` handshakes at a time, as fast as it can. */
export async function connectStorm(port: number, ids: Identity[], o: { concurrency: number; timeoutMs: number }): Promise<StormResult> {
  const res: StormResult = { ok: 0, errors: {}, elapsedMs: 0, ratePerS: 0, sockets: [], latency: new Samples() };
  const count = (what: string): void => {
    res.errors[what] = (res.errors[what] ?? 0) + 1;
  };
  let nextIdx = 0;
  const t0 = nowMs();
  const one = (id: Identity): Promise<void> =>
    new Promise((resolve) => {
      const start = nowMs();
      const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
      let buf = Buffer.alloc(0);
      let settled = false;
      const finish = (err: string | null): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) {
          count(err);
          s.destroy();
        } else {
          res.ok++;
          res.latency.add(nowMs() - start);
          res.sockets.push(s);
          s.removeAllListeners('data');
          s.on('data', () => undefined); // an idle device ignores whatever the broker sends
        }
        resolve();
      };
      const timer = setTimeout(() => finish('timeout'), o.timeoutMs);
      s.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message));
      s.on('close', () => finish('closed before CONNACK'));
      s.on('connect', () => s.write(connectPacket(id)));
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length < 4) return;
        if (buf[0] !== 0x20) return finish(`unexpected packet 0x${buf[0].toString(16)}`);
        const rc = buf[3];
        finish(rc === 0 ? null : `CONNACK rc=${rc}`);
      });
    });
  const worker = async (): Promise<void> => {
    while (nextIdx < ids.length) await one(ids[nextIdx++]);
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, ids.length) }, worker));
  res.elapsedMs = nowMs() - t0;
  res.ratePerS = res.ok / (res.elapsedMs / 1000);
  return res;
}

/** Sends DISCONNECT on every socket and waits (bounded) until they are closed. */
export async function disconnectAll(sockets: net.Socket[], timeoutMs = 20_000): Promise<void> {
  const disconnect = Buffer.from([0xe0, 0x00]);
  await Promise.race([
    Promise.all(
      sockets.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.destroyed) return resolve();
            s.once('close', () => resolve());
            s.on('error', () => undefined);
            s.end(disconnect);
          }),
      ),
    ),
    sleep(timeoutMs),
  ]);
  for (const s of sockets) s.destroy();
}
