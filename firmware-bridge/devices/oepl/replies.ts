/**
 * What the oepl driver sends back, batched: per-label acks grouped by cmdId (up to 1,000 labels
 * per `ack` event) and tag reports as `status` (the latest per label, up to 2,000 per event). A
 * command is answered once every one of its labels has been: its per-label acks go out first, then
 * the bridge sends the command's own ack, which then changes nothing at the gateway.
 */
import { isoTs, type CommandResult, type DeviceEvent } from '../deviceDriver.js';
import type { LabelStatus } from './status.js';

export type AckEntry = { labelId: string; ok: boolean; shownHash?: string; error?: string };

const MAX_STATUS_LABELS = 2000;
const MAX_ACKS = 1000;

interface OpenCommand {
  remaining: number;
  failed: number;
  resolve: (r: CommandResult) => void;
}

export interface RepliesOptions {
  emit: (e: DeviceEvent) => void;
  now: () => number;
  ackFlushMs: number;
  statusEveryMs: number;
}

export class Replies {
  private readonly commands = new Map<string, OpenCommand>();
  private readonly acks = new Map<string, AckEntry[]>();
  private readonly statuses = new Map<string, LabelStatus>();
  private ackTimer: NodeJS.Timeout | null = null;
  private statusTimer: NodeJS.Timeout | null = null;

  constructor(private readonly o: RepliesOptions) {}

  start(): void {
    this.statusTimer = setInterval(() => this.flushStatus(), this.o.statusEveryMs);
  }

  /** Stops the timers; commands still open are answered as not delivered. */
  stop(): void {
    if (this.statusTimer) clearInterval(this.statusTimer);
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.statusTimer = this.ackTimer = null;
    for (const [cmdId, c] of this.commands) c.resolve({ ok: false, error: `bridge stopped before ${cmdId} was delivered` });
    this.commands.clear();
  }

  /** A command with `labels` labels to answer; resolves when all are. */
  open(cmdId: string, labels: number): Promise<CommandResult> {
    return new Promise((resolve) => this.commands.set(cmdId, { remaining: labels, failed: 0, resolve }));
  }

  ack(cmdId: string, a: AckEntry): void {
    let list = this.acks.get(cmdId);
    if (!list) this.acks.set(cmdId, (list = []));
    list.push(a);
    const c = this.commands.get(cmdId);
    if (c) {
      c.remaining--;
      if (!a.ok) c.failed++;
      if (c.remaining <= 0) {
        this.flushAcks(cmdId);
        this.commands.delete(cmdId);
        c.resolve(c.failed === 0 ? { ok: true } : { ok: false, error: `${c.failed} label(s) not delivered` });
        return;
      }
    }
    this.ackTimer ??= setTimeout(() => {
      this.ackTimer = null;
      for (const id of [...this.acks.keys()]) this.flushAcks(id);
    }, this.o.ackFlushMs);
  }

  status(s: LabelStatus): void {
    this.statuses.set(s.labelId, s);
  }

  private flushAcks(cmdId: string): void {
    const list = this.acks.get(cmdId);
    this.acks.delete(cmdId);
    if (!list) return;
    for (let i = 0; i < list.length; i += MAX_ACKS) {
      const acks = list.slice(i, i + MAX_ACKS);
      this.o.emit({ type: 'ack', data: { ts: isoTs(this.o.now()), cmdId, ok: acks.every((a) => a.ok), acks } });
    }
  }

  private flushStatus(): void {
    if (this.statuses.size === 0) return;
    const all = [...this.statuses.values()];
    this.statuses.clear();
    for (let i = 0; i < all.length; i += MAX_STATUS_LABELS) {
      this.o.emit({ type: 'status', data: { ts: isoTs(this.o.now()), labels: all.slice(i, i + MAX_STATUS_LABELS) } });
    }
  }
}
