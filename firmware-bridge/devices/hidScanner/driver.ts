/**
 * HID barcode scanner driver: reports from the HID transport go through the keyboard or the HID POS
 * decoder; each complete code becomes a `scan` event. `enable {enabled}` drops scans while off;
 * `beep` needs a vendor report and is answered as unsupported.
 */
import type { HidTransport } from '../../transports/transport.js';
import { countErrors, isoTs, type BirthInfo, type CommandResult, type DriverBaseOptions } from '../deviceDriver.js';
import { DriverBase } from '../driverBase.js';
import { backoffDelay, type BackoffOptions } from '../serialLink.js';
import {
  decodeKeyboard,
  decodePos,
  initialKeyboardState,
  initialPosState,
  type KeyboardOptions,
  type KeyboardState,
  type PosOptions,
  type PosState,
} from './codec.js';

export interface HidScannerDriverOptions extends DriverBaseOptions {
  transport: HidTransport;
  mode: 'keyboard' | 'pos';
  keyboard?: KeyboardOptions;
  pos?: PosOptions;
  backoff?: BackoffOptions;
}

export class HidScannerDriver extends DriverBase {
  readonly kind = 'scanner' as const;
  private kb: KeyboardState = initialKeyboardState;
  private pos: PosState = initialPosState;
  private enabled = true;
  private running = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly options: HidScannerDriverOptions) {
    super(options, 'hidScanner');
    if (options.mode !== 'keyboard' && options.mode !== 'pos') throw new RangeError('hidScanner.mode: must be keyboard or pos');
  }

  birth(): BirthInfo {
    return { model: `HID scanner (${this.options.mode})`, firmware: 'unknown', capabilities: ['scan', 'enable'] };
  }

  async start(): Promise<void> {
    this.running = true;
    this.options.transport.on('report', this.onReport);
    this.options.transport.on('close', this.onClose);
    await this.tryOpen();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.options.transport.off('report', this.onReport);
    this.options.transport.off('close', this.onClose);
    await this.options.transport.close().catch((err: Error) => this.log.warn({ err: err.message }, 'closing the scanner failed'));
    this.markStopped();
  }

  async command(type: string, payload: Record<string, unknown>): Promise<CommandResult> {
    if (type === 'enable' && typeof payload.enabled === 'boolean') {
      this.enabled = payload.enabled;
      return { ok: true };
    }
    if (type === 'enable') return { ok: false, error: 'enabled: must be a boolean' };
    if (type === 'beep') return { ok: false, error: 'beep: not supported over HID keyboard/POS reports' };
    return { ok: false, error: `unknown command: ${type}` };
  }

  private async tryOpen(): Promise<void> {
    this.timer = null;
    if (!this.running) return;
    try {
      await this.options.transport.open();
    } catch (err) {
      const delay = backoffDelay(this.attempt++, this.options.backoff);
      this.log.debug({ err: (err as Error).message, retryInMs: delay }, 'scanner open failed');
      // stop() may have run while open() was pending: no retry timer may outlive it.
      if (this.running) this.timer = setTimeout(() => void this.tryOpen(), delay);
      return;
    }
    if (!this.running) {
      await this.options.transport.close().catch(() => undefined);
      return;
    }
    this.attempt = 0;
    this.kb = initialKeyboardState;
    this.pos = initialPosState;
    this.goOnline();
    await this.checkDesktop();
  }

  /**
   * A scanner the desktop still reads as a keyboard types every scan into the kiosk page's focused
   * field as well (a member code field would get a barcode): said once per open, with the nodes
   * and the fix, since the bridge cannot grab them itself (see transports/hidInputNodes.ts).
   */
  private async checkDesktop(): Promise<void> {
    const nodes = (await this.options.transport.desktopKeyboards?.().catch(() => [] as string[])) ?? [];
    if (nodes.length === 0) return;
    this.log.warn(
      { inputNodes: nodes },
      'the desktop reads this scanner as a keyboard: scans are typed into the kiosk page too; install the rules of `storegw-bridge udev-rules`',
    );
  }

  private readonly onClose = (err?: Error) => {
    if (!this.running || !this.online) return;
    this.stats.reconnects++;
    this.goOffline(err?.message ?? 'closed');
    this.timer = setTimeout(() => void this.tryOpen(), backoffDelay(this.attempt++, this.options.backoff));
  };

  private readonly onReport = (report: Buffer) => {
    let scans;
    if (this.options.mode === 'keyboard') {
      const r = decodeKeyboard(report, this.kb, this.options.keyboard);
      this.kb = r.state;
      countErrors(this.stats, this.log, r.errors);
      scans = r.events;
    } else {
      const r = decodePos(report, this.pos, this.options.pos);
      this.pos = r.state;
      countErrors(this.stats, this.log, r.errors);
      scans = r.events;
    }
    if (!this.enabled) return;
    for (const s of scans) {
      this.stats.events++;
      const data: Record<string, unknown> = { ts: isoTs(this.now()), code: s.code };
      if (s.symbology) data.symbology = s.symbology;
      this.emit('event', { type: 'scan', data });
    }
  };
}
