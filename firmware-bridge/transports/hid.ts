/** A USB HID device as a HidTransport, through `node-hid` (async API). Thin on purpose. */
import { EventEmitter } from 'node:events';
import type { HidTransport, HidTransportEvents } from './transport.js';
import { desktopKeyboards, SYSTEM_ROOTS, type InputRoots } from './hidInputNodes.js';

export interface HidOptions {
  /** hidraw path (`/dev/hidraw0`), or vendorId + productId. */
  path?: string;
  vendorId?: number;
  productId?: number;
}

interface HidHandle {
  on(event: 'data', l: (d: Buffer) => void): unknown;
  on(event: 'error', l: (e: Error) => void): unknown;
  close(): Promise<void>;
}

export class NodeHidTransport extends EventEmitter<HidTransportEvents> implements HidTransport {
  private handle: HidHandle | null = null;

  constructor(private readonly options: HidOptions) {
    super();
    if (!options.path && (options.vendorId === undefined || options.productId === undefined)) {
      throw new TypeError('hid: give path, or vendorId and productId');
    }
  }

  get name(): string {
    const o = this.options;
    return o.path ?? `${o.vendorId?.toString(16)}:${o.productId?.toString(16)}`;
  }

  get isOpen(): boolean {
    return this.handle !== null;
  }

  async open(): Promise<void> {
    if (this.handle) return;
    // Loaded on open, not at import: the native module is only needed where a scanner is configured.
    const { HIDAsync } = await import('node-hid');
    const o = this.options;
    const h: HidHandle = o.path ? await HIDAsync.open(o.path) : await HIDAsync.open(o.vendorId!, o.productId!);
    this.handle = h;
    h.on('data', (d: Buffer) => this.emit('report', d));
    h.on('error', (err: Error) => {
      // node-hid reports an unplugged device as a read error; the handle is dead afterwards.
      if (this.handle !== h) return;
      this.handle = null;
      h.close().catch(() => undefined);
      this.emit('close', err);
    });
  }

  /** The scanner's event nodes the X server or libinput would read (sysfs + udev database). */
  desktopKeyboards(roots: InputRoots = SYSTEM_ROOTS): Promise<string[]> {
    return desktopKeyboards(this.options, roots);
  }

  async close(): Promise<void> {
    const h = this.handle;
    if (!h) return;
    this.handle = null;
    await h.close();
    this.emit('close');
  }
}
