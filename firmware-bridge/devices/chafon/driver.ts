/**
 * Chafon/UHFReader driver: while inventory runs, it sends the inventory command, collects the
 * reply frames (status 0x03 = more follow) into `read` events, and starts the next round; the
 * antennas listed are cycled round by round. `inventory {action: start|stop}` switches it.
 */
import { isoTs, type BirthInfo, type CommandResult } from '../deviceDriver.js';
import { SerialDriver, type SerialDriverOptions } from '../serialDriver.js';
import { decode, encodeInventory, type ChafonResponse, type Inventory288Options, type Variant } from './codec.js';

export interface ChafonDriverOptions extends SerialDriverOptions {
  /** Reader address; 0xFF broadcasts. */
  adr?: number;
  variant?: Variant;
  /** Antennas to cycle (UHFReader288 only; default [1]). */
  antennas?: number[];
  inventory?: Omit<Inventory288Options, 'adr' | 'antenna'>;
  /** Pause between inventory rounds. */
  roundIntervalMs?: number;
  /** A round whose last frame has not come by then is given up. */
  responseTimeoutMs?: number;
  /** Start inventory as soon as the port is open, without a command. */
  autoStart?: boolean;
}

export class ChafonDriver extends SerialDriver<ChafonResponse> {
  readonly kind = 'rfid' as const;
  private readonly variant: Variant;
  private readonly antennas: number[];
  private running: boolean;
  private inRound = false;
  private round = 0;
  private roundTimer: NodeJS.Timeout | null = null;
  private nextTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: ChafonDriverOptions) {
    super(options, 'chafon');
    const ants = options.antennas ?? [1];
    if (ants.length === 0 || ants.some((a) => !Number.isInteger(a) || a < 1 || a > 4)) throw new RangeError('chafon.antennas: 1..4');
    this.variant = options.variant ?? '288';
    this.antennas = ants;
    this.running = options.autoStart ?? false;
  }

  get inventoryRunning(): boolean {
    return this.running;
  }

  birth(): BirthInfo {
    return { model: this.options.model ?? `Chafon UHFReader${this.variant}`, firmware: 'unknown', capabilities: ['read', 'inventory'] };
  }

  async command(type: string, payload: Record<string, unknown>): Promise<CommandResult> {
    if (type !== 'inventory') return { ok: false, error: `unknown command: ${type}` };
    if (payload.action === 'start') {
      this.running = true;
      this.startRound();
      return { ok: true };
    }
    if (payload.action === 'stop') {
      this.running = false;
      return { ok: true };
    }
    return { ok: false, error: 'action: must be start or stop' };
  }

  protected override decode(buf: Buffer) {
    return decode(buf, this.variant);
  }

  protected override connected(): void {
    this.startRound();
  }

  protected override disconnected(): void {
    this.endRound();
  }

  protected override async stopping(): Promise<void> {
    this.running = false;
    this.endRound();
  }

  private startRound(): void {
    if (!this.running || !this.link.up || this.inRound) return;
    if (this.nextTimer) clearTimeout(this.nextTimer);
    this.nextTimer = null;
    this.inRound = true;
    const antenna = this.antennas[this.round++ % this.antennas.length];
    const adr = this.options.adr ?? 0x00;
    const frame = encodeInventory(this.variant, { adr, antenna, ...this.options.inventory });
    const timeoutMs = this.options.responseTimeoutMs ?? 2000;
    this.roundTimer = setTimeout(() => {
      this.log.debug({ timeoutMs }, 'inventory round timed out');
      this.discardPartial();
      this.nextRound();
    }, timeoutMs);
    this.link.write(frame).catch((err: Error) => this.log.debug({ err: err.message }, 'write failed'));
  }

  private endRound(): void {
    if (this.roundTimer) clearTimeout(this.roundTimer);
    if (this.nextTimer) clearTimeout(this.nextTimer);
    this.roundTimer = null;
    this.nextTimer = null;
    this.inRound = false;
  }

  private nextRound(): void {
    this.endRound();
    if (this.running) this.nextTimer = setTimeout(() => this.startRound(), this.options.roundIntervalMs ?? 50);
  }

  protected override handle(r: ChafonResponse): void {
    if (r.kind !== 'inventory') {
      this.log.debug({ cmd: r.cmd, status: r.status }, 'reader response');
      return;
    }
    const ts = isoTs(this.now());
    for (const t of r.tags) {
      this.stats.events++;
      // UHFReader18 frames carry neither antenna nor RSSI: antenna 1 and RSSI 0 stand in for them.
      this.emit('event', { type: 'read', data: { ts, epc: t.epc, antenna: r.antenna ?? 1, rssi: t.rssi ?? 0 } });
    }
    if (!r.more && this.inRound) this.nextRound();
  }
}
