/**
 * A raw MQTT 3.1.1 client over one TCP socket, for what mqtt.js will not send (a zero-length client
 * id with clean session 0, keep-alive 0, QoS 2 publishes) and for reading CONNACK codes exactly.
 */
import net from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';

export interface RawConnect {
  clientId: string;
  username?: string;
  password?: string;
  clean?: boolean;
  keepalive?: number;
}

export interface RawClient {
  socket: net.Socket;
  /** CONNACK return code, or null if the socket closed without one. */
  returnCode: number | null;
  sessionPresent: boolean;
  packets: Packet[];
  closed: Promise<void>;
  isClosed(): boolean;
  send(p: Record<string, unknown>): void;
  /** Resolves with the next packet of that cmd, or null when the socket closes first. */
  next(cmd: string): Promise<Packet | null>;
  end(): void;
}

export function rawConnect(port: number, c: RawConnect, timeoutMs = 15_000): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    const packets: Packet[] = [];
    const waiters: { cmd: string; fn: (p: Packet | null) => void }[] = [];
    let isClosed = false;
    let settled = false;
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    const client: RawClient = {
      socket,
      returnCode: null,
      sessionPresent: false,
      packets,
      closed,
      isClosed: () => isClosed,
      send: (p) => {
        if (!socket.destroyed) socket.write(mqttPacket.generate(p as unknown as Packet));
      },
      next: (cmd) =>
        new Promise((r) => {
          if (isClosed) return r(null);
          waiters.push({ cmd, fn: r });
        }),
      end: () => socket.destroy(),
    };
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(new Error('no CONNACK and no close in time'));
    }, timeoutMs);
    parser.on('packet', (p: Packet) => {
      packets.push(p);
      if (p.cmd === 'connack' && !settled) {
        settled = true;
        clearTimeout(timer);
        client.returnCode = p.returnCode ?? null;
        client.sessionPresent = p.sessionPresent;
        resolve(client);
      }
      for (let i = 0; i < waiters.length; i++) {
        if (waiters[i].cmd === p.cmd) {
          waiters.splice(i, 1)[0].fn(p);
          break;
        }
      }
    });
    socket.on('data', (d) => parser.parse(d));
    socket.on('error', () => undefined);
    socket.once('close', () => {
      isClosed = true;
      for (const w of waiters.splice(0)) w.fn(null);
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        resolve(client);
      }
    });
    socket.once('connect', () => {
      socket.write(connectBytes(c));
    });
  });
}

function field(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
}

/** CONNECT built by hand: mqtt-packet refuses to write a zero-length client id with clean session 0. */
export function connectBytes(c: RawConnect): Buffer {
  const ka = c.keepalive ?? 60;
  const flags = (c.username !== undefined ? 0x80 : 0) | (c.password !== undefined ? 0x40 : 0) | ((c.clean ?? true) ? 0x02 : 0);
  const parts = [field('MQTT'), Buffer.from([4, flags, ka >> 8, ka & 0xff]), field(c.clientId)];
  if (c.username !== undefined) parts.push(field(c.username));
  if (c.password !== undefined) parts.push(field(c.password));
  const body = Buffer.concat(parts);
  const len: number[] = [];
  let n = body.length;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    len.push(byte);
  } while (n > 0);
  return Buffer.concat([Buffer.from([0x10, ...len]), body]);
}
