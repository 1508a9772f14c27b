/**
 * The ZVT transactions the driver runs, each one Exchange: a charge (Authorization `06 01`) with its
 * commit point, a reversal (`06 30`), the End-of-Day (`06 50`), and the recovery after a lost
 * connection or a crash (Repeat Receipt `06 20`, then the journal's word or a reversal). README.md
 * §Commit and recovery gives the rules; the journal is written (fsynced) before each step it
 * records, so a crash anywhere leaves the phase that recovery starts from.
 */
import type { Logger } from 'pino';
import { authorization, endOfDay, repeatReceipt, reversal, type PtMessage, type StatusInfo } from './codec.js';
import type { ExchangeEnd, ExchangeHandlers } from './exchange.js';
import type { JournalRecord, PaymentJournal } from './journal.js';
import { isNewer, type TxMark } from './lastTransaction.js';
import { failedStatus, promptFor, receiptLines, resultFields, totalsCount } from './results.js';

export interface FlowContext {
  password: string;
  /** The registered currency: alphabetic and ISO 4217 numeric. */
  currency: { alpha: string; numeric: string };
  journal: PaymentJournal;
  log: Logger;
  /** Runs one command as an Exchange (the driver routes the terminal's messages to it). */
  exchange(command: Buffer, h: ExchangeHandlers): Promise<ExchangeEnd>;
  emit(type: string, data: Record<string, unknown>, onDelivered?: (err?: Error) => void): void;
  /** Payment results handed to the bridge by this process and not acknowledged yet, by requestId. */
  undelivered: Set<string>;
  ts(): string;
  /** Closes the connection (T4 ran out: per the transport protocol the process counts as aborted). */
  drop(reason: string): void;
}

/** A charge while it runs: what `cancel` needs to know. */
export interface RunningCharge {
  requestId: string;
  /** A Status-Information arrived; from here on an abort is no longer possible. */
  statusInfo: StatusInfo | null;
  committed: boolean;
}

/** Lines kept while collecting: the published receipt has at most 200 (receiptLines); a terminal may send any number. */
const MAX_COLLECTED = 400;

/** Collects the customer's receipt: text blocks of type 2 (or untyped), and print lines. */
function collectReceipt(m: PtMessage, into: string[], types: number[] = [2]): void {
  if (into.length >= MAX_COLLECTED) return;
  if (m.type === 'textBlock' && (m.receiptType === undefined || types.includes(m.receiptType))) into.push(...m.lines.slice(0, MAX_COLLECTED - into.length));
  else if (m.type === 'printLine') {
    // Attribute FF: the text is a count of line feeds.
    if (m.attr === 0xff) into.push(...Array.from({ length: Math.min(m.text.charCodeAt(0) || 1, 5) }, () => ''));
    else if (!((m.attr & 0x80) !== 0 && m.attr !== 0x80 && m.text === '')) into.push(m.text);
  }
}

export async function runCharge(
  ctx: FlowContext,
  req: { requestId: string; amount: number; before?: TxMark },
  running: RunningCharge,
  accepted: (r: { ok: boolean; error?: string }) => void,
): Promise<void> {
  const { journal, currency } = ctx;
  const base = { requestId: req.requestId, amount: req.amount, currency: currency.alpha };
  journal.write({ ts: ctx.ts(), phase: 'started', ...base, ...(req.before !== undefined ? { before: req.before } : {}) });
  const receipt: string[] = [];
  const end = await ctx.exchange(authorization({ amount: req.amount, currency: currency.numeric }), {
    accepted: () => accepted({ ok: true }),
    message: (m) => {
      if (m.type === 'intermediate') {
        ctx.emit('status', { ts: ctx.ts(), requestId: req.requestId, prompt: promptFor(m.status), code: m.status, ...(m.texts.length ? { text: m.texts.join(' / ').slice(0, 120) } : {}) });
      } else if (m.type === 'statusInfo') {
        const foreign = m.info.currency !== undefined && m.info.currency !== currency.numeric;
        if (m.info.resultCode === undefined || (m.info.resultCode === 0 && ((m.info.amount ?? 0) > req.amount || foreign))) {
          // Unreadable, or an approval of more than was asked or in another currency: an ack would
          // commit a payment the register cannot book. No ack, hang up, and let the recovery ask the
          // terminal (which reverses an unacknowledged approval itself).
          ctx.log.warn({ requestId: req.requestId, error: m.error, amount: m.info.amount, currency: m.info.currency }, 'Status-Information the register cannot commit');
          ctx.drop('unreadable Status-Information');
          return null;
        }
        running.statusInfo = m.info;
        const result = resultFields(m.info, base, []);
        // Persisted before the ack: for an approval that ack is the commit (ZVT spec §2.2.8).
        if (m.info.resultCode === 0) journal.write({ ts: ctx.ts(), phase: 'committing', ...base, resultCode: 0, receiptNo: m.info.receiptNo, trace: m.info.trace, result });
        else journal.write({ ts: ctx.ts(), phase: 'failed', ...base, resultCode: m.info.resultCode, trace: m.info.trace, result });
      } else collectReceipt(m, receipt);
    },
    replied: (m) => {
      if (m.type !== 'statusInfo' || m.info.resultCode !== 0) return;
      running.committed = true;
      const r = journal.get(req.requestId)!;
      journal.write({ ...r, ts: ctx.ts(), phase: 'committed' });
    },
  });
  if (end.kind === 'refused' || end.kind === 'noAnswer' || (end.kind === 'lost' && !running.statusInfo && !journal.get(req.requestId))) {
    accepted({ ok: false, error: end.kind === 'refused' ? `terminal refused the payment (error 0x${end.code.toString(16)})` : 'terminal did not answer the payment command' });
  } else accepted({ ok: true });
  if (end.kind === 'refused') return finish(ctx, req.requestId, null);
  const rec = journal.get(req.requestId)!;
  const ended = end.kind === 'completion' || end.kind === 'abort';
  if (rec.phase === 'committed' && ended) return finish(ctx, req.requestId, { ...rec.result, status: 'approved', receipt: receiptLines(receipt) });
  if (rec.phase === 'failed') return finish(ctx, req.requestId, { ...rec.result, status: failedStatus(rec.resultCode ?? 0), receipt: receiptLines(receipt) });
  if (end.kind === 'abort' && !running.statusInfo) return finish(ctx, req.requestId, { ...base, status: failedStatus(end.resultCode), resultCode: end.resultCode });
  // No outcome the register may act on: the terminal is asked after the reconnect (recover()).
  if (end.kind === 't4' || end.kind === 'flood' || end.kind === 'noAnswer' || end.kind === 'completion') ctx.drop(`payment ${req.requestId} ended without a result (${end.kind})`);
}

/**
 * Publishes the result (if any) and closes the journal record once the gateway holds it: the record
 * is `emitted` (with the payload as published) until the PUBACK, so a crash in between publishes
 * the same result again after the restart (the gateway keeps one result per requestId).
 */
function finish(ctx: FlowContext, requestId: string, result: Record<string, unknown> | null): void {
  const r = ctx.journal.get(requestId);
  if (!result) {
    if (r) ctx.journal.write({ ...r, ts: ctx.ts(), phase: 'done' });
    return;
  }
  const data = { ts: ctx.ts(), ...result, requestId };
  if (r) ctx.journal.write({ ...r, ts: ctx.ts(), phase: 'emitted', result: data });
  publishResult(ctx, requestId, data);
}

/** Hands a journalled result to the bridge; the record becomes `done` on the gateway's PUBACK. */
function publishResult(ctx: FlowContext, requestId: string, data: Record<string, unknown>): void {
  ctx.undelivered.add(requestId);
  ctx.emit('result', data, (err) => {
    ctx.undelivered.delete(requestId);
    const r = ctx.journal.get(requestId);
    if (err) {
      // Left `emitted`: the next connect of the terminal, or the next start, publishes it again.
      ctx.log.warn({ requestId, err: err.message }, 'payment result not delivered to the gateway; kept to publish again');
      return;
    }
    // A PUBACK after stop() closed the journal: the restart publishes it again, the gateway dedupes.
    if (r?.phase === 'emitted' && ctx.journal.isOpen) ctx.journal.write({ ...r, ts: ctx.ts(), phase: 'done' });
  });
}

export interface ReversalOutcome {
  /** The exchange ended with an answer (false: no answer, lost connection). */
  answered: boolean;
  resultCode?: number;
  info?: StatusInfo;
  receipt: string[];
}

export async function runReversal(ctx: FlowContext, receiptNo: string, amount?: number): Promise<ReversalOutcome> {
  let info: StatusInfo | undefined;
  const receipt: string[] = [];
  const end = await ctx.exchange(reversal({ password: ctx.password, receiptNo, amount, currency: ctx.currency.numeric }), {
    message: (m) => {
      if (m.type === 'statusInfo') info = m.info;
      else collectReceipt(m, receipt);
    },
  });
  if (end.kind === 'refused') return { answered: true, resultCode: end.code, receipt };
  if (end.kind === 'abort') return { answered: true, resultCode: end.resultCode, info, receipt };
  if (end.kind === 'completion' || info) return { answered: true, resultCode: info?.resultCode ?? 0, info, receipt };
  return { answered: false, receipt };
}

export async function runEndOfDay(ctx: FlowContext, cmdId: string): Promise<{ ok: boolean; error?: string }> {
  let info: StatusInfo | undefined;
  const receipt: string[] = [];
  const end = await ctx.exchange(endOfDay(ctx.password), {
    message: (m) => {
      if (m.type === 'statusInfo') info = m.info;
      else collectReceipt(m, receipt, [1, 2, 3]);
    },
  });
  const rc = end.kind === 'refused' ? end.code : end.kind === 'abort' ? end.resultCode : info?.resultCode;
  const ok = (end.kind === 'completion' || end.kind === 'abort') && rc === 0;
  const error = ok ? undefined : rc !== undefined ? `terminal answered result code 0x${rc.toString(16)}` : `terminal did not finish the end-of-day (${end.kind})`;
  const evt: Record<string, unknown> = { ts: ctx.ts(), cmdId, ok, receipt: receiptLines(receipt) };
  if (rc !== undefined) evt.resultCode = rc;
  // Beyond the payload's range a total is not a number anyone should settle on: left out.
  if (info?.amount !== undefined && info.amount <= 1_000_000_000) {
    evt.totalAmount = info.amount;
    evt.currency = ctx.currency.alpha;
  }
  const count = totalsCount(info?.totals);
  if (count !== undefined) evt.count = count;
  if (error) evt.error = error;
  ctx.emit('endOfDay', evt);
  return ok ? { ok } : { ok, error };
}

/**
 * After a reconnect or a restart: settles one open journal record. Returns false when the terminal
 * could not be asked (the record stays open and is tried again on the next connect).
 */
export async function recover(ctx: FlowContext, r: JournalRecord): Promise<boolean> {
  if (r.phase === 'emitted') {
    // Published before a crash or a lost gateway connection, never acknowledged: the same payload again.
    if (!ctx.undelivered.has(r.requestId) && r.result) publishResult(ctx, r.requestId, r.result);
    return true;
  }
  const base = { requestId: r.requestId, amount: r.amount, currency: r.currency, recovered: true };
  if (r.phase === 'failed') {
    finish(ctx, r.requestId, { ...base, ...r.result, status: failedStatus(r.resultCode ?? 0), recovered: true });
    return true;
  }
  if (r.phase === 'committed') {
    // The ack went out: the payment stands (ZVT spec §2.2.9), whatever the terminal says now. The
    // Repeat Receipt only brings back the receipt the lost connection cut off.
    let info: StatusInfo | undefined;
    const receipt: string[] = [];
    const end = await ctx.exchange(repeatReceipt(ctx.password, 0x01), {
      message: (m) => {
        if (m.type === 'statusInfo') info ??= m.info;
        else collectReceipt(m, receipt);
      },
    });
    if (end.kind === 'lost') return false;
    const same = info !== undefined && info.receiptNo === r.receiptNo && info.trace === r.trace;
    finish(ctx, r.requestId, { ...base, ...r.result, status: 'approved', recovered: true, ...(same ? { receipt: receiptLines(receipt) } : {}) });
    return true;
  }
  let last: StatusInfo | undefined;
  if (r.phase === 'committing') last = { resultCode: 0, receiptNo: r.receiptNo, trace: r.trace, amount: r.amount };
  else {
    const end = await ctx.exchange(repeatReceipt(ctx.password, 0x03), {
      message: (m) => {
        if (m.type === 'statusInfo') last ??= m.info;
      },
    });
    if (end.kind === 'lost' || end.kind === 'noAnswer' || end.kind === 't4' || end.kind === 'flood') return false;
    // Ours only if the terminal made it after the mark taken before this Authorization went out: an
    // older payment of the same amount (even one from before this journal existed) is never reversed.
    const known = ctx.journal.knownTraces(r.requestId);
    const ours = last !== undefined && last.amount === r.amount && isNewer(last, r.before) && (last.trace === undefined || !known.has(last.trace));
    if (!ours || !last) {
      ctx.log.warn({ requestId: r.requestId, lastTrace: last?.trace, before: r.before }, 'the terminal\'s last transaction is not provably this payment: reported as timeout, nothing reversed');
      finish(ctx, r.requestId, { ...base, status: 'timeout' });
      return true;
    }
    if (last.resultCode !== 0) {
      finish(ctx, r.requestId, { ...base, ...resultFields(last, r, []), status: failedStatus(last.resultCode ?? 0), recovered: true });
      return true;
    }
  }
  // A successful payment the register never committed (or cannot prove it did): reverse it.
  if (!last.receiptNo) return false;
  const rev = await runReversal(ctx, last.receiptNo);
  if (!rev.answered) return false;
  const fields = resultFields(last, r, []);
  delete fields.receipt;
  if (rev.resultCode === 0 || rev.resultCode === 0xb4 || rev.resultCode === 0xb5) {
    // 0: reversed now; B4: the terminal had reversed it already (no ack, auto-reversal); B5: not in its turnover store.
    finish(ctx, r.requestId, { ...base, ...fields, status: 'declined', resultCode: rev.resultCode, reversed: true, recovered: true });
    return true;
  }
  ctx.log.error({ requestId: r.requestId, resultCode: rev.resultCode }, 'an uncommitted payment could not be reversed; trying again on the next connect');
  return false;
}
