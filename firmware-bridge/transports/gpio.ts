/** GPIO lines through `onoff` (sysfs). Thin on purpose: edges are stamped with the injected clock. */
import { EventEmitter } from 'node:events';
import type { GpioInput, GpioInputEvents, GpioOutput } from './transport.js';

interface OnoffGpio {
  read(): Promise<0 | 1>;
  write(v: 0 | 1): Promise<void>;
  watch(cb: (err: Error | null | undefined, value: 0 | 1) => void): void;
  unwatchAll(): void;
  unexport(): void;
}

async function makeGpio(line: number, direction: 'in' | 'out', activeLow: boolean): Promise<OnoffGpio> {
  const { Gpio } = await import('onoff');
  if (!Gpio.accessible) throw new Error(`gpio ${line}: GPIO is not accessible on this machine`);
  return new Gpio(line, direction, direction === 'in' ? 'both' : 'none', { activeLow }) as unknown as OnoffGpio;
}

export interface GpioLineOptions {
  line: number;
  activeLow?: boolean;
}

export class OnoffGpioInput extends EventEmitter<GpioInputEvents> implements GpioInput {
  private gpio: OnoffGpio | null = null;
  constructor(
    private readonly options: GpioLineOptions & { now: () => number },
  ) {
    super();
  }
  get name(): string {
    return `gpio${this.options.line}`;
  }
  async open(): Promise<void> {
    if (this.gpio) return;
    const g = await makeGpio(this.options.line, 'in', this.options.activeLow ?? false);
    this.gpio = g;
    g.watch((err, value) => {
      if (err) this.emit('error', err);
      else this.emit('edge', { value, atMs: this.options.now() });
    });
  }
  async close(): Promise<void> {
    const g = this.gpio;
    this.gpio = null;
    if (!g) return;
    g.unwatchAll();
    g.unexport();
  }
  async read(): Promise<0 | 1> {
    if (!this.gpio) throw new Error(`${this.name}: not open`);
    return this.gpio.read();
  }
}

export class OnoffGpioOutput implements GpioOutput {
  private gpio: OnoffGpio | null = null;
  constructor(private readonly options: GpioLineOptions) {}
  get name(): string {
    return `gpio${this.options.line}`;
  }
  async open(): Promise<void> {
    if (!this.gpio) this.gpio = await makeGpio(this.options.line, 'out', this.options.activeLow ?? false);
  }
  async close(): Promise<void> {
    const g = this.gpio;
    this.gpio = null;
    if (!g) return;
    await g.write(0);
    g.unexport();
  }
  async write(value: 0 | 1): Promise<void> {
    if (!this.gpio) throw new Error(`${this.name}: not open`);
    await this.gpio.write(value);
  }
}
