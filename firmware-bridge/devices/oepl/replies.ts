/**
 * What the oepl driver sends back, batched: per-label acks grouped by cmdId (up to 1,000 labels
 * per `ack` event) and tag reports as `status` (the latest per label, up to 2,000 per event), each
 * event also kept under EVENT_BYTES of JSON. A
 * command is answered once every one of its labels has been: its per-label acks go out first, then
 * the bridge sends the command's own ack, which then changes nothing at the gateway.
 */
import { isoTs, type CommandResult, type DeviceEvent } from '../deviceDriver.js';
import type { LabelStatus } from './status.js';

export type AckEntry = { labelId: string; ok: boolean; shownHash?: string; error?: string };

const MAX_STATUS_LABELS = 2000;
const MAX_ACKS = 1000;
/**
 * The labels of one event stay under this much JSON: the gateway drops a connection that sends a
 * packet over its mqtt.maxPacketBytes (64 KiB by default), and with it every device of the bridge.
 * A status label is ~90 bytes, so 2,000 of them alone would be ~180 KB.
 */
const EVENT_BYTES = 48 * 1024;

/** Splits `items` into runs of at most `maxItems` whose JSON stays under EVENT_BYTES (one item always fits a run). */
export function chunkForEvents<T>(items: readonly T[], maxItems: number): T[][] {
  const out: T[][] = [];
  let run: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = Buffer.byteLength(JSON.stringify(item)) + 1;
    if (run.length > 0 && (run.length >= maxItems || bytes + size > EVENT_BYTES)) {
      out.push(run);
      run = [];
      bytes = 0;
    }
    run.push(item);
    bytes += size;
  }
  if (run.length > 0) out.push(run);
  return out;
}

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
    for (const acks of chunkForEvents(list, MAX_ACKS)) {
      this.o.emit({ type: 'ack', data: { ts: isoTs(this.o.now()), cmdId, ok: acks.every((a) => a.ok), acks } });
    }
  }

  private flushStatus(): void {
    if (this.statuses.size === 0) return;
    const all = [...this.statuses.values()];
    this.statuses.clear();
    for (const labels of chunkForEvents(all, MAX_STATUS_LABELS)) {
      this.o.emit({ type: 'status', data: { ts: isoTs(this.o.now()), labels } });
    }
  }
}
