/**
 * ZVT's RS-232 link layer as a ByteTransport of APDUs: each `write` is one APDU, sent as a frame
 * (serialFrame.ts) and repeated until the far end answers ACK, at most three tries (ZVT transport
 * protocol §3.5); each received frame is answered ACK (or NAK for a bad CRC) and its APDU comes out
 * as `data`. The driver and the simulator use it over a serial port (a socat pty in tests) and
 * stay the same code as over TCP.
 */
import { EventEmitter } from 'node:events';
import type { ByteTransport, ByteTransportEvents } from '../../transports/transport.js';
import { ACK_BYTE, decodeFrames, encodeFrame, MAX_TRIES, NAK_BYTE } from './serialFrame.js';

export interface ZvtSerialOptions {
  /** How long to wait for the ACK of a frame (T2, 5 s). */
  ackTimeoutMs?: number;
  /** The longest gap inside a frame (T1, 200 ms); a frame that stalls longer is dropped and NAKed. */
  byteGapMs?: number;
}

export class ZvtSerialTransport extends EventEmitter<ByteTransportEvents> implements ByteTransport {
  private rest: Buffer = Buffer.alloc(0);
  private chain: Promise<void> = Promise.resolve();
  private answer: ((ok: boolean) => void) | null = null;
  private gapTimer: NodeJS.Timeout | null = null;
  /** Frames dropped for a bad CRC (each was NAKed). */
  badFrames = 0;

  constructor(
    private readonly port: ByteTransport,
    private readonly options: ZvtSerialOptions = {},
  ) {
    super();
    port.on('data', (chunk) => this.onData(chunk));
    port.on('close', (err) => this.emit('close', err));
    port.on('error', (err) => this.emit('error', err));
  }

  get isOpen(): boolean {
    return this.port.isOpen;
  }

  get name(): string {
    return `${this.port.name} (ZVT frames)`;
  }

  open(): Promise<void> {
    this.rest = Buffer.alloc(0);
    return this.port.open();
  }

  close(): Promise<void> {
    this.answer?.(false);
    if (this.gapTimer) clearTimeout(this.gapTimer);
    this.gapTimer = null;
    return this.port.close();
  }

  /** Sends one APDU; resolves once the far end ACKed its frame, rejects after three tries. */
  write(apdu: Buffer): Promise<void> {
    const run = this.chain.then(() => this.send(apdu));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async send(apdu: Buffer): Promise<void> {
    const frame = encodeFrame(apdu);
    for (let attempt = 1; attempt <= MAX_TRIES; attempt++) {
      const acked = new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), this.options.ackTimeoutMs ?? 5000);
        this.answer = (ok) => {
          clearTimeout(t);
          this.answer = null;
          resolve(ok);
        };
      });
      await this.port.write(frame);
      if (await acked) return;
      if (!this.port.isOpen) break;
    }
    throw new Error(`${this.port.name}: no ACK after ${MAX_TRIES} tries`);
  }

  private onData(chunk: Buffer): void {
    if (this.gapTimer) clearTimeout(this.gapTimer);
    this.gapTimer = null;
    const r = decodeFrames(Buffer.concat([this.rest, chunk]));
    this.rest = r.rest;
    if (this.rest.length > 0) {
      // T1 (TP §3.4): a frame whose bytes stop coming is broken; the sender repeats it after our NAK.
      this.gapTimer = setTimeout(() => {
        this.gapTimer = null;
        this.rest = Buffer.alloc(0);
        this.badFrames++;
        this.port.write(Buffer.from([NAK_BYTE])).catch(() => undefined);
      }, this.options.byteGapMs ?? 200);
    }
    for (const e of r.errors) {
      if (e.code === 'BAD_CHECKSUM' || e.code === 'BAD_FRAME') {
        this.badFrames++;
        this.port.write(Buffer.from([NAK_BYTE])).catch(() => undefined);
      }
    }
    for (const e of r.events) {
      if (e.type === 'ack') this.answer?.(true);
      else if (e.type === 'nak') this.answer?.(false);
      else {
        this.port.write(Buffer.from([ACK_BYTE])).catch(() => undefined);
        this.emit('data', e.apdu);
      }
    }
  }
}
