/**
 * Footfall beam-pair driver: feeds the edges of two GPIO inputs into the pure beam machine, ticks
 * it at its next deadline, and turns its output into `cross` events and `alert`s (blocked beam).
 */
import type { GpioEdge, GpioInput } from '../../transports/transport.js';
import { countErrors, isoTs, type BirthInfo, type CommandResult, type DriverBaseOptions } from '../deviceDriver.js';
import { DriverBase } from '../driverBase.js';
import {
  DEFAULT_BEAMS_CONFIG,
  assertBeamsConfig,
  initialBeamsState,
  nextDeadline,
  step,
  type Beam,
  type BeamsConfig,
  type BeamsEvent,
  type BeamsInput,
  type BeamsState,
} from './codec.js';

export interface BeamsDriverOptions extends DriverBaseOptions {
  /** Beam A is the outside one, B the inside one. */
  beamA: GpioInput;
  beamB: GpioInput;
  config?: Partial<BeamsConfig>;
}

export class BeamsDriver extends DriverBase {
  readonly kind = 'footfall' as const;
  private readonly config: BeamsConfig;
  private state: BeamsState | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly onA = (e: GpioEdge) => this.feed({ kind: 'edge', beam: 'A', value: e.value, atMs: e.atMs });
  private readonly onB = (e: GpioEdge) => this.feed({ kind: 'edge', beam: 'B', value: e.value, atMs: e.atMs });

  constructor(private readonly options: BeamsDriverOptions) {
    super(options, 'beams');
    this.config = { ...DEFAULT_BEAMS_CONFIG, ...options.config };
    assertBeamsConfig(this.config);
  }

  birth(): BirthInfo {
    return { model: 'two-beam IR counter', firmware: 'storegw-bridge', capabilities: ['cross'] };
  }

  async start(): Promise<void> {
    const { beamA, beamB } = this.options;
    await beamA.open();
    await beamB.open();
    const lvl = this.config.brokenLevel;
    this.state = initialBeamsState(this.now(), { A: (await beamA.read()) === lvl, B: (await beamB.read()) === lvl });
    beamA.on('edge', this.onA);
    beamB.on('edge', this.onB);
    this.goOnline();
  }

  async stop(): Promise<void> {
    const { beamA, beamB } = this.options;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    beamA.off('edge', this.onA);
    beamB.off('edge', this.onB);
    for (const b of [beamB, beamA]) await b.close().catch((err: Error) => this.log.warn({ err: err.message }, 'closing a line failed'));
    this.markStopped();
  }

  async command(type: string): Promise<CommandResult> {
    return { ok: false, error: `unknown command: ${type}` };
  }

  private feed(input: BeamsInput): void {
    if (!this.state) return;
    const r = step(this.state, input, this.config);
    this.state = r.state;
    countErrors(this.stats, this.log, r.errors);
    for (const e of r.events) this.publish(e);
    this.schedule();
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const at = this.state ? nextDeadline(this.state, this.config) : null;
    if (at === null) return;
    this.timer = setTimeout(() => this.feed({ kind: 'tick', atMs: Math.max(at, this.now()) }), Math.max(0, at - this.now()));
  }

  private publish(e: BeamsEvent): void {
    const ts = isoTs(e.atMs);
    if (e.type === 'cross') {
      this.stats.events++;
      this.emit('event', { type: 'cross', data: { ts, direction: e.direction } });
    } else if (e.type === 'blocked') {
      this.emit('event', {
        type: 'alert',
        data: { ts, code: 'BEAM_BLOCKED', severity: 'warning', message: `beam ${e.beam} blocked since ${isoTs(e.sinceMs)}`, beam: e.beam },
      });
    } else if (e.type === 'unblocked') {
      this.emit('event', { type: 'alert', data: { ts, code: 'BEAM_CLEARED', severity: 'info', message: `beam ${e.beam} clear again`, beam: e.beam } });
    } else {
      this.log.debug({ event: e.type, beam: (e as { beam?: Beam }).beam }, 'beam sequence not counted');
    }
  }
}
