/**
 * In-memory transports: tests and simulators drive them with the exact bytes, reports and edges the
 * hardware produces. Delivery is asynchronous (next microtask), like a real port.
 */
import { EventEmitter } from 'node:events';
import type {
  ByteTransport,
  ByteTransportEvents,
  GpioEdge,
  GpioInput,
  GpioInputEvents,
  GpioOutput,
  HidTransport,
  HidTransportEvents,
} from './transport.js';

/** One end of an in-memory byte pipe; `peer` receives what this end writes. */
export class MemoryByteTransport extends EventEmitter<ByteTransportEvents> implements ByteTransport {
  isOpen = false;
  peer: MemoryByteTransport | null = null;
  /** Everything written through this end, in order. */
  readonly written: Buffer[] = [];
  /** While true, `open()` rejects (the device is unplugged). */
  unplugged = false;

  constructor(readonly name = 'memory') {
    super();
  }

  async open(): Promise<void> {
    if (this.unplugged) throw Object.assign(new Error(`${this.name}: no such device`), { code: 'ENOENT' });
    this.isOpen = true;
  }

  async close(): Promise<void> {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.emit('close');
  }

  async write(data: Buffer): Promise<void> {
    if (!this.isOpen) throw new Error(`${this.name}: port is not open`);
    this.written.push(Buffer.from(data));
    const peer = this.peer;
    if (peer) queueMicrotask(() => peer.inject(data));
  }

  /** Bytes arriving from the device side. Dropped while closed, as a real port would. */
  inject(data: Buffer): void {
    if (this.isOpen) this.emit('data', Buffer.from(data));
  }

  /** The cable is pulled: the port closes with an error and cannot be reopened until `replug()`. */
  unplug(): void {
    this.unplugged = true;
    if (this.isOpen) {
      this.isOpen = false;
      this.emit('close', Object.assign(new Error(`${this.name}: disconnected`), { disconnected: true }));
    }
  }

  replug(): void {
    this.unplugged = false;
  }
}

/** Two connected ends: what one writes, the other receives. */
export function memoryPipe(nameA = 'memory-a', nameB = 'memory-b'): [MemoryByteTransport, MemoryByteTransport] {
  const a = new MemoryByteTransport(nameA);
  const b = new MemoryByteTransport(nameB);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

export class MemoryHidTransport extends EventEmitter<HidTransportEvents> implements HidTransport {
  isOpen = false;
  /** What `desktopKeyboards()` answers: set it to play a scanner the desktop still types from. */
  exposedKeyboards: string[] = [];
  constructor(readonly name = 'memory-hid') {
    super();
  }
  async desktopKeyboards(): Promise<string[]> {
    return [...this.exposedKeyboards];
  }
  async open(): Promise<void> {
    this.isOpen = true;
  }
  async close(): Promise<void> {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.emit('close');
  }
  /** One input report, exactly as the device sends it. */
  feed(report: Buffer | number[]): void {
    if (this.isOpen) this.emit('report', Buffer.from(report));
  }
  unplug(): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.emit('close', Object.assign(new Error(`${this.name}: disconnected`), { disconnected: true }));
  }
}

export class MemoryGpioInput extends EventEmitter<GpioInputEvents> implements GpioInput {
  private level: 0 | 1;
  constructor(readonly name = 'memory-gpio-in', initial: 0 | 1 = 0) {
    super();
    this.level = initial;
  }
  async open(): Promise<void> {}
  async close(): Promise<void> {}
  async read(): Promise<0 | 1> {
    return this.level;
  }
  /** A timed edge, as the GPIO transport would stamp it. Delivered synchronously. */
  edge(value: 0 | 1, atMs: number): void {
    this.level = value;
    const e: GpioEdge = { value, atMs };
    this.emit('edge', e);
  }
}

export class MemoryGpioOutput implements GpioOutput {
  value: 0 | 1 = 0;
  /** Every write, in order. */
  readonly writes: (0 | 1)[] = [];
  constructor(readonly name = 'memory-gpio-out') {}
  async open(): Promise<void> {}
  async close(): Promise<void> {}
  async write(value: 0 | 1): Promise<void> {
    this.value = value;
    this.writes.push(value);
  }
}
