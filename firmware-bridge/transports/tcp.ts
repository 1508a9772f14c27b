/**
 * A TCP connection as a ByteTransport: card terminals (ZVT on port 20007) and receipt printers
 * (raw port 9100) on the store LAN. Every `open()` makes a new connection, so the link layer above
 * reopens it after a drop the same way it reopens a serial port that was unplugged. Keep-alive is on
 * and Nagle is off: the protocols above send short frames and wait for short answers.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import type { ByteTransport, ByteTransportEvents } from './transport.js';

export interface TcpOptions {
  host: string;
  port: number;
  /** How long a connect may take before it counts as failed (default 5000 ms). */
  connectTimeoutMs?: number;
  /** TCP keep-alive probe delay (default 10000 ms): a dead peer is noticed without traffic. */
  keepAliveMs?: number;
}

export function assertTcpOptions(o: TcpOptions): void {
  if (typeof o.host !== 'string' || o.host.length === 0) throw new TypeError('tcp.host: must be a non-empty string');
  if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535) throw new TypeError('tcp.port: must be an integer 1..65535');
}

export class TcpTransport extends EventEmitter<ByteTransportEvents> implements ByteTransport {
  private socket: net.Socket | null = null;

  constructor(private readonly options: TcpOptions) {
    super();
    assertTcpOptions(options);
  }

  get name(): string {
    return `tcp://${this.options.host}:${this.options.port}`;
  }

  get isOpen(): boolean {
    return this.socket !== null;
  }

  async open(): Promise<void> {
    if (this.socket) return;
    const o = this.options;
    const socket = net.connect({ host: o.host, port: o.port, noDelay: true, keepAlive: true, keepAliveInitialDelay: o.keepAliveMs ?? 10_000 });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`${this.name}: connect timed out after ${o.connectTimeoutMs ?? 5000} ms`)), o.connectTimeoutMs ?? 5000);
      const fail = (err: Error): void => {
        clearTimeout(timer);
        socket.removeListener('connect', ok);
        socket.destroy();
        reject(err);
      };
      const ok = (): void => {
        clearTimeout(timer);
        socket.removeListener('error', fail);
        resolve();
      };
      socket.once('connect', ok);
      socket.once('error', fail);
    });
    this.socket = socket;
    let failure: Error | undefined;
    socket.on('data', (chunk: Buffer) => this.emit('data', chunk));
    socket.on('error', (err: Error) => {
      failure = err;
      this.emit('error', err);
    });
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.socket = null;
      // Closed by the peer (or the network) unless close() was called: the driver reconnects.
      this.emit('close', failure ?? new Error(`${this.name}: connection closed by the peer`));
    });
  }

  async close(): Promise<void> {
    const socket = this.socket;
    if (!socket) return;
    this.socket = null;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.end();
      socket.destroySoon();
      setTimeout(() => socket.destroy(), 1000).unref();
    });
    this.emit('close');
  }

  async write(data: Buffer): Promise<void> {
    const socket = this.socket;
    if (!socket) throw new Error(`${this.name}: not connected`);
    await new Promise<void>((resolve, reject) => socket.write(data, (err) => (err ? reject(err) : resolve())));
  }
}
