/**
 * Which print commands this printer already printed, so a command the gateway re-sends after a
 * reconnect or a bridge restart (it re-sends every unacked command) does not print the receipt
 * twice. JSON lines, each appended and fsynced before the driver acts on it:
 *  - `sending`: written before the job goes to the printer;
 *  - `printed`: written after the status check that follows the job said the printer is fine.
 * A re-sent cmdId marked `printed` is acked without printing; one left at `sending` (the bridge
 * died mid-job, or the check after it failed) may or may not have come out, so it is printed again
 * marked as a duplicate. Compacted at open to the last KEEP records (jsonlJournal.ts).
 */
import { closeSync } from 'node:fs';
import path from 'node:path';
import { appendRecord, readLatest, rewriteForAppend } from '../jsonlJournal.js';

export type PrintPhase = 'sending' | 'printed';

export interface PrintRecord {
  ts: string;
  cmdId: string;
  phase: PrintPhase;
}

/** The gateway re-sends only recent commands; a few hundred receipts cover any outage. */
const KEEP = 500;

export class PrintJournal {
  private fd: number | null = null;
  private readonly latest = new Map<string, PrintRecord>();
  readonly file: string;

  constructor(dir: string, deviceId: string) {
    this.file = path.join(dir, `escpos-${deviceId}.jsonl`);
  }

  /** Reads what is there (a line torn by a crash is skipped) and compacts the file. */
  open(): void {
    const all = readLatest<PrintRecord>(this.file, (r) => r.cmdId, (r) => r.phase === 'sending' || r.phase === 'printed');
    const kept = [...all.values()].slice(-KEEP);
    this.latest.clear();
    for (const r of kept) this.latest.set(r.cmdId, r);
    this.fd = rewriteForAppend(this.file, kept);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  /** Appends and fsyncs; returns only once the record is on disk. */
  write(r: PrintRecord): void {
    if (this.fd === null) throw new Error(`${this.file}: journal is not open`);
    appendRecord(this.fd, r);
    this.latest.delete(r.cmdId);
    this.latest.set(r.cmdId, r);
  }

  phaseOf(cmdId: string): PrintPhase | undefined {
    return this.latest.get(cmdId)?.phase;
  }
}
