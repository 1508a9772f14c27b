/** A Toledo continuous-output scale on a ByteTransport: streams frames, obeys T, Z, C (codec encoders). */
import { SerialDeviceSim } from '../serialDeviceSim.js';
import { DEFAULT_FORMAT, decodeCommands, encodeFrame, type FrameFormat, type ToledoCommand } from './codec.js';

export interface ToledoSimOptions {
  intervalMs?: number;
  format?: FrameFormat;
  capacityGrams?: number;
}

export class ToledoSim extends SerialDeviceSim<ToledoCommand, ToledoSimOptions> {
  load = 0;
  motion = false;
  private zero = 0;
  private tare = 0;
  private timer: NodeJS.Timeout | null = null;

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

  protected override decode(buf: Buffer) {
    return decodeCommands(buf);
  }

  // The scale streams unasked from the moment its port is open.
  protected override started(): void {
    this.timer = setInterval(() => this.send(this.frame()), this.options.intervalMs ?? 100);
  }

  protected override stopping(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  protected override handle(c: ToledoCommand): void {
    if (this.motion) return; // tare and zero need a stable scale
    if (c === 'T' && this.load - this.zero > 0) this.tare = this.load - this.zero;
    else if (c === 'Z') {
      this.zero = this.load;
      this.tare = 0;
    } else if (c === 'C') this.tare = 0;
  }
}
