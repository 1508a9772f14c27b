/**
 * An MT-SICS balance on a ByteTransport (a socat pty in tests and the demo). It answers with the
 * codec's own encoders: S, SI, SIR (stream until another command), Z, T, TA, TAC, @; ES otherwise.
 */
import { SerialDeviceSim } from '../serialDeviceSim.js';
import { decodeCommands, encodeResponse, formatValue, type MtsicsResponse } from './codec.js';

export interface MtsicsSimOptions {
  unit?: 'kg' | 'g' | 'lb';
  decimals?: number;
  streamIntervalMs?: number;
  /** Above this the balance answers `S +`; below minus this `S -`. */
  capacityGrams?: number;
  serial?: string;
}

export class MtsicsSim extends SerialDeviceSim<string, MtsicsSimOptions> {
  /** Grams on the platter. */
  load = 0;
  motion = false;
  private zero = 0;
  private tare = 0;
  private stream: NodeJS.Timeout | null = null;

  setWeight(grams: number, motion = false): void {
    this.load = grams;
    this.motion = motion;
  }

  get tareGrams(): number {
    return this.tare;
  }

  protected override decode(buf: Buffer) {
    return decodeCommands(buf);
  }

  protected override stopping(): void {
    this.stopStream();
  }

  private reply(r: MtsicsResponse): void {
    this.send(encodeResponse(r), () => this.stopStream());
  }

  private weight(id: string, status: 'S' | 'D' | 'A', grams: number): MtsicsResponse {
    const unit = this.options.unit ?? 'kg';
    return { kind: 'weight', id, status, value: formatValue(grams, unit, this.options.decimals ?? 3), unit, grams };
  }

  private net(): number {
    return this.load - this.zero - this.tare;
  }

  private current(): MtsicsResponse {
    const cap = this.options.capacityGrams ?? 30_000;
    const gross = this.load - this.zero;
    if (gross > cap) return { kind: 'failed', id: 'S', reason: 'over' };
    if (gross < -cap) return { kind: 'failed', id: 'S', reason: 'under' };
    return this.weight('S', this.motion ? 'D' : 'S', this.net());
  }

  private stopStream(): void {
    if (this.stream) clearInterval(this.stream);
    this.stream = null;
  }

  protected override handle(cmd: string): void {
    if (cmd !== 'SIR') this.stopStream();
    switch (cmd) {
      case 'S': {
        const c = this.current();
        // S waits for stability; the simulator answers "S I" (stability timeout) at once instead.
        this.reply(c.kind === 'weight' && c.status === 'D' ? { kind: 'failed', id: 'S', reason: 'not-executable' } : c);
        return;
      }
      case 'SI':
        this.reply(this.current());
        return;
      case 'SIR':
        this.stopStream();
        this.reply(this.current());
        this.stream = setInterval(() => this.reply(this.current()), this.options.streamIntervalMs ?? 100);
        return;
      case 'Z':
        if (this.motion) return this.reply({ kind: 'failed', id: 'Z', reason: 'not-executable' });
        this.zero = this.load;
        this.tare = 0;
        return this.reply({ kind: 'done', id: 'Z', status: 'A' });
      case 'T':
        if (this.motion) return this.reply({ kind: 'failed', id: 'T', reason: 'not-executable' });
        if (this.load - this.zero <= 0) return this.reply({ kind: 'failed', id: 'T', reason: 'under' });
        this.tare = this.load - this.zero;
        return this.reply(this.weight('T', 'S', this.tare));
      case 'TA':
        return this.reply(this.weight('TA', 'A', this.tare));
      case 'TAC':
        this.tare = 0;
        return this.reply({ kind: 'done', id: 'TAC', status: 'A' });
      case '@':
        return this.reply({ kind: 'info', id: 'I4', status: 'A', text: this.options.serial ?? 'SIM0000001' });
      default:
        this.reply({ kind: 'error', code: 'ES' });
    }
  }
}
