/**
 * The transport interfaces: the only seam between the bridge and hardware (firmware-bridge/README.md §Shape). A real
 * transport (serial, HID, GPIO) touches the OS; the memory transports feed the exact bytes, reports
 * and edges the hardware produces, so the driver path above them is the real one in tests.
 */

/** Typed `on`/`off` for an event map, so implementations can be plain `EventEmitter<Map>`s. */
export interface Listenable<M extends Record<keyof M, unknown[]>> {
  on<E extends keyof M & string>(event: E, listener: (...args: M[E]) => void): unknown;
  off<E extends keyof M & string>(event: E, listener: (...args: M[E]) => void): unknown;
}

export type ByteTransportEvents = {
  data: [chunk: Buffer];
  /** The port closed: `err` is set when it went away on its own (unplugged), absent after `close()`. */
  close: [err?: Error];
  error: [err: Error];
}

/** A byte stream (a serial port, a pty, an in-memory pipe). `open()` may be called again after a close. */
export interface ByteTransport extends Listenable<ByteTransportEvents> {
  readonly isOpen: boolean;
  /** A short name for logs (the port path). */
  readonly name: string;
  open(): Promise<void>;
  close(): Promise<void>;
  write(data: Buffer): Promise<void>;
}

export type HidTransportEvents = {
  /** One input report, exactly as read (with the report id byte when the device uses report ids). */
  report: [report: Buffer];
  close: [err?: Error];
  error: [err: Error];
}

export interface HidTransport extends Listenable<HidTransportEvents> {
  readonly isOpen: boolean;
  readonly name: string;
  open(): Promise<void>;
  close(): Promise<void>;
  /**
   * Input nodes of this device that the desktop still reads as a keyboard (so its keystrokes reach
   * the kiosk page too); empty when it is hidden or when the transport cannot tell.
   */
  desktopKeyboards?(): Promise<string[]>;
}

/** A level change of an input line; `atMs` is stamped by the transport from its injected clock. */
export interface GpioEdge {
  value: 0 | 1;
  atMs: number;
}

export type GpioInputEvents = {
  edge: [edge: GpioEdge];
  error: [err: Error];
}

export interface GpioInput extends Listenable<GpioInputEvents> {
  readonly name: string;
  open(): Promise<void>;
  close(): Promise<void>;
  /** The current level (after `open()`). */
  read(): Promise<0 | 1>;
}

export interface GpioOutput {
  readonly name: string;
  open(): Promise<void>;
  close(): Promise<void>;
  write(value: 0 | 1): Promise<void>;
}
