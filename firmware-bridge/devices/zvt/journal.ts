/**
 * The payment journal of one terminal: JSON lines appended and fsynced before the driver acts on
 * them, so a crash at any point leaves a record of how far a payment got. JSON lines rather than a
 * SQLite file: one writer, a handful of appends per payment, read once at start, no schema to
 * migrate, and a person can read it during an incident. The file is rewritten at start with only
 * what is still needed, so it stays small (jsonlJournal.ts).
 */
import { closeSync } from 'node:fs';
import path from 'node:path';
import { appendRecord, readLatest, rewriteForAppend } from '../jsonlJournal.js';
import type { TxMark } from './lastTransaction.js';

export type JournalPhase =
  /** The Authorization is about to be sent. */
  | 'started'
  /** A Status-Information with rc 00 arrived; its ack (the commit) is about to be sent. */
  | 'committing'
  /** The ack of that Status-Information was written to the terminal: the payment stands. */
  | 'committed'
  /** A Status-Information with another result arrived: the payment did not happen. */
  | 'failed'
  /**
   * The result was handed to the bridge (`result` holds it as published) but the gateway has not
   * acknowledged it yet: a crash here must not lose it, so recovery publishes it again.
   */
  | 'emitted'
  /** The gateway acknowledged the result (PUBACK); nothing more to do. */
  | 'done';

export interface JournalRecord {
  ts: string;
  requestId: string;
  phase: JournalPhase;
  amount: number;
  /** ISO 4217 alphabetic. */
  currency: string;
  resultCode?: number;
  receiptNo?: string;
  trace?: string;
  /**
   * The terminal's last transaction before this charge's Authorization was sent (`started` on);
   * absent when the driver could not learn it.
   */
  before?: TxMark;
  /** The result fields as they will be published (set from `committing` on). */
  result?: Record<string, unknown>;
}

/** Keep the last `done` records too (their traces and receipt numbers tell old payments from a new one). */
const KEEP_DONE = 50;

export class PaymentJournal {
  private fd: number | null = null;
  private readonly latest = new Map<string, JournalRecord>();
  readonly file: string;

  constructor(dir: string, deviceId: string) {
    this.file = path.join(dir, `zvt-${deviceId}.jsonl`);
  }

  /** Reads what is there (a torn last line from a crash is skipped) and compacts the file. */
  open(): void {
    const all = readLatest<JournalRecord>(this.file, (r) => r.requestId, (r) => typeof r.phase === 'string');
    const open = [...all.values()].filter((r) => r.phase !== 'done');
    const done = [...all.values()].filter((r) => r.phase === 'done').slice(-KEEP_DONE);
    this.latest.clear();
    // The order of their last write, as they were read.
    for (const r of all.values()) if (r.phase !== 'done' || done.includes(r)) this.latest.set(r.requestId, r);
    this.fd = rewriteForAppend(this.file, [...done, ...open]);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  get isOpen(): boolean {
    return this.fd !== null;
  }

  /** Appends and fsyncs; returns only once the record is on disk. */
  write(r: JournalRecord): void {
    if (this.fd === null) throw new Error(`${this.file}: journal is not open`);
    appendRecord(this.fd, r);
    this.latest.delete(r.requestId);
    this.latest.set(r.requestId, r);
  }

  get(requestId: string): JournalRecord | undefined {
    return this.latest.get(requestId);
  }

  /** Payments whose outcome was not published yet, oldest first. */
  openRecords(): JournalRecord[] {
    return [...this.latest.values()].filter((r) => r.phase !== 'done');
  }

  /** Traces of transactions the journal already holds, to tell an older payment from the one in question. */
  knownTraces(except: string): Set<string> {
    const s = new Set<string>();
    for (const r of this.latest.values()) if (r.requestId !== except && r.trace) s.add(r.trace);
    return s;
  }

  /** The receipt number of an approved payment, for a reversal that does not name it. */
  receiptNoOf(requestId: string): string | undefined {
    return this.latest.get(requestId)?.receiptNo;
  }
}
