import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SocketGuard, type FrameViolation } from '../../../../gateway/broker/limits.js';

/** A loopback server whose accepted sockets get the guard; the reader reads like aedes ('readable' + read()). */
async function guardedPair(maxPacketBytes: number) {
  const violations: FrameViolation[] = [];
  const guard = new SocketGuard(maxPacketBytes, (v) => violations.push(v));
  const received: Buffer[] = [];
  let accepted!: net.Socket;
  const server = net.createServer((s) => {
    guard.install(s);
    s.on('error', () => undefined);
    s.on('readable', () => {
      let c: Buffer | null;
      while ((c = s.read() as Buffer | null) !== null) received.push(c);
    });
    accepted = s;
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  client.on('error', () => undefined);
  await new Promise<void>((r) => client.once('connect', () => r()));
  await until(() => accepted !== undefined);
  return { server, client, received, violations, accepted: () => accepted };
}

async function until(ok: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

describe('SocketGuard', () => {
  it('passes well-formed packets to the socket reader, split or coalesced', async () => {
    const p = await guardedPair(1024);
    cleanup.push(() => (p.client.destroy(), p.server.close()));
    const connect = Buffer.from([0x10, 0x02, 0x00, 0x04]);
    const ping = Buffer.from([0xc0, 0x00]);
    p.client.write(connect.subarray(0, 1));
    p.client.write(Buffer.concat([connect.subarray(1), ping]));
    await until(() => Buffer.concat(p.received).length === 6);
    expect(Buffer.concat(p.received)).toEqual(Buffer.concat([connect, ping]));
    expect(p.violations).toEqual([]);
    expect(p.accepted().destroyed).toBe(false);
  });

  it('drops the connection on an oversized header before its body reaches the reader', async () => {
    const p = await guardedPair(1024);
    cleanup.push(() => (p.client.destroy(), p.server.close()));
    p.client.write(Buffer.from([0x10, 0x00]));
    await until(() => p.received.length === 1);
    // PUBLISH announcing 5,000 bytes [MQTT-2.2.3]: refused on its fixed header.
    p.client.write(Buffer.concat([Buffer.from([0x30, 0x88, 0x27]), Buffer.alloc(100, 0x61)]));
    await until(() => p.accepted().destroyed);
    expect(p.violations).toMatchObject([{ code: 'oversized' }]);
    expect(Buffer.concat(p.received)).toEqual(Buffer.from([0x10, 0x00]));
  });

  it('drops a stream whose first packet is not CONNECT [MQTT-3.1.0-1]', async () => {
    const p = await guardedPair(1024);
    cleanup.push(() => (p.client.destroy(), p.server.close()));
    p.client.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    await until(() => p.accepted().destroyed);
    expect(p.violations).toMatchObject([{ code: 'not_connect' }]);
    expect(p.received).toEqual([]);
  });
});
