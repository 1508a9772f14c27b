/**
 * Which print commands this printer already printed, so a command the gateway re-sends after a
 * reconnect or a bridge restart (it re-sends every unacked command) does not print the receipt
 * twice. JSON lines, each appended and fsynced before the driver acts on it:
 *  - `sending`: written before the job goes to the printer;
 *  - `printed`: written after the status check that follows the job said the printer is fine.
 * A re-sent cmdId marked `printed` is acked without printing; one left at `sending` (the bridge
 * died mid-job, or the check after it failed) may or may not have come out, so it is printed again
 * marked as a duplicate. Compacted at open (temp file, fsync, rename) to the last KEEP records.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';

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
    mkdirSync(path.dirname(this.file), { recursive: true });
    let text = '';
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.latest.clear();
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        const r = JSON.parse(line) as PrintRecord;
        if (typeof r.cmdId === 'string' && (r.phase === 'sending' || r.phase === 'printed')) {
          this.latest.delete(r.cmdId);
          this.latest.set(r.cmdId, r);
        }
      } catch {
        // A line cut short by a crash mid-append: the records before it stand.
      }
    }
    const kept = [...this.latest.values()].slice(-KEEP);
    this.latest.clear();
    for (const r of kept) this.latest.set(r.cmdId, r);
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    writeSync(fd, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, this.file);
    this.fd = openSync(this.file, 'a', 0o600);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  /** Appends and fsyncs; returns only once the record is on disk. */
  write(r: PrintRecord): void {
    if (this.fd === null) throw new Error(`${this.file}: journal is not open`);
    writeSync(this.fd, `${JSON.stringify(r)}\n`);
    fsyncSync(this.fd);
    this.latest.delete(r.cmdId);
    this.latest.set(r.cmdId, r);
  }

  phaseOf(cmdId: string): PrintPhase | undefined {
    return this.latest.get(cmdId)?.phase;
  }
}
