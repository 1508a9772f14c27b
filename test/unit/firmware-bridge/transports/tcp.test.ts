import net from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { TcpTransport } from '../../../../firmware-bridge/transports/tcp.js';

/** A real TCP server on a free port that records what it receives and hands out its sockets. */
async function server(): Promise<{ port: number; sockets: net.Socket[]; accepted: () => Promise<net.Socket>; close: () => Promise<void> }> {
  const sockets: net.Socket[] = [];
  const waiting: ((s: net.Socket) => void)[] = [];
  const unclaimed: net.Socket[] = [];
  const srv = net.createServer((s) => {
    sockets.push(s);
    const w = waiting.shift();
    if (w) w(s);
    else unclaimed.push(s);
    s.on('error', () => {});
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as net.AddressInfo).port;
  return {
    port,
    sockets,
    /** The next connection the server accepted (each one once). */
    accepted: () => new Promise<net.Socket>((r) => (unclaimed.length > 0 ? r(unclaimed.shift()!) : waiting.push(r))),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => srv.close(() => r()));
    },
  };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe('TcpTransport', () => {
  it('carries bytes both ways, reports a peer that hangs up as a close with an error, and opens again', async () => {
    const srv = await server();
    cleanups.push(srv.close);
    const t = new TcpTransport({ host: '127.0.0.1', port: srv.port });
    const errors: Error[] = [];
    t.on('error', (e) => errors.push(e));
    expect(t.name).toBe(`tcp://127.0.0.1:${srv.port}`);
    expect(t.isOpen).toBe(false);
    await t.open();
    expect(t.isOpen).toBe(true);
    const got = once(t, 'data');
    await t.write(Buffer.from([0x06, 0x00, 0x00]));
    const peer = await srv.accepted();
    const [sent] = (await once(peer, 'data')) as [Buffer];
    expect([...sent]).toEqual([0x06, 0x00, 0x00]);
    peer.write(Buffer.from([0x80, 0x00, 0x00]));
    const [chunk] = (await got) as [Buffer];
    expect([...chunk]).toEqual([0x80, 0x00, 0x00]);

    // events.once() would reject on the 'error' that comes first; wait for 'close' itself.
    const closed = new Promise<Error | undefined>((r) => t.once('close', r));
    peer.resetAndDestroy();
    const err = await closed;
    expect(err).toBeInstanceOf(Error);
    // A reset is reported as an error too, so a driver can log why the link went away.
    expect(errors.every((e) => /ECONNRESET|closed by the peer/.test(e.message))).toBe(true);
    expect(t.isOpen).toBe(false);
    await expect(t.write(Buffer.from([1]))).rejects.toThrow(/not connected/);

    await t.open();
    expect(t.isOpen).toBe(true);
    const peer2 = await srv.accepted();
    const second = once(peer2, 'data');
    await t.write(Buffer.from('again'));
    expect(((await second) as [Buffer])[0].toString()).toBe('again');
    const cleanClose = new Promise<Error | undefined>((r) => t.once('close', r));
    await t.close();
    const noErr = await cleanClose;
    expect(noErr).toBeUndefined();
  });

  it('rejects an open when nothing listens, and names bad options by field', async () => {
    const srv = await server();
    const port = srv.port;
    await srv.close();
    const t = new TcpTransport({ host: '127.0.0.1', port, connectTimeoutMs: 2000 });
    await expect(t.open()).rejects.toThrow(/ECONNREFUSED/);
    expect(t.isOpen).toBe(false);
    expect(() => new TcpTransport({ host: '', port: 1 })).toThrow('tcp.host');
    expect(() => new TcpTransport({ host: 'x', port: 70000 })).toThrow('tcp.port');
  });
});
