/** A Toledo continuous-output scale on a ByteTransport: streams frames, obeys T, Z, C (codec encoders). */
import type { ByteTransport } from '../../transports/transport.js';
import { DEFAULT_FORMAT, decodeCommands, encodeFrame, type FrameFormat, type ToledoCommand } from './codec.js';

export interface ToledoSimOptions {
  intervalMs?: number;
  format?: FrameFormat;
  capacityGrams?: number;
}

export class ToledoSim {
  load = 0;
  motion = false;
  private zero = 0;
  private tare = 0;
  private rest: Buffer = Buffer.alloc(0);
  private timer: NodeJS.Timeout | null = null;
  readonly received: ToledoCommand[] = [];
  /** The last transport error (the simulator keeps no other state about its port). */
  lastError: Error | null = null;
  private readonly onError = (err: Error): void => {
    this.lastError = err;
  };

  private readonly onData = (chunk: Buffer) => {
    const r = decodeCommands(Buffer.concat([this.rest, chunk]));
    this.rest = r.rest;
    for (const c of r.events) this.handle(c);
  };

  constructor(
    private readonly transport: ByteTransport,
    private readonly options: ToledoSimOptions = {},
  ) {}

  async start(): Promise<void> {
    this.transport.on('data', this.onData);
    // A pty that goes away (socat stopped, unplug test) must not crash the simulator's process.
    this.transport.on('error', this.onError);
    await this.transport.open();
    this.timer = setInterval(() => this.send(), this.options.intervalMs ?? 100);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.transport.off('data', this.onData);
    await this.transport.close();
  }

  setWeight(grams: number, motion = false): void {
    this.load = grams;
    this.motion = motion;
  }

  /** The frame the scale shows now (kg, 3 decimals). */
  frame(): Buffer {
    const net = this.load - this.zero - this.tare;
    return encodeFrame(
      {
        weightCount: Math.abs(net),
        tareCount: this.tare,
        decimals: 3,
        unit: 'kg',
        negative: net < 0,
        net: this.tare > 0,
        motion: this.motion,
        overRange: this.load - this.zero > (this.options.capacityGrams ?? 30_000),
      },
      this.options.format ?? DEFAULT_FORMAT,
    );
  }

  private send(): void {
    if (this.transport.isOpen) this.transport.write(this.frame()).catch(() => undefined);
  }

  private handle(c: ToledoCommand): void {
    this.received.push(c);
    if (this.motion) return; // tare and zero need a stable scale
    if (c === 'T' && this.load - this.zero > 0) this.tare = this.load - this.zero;
    else if (c === 'Z') {
      this.zero = this.load;
      this.tare = 0;
    } else if (c === 'C') this.tare = 0;
  }
}
