/**
 * A void's card reversal through the command store, sent at most once and waited for.
 *
 * The command's id is derived from the transaction id, so the void's step repeated after a crash
 * finds the command it stored before and waits for that one's answer instead of sending a second
 * (CommandService `send` with the caller's `cmdId`). Below the gateway the same id keeps it single
 * too: the bridge runs each cmdId once and answers a re-delivery from its command log. A second
 * reversal would be refused by the terminal anyway (a ZVT Reversal names the receipt number of the
 * terminal's last payment, and after the first reversal that payment is no longer the last), but the
 * gateway does not rely on it.
 *
 * The answer is the command's acknowledgement: the bridge acks a `reverse` only once the terminal
 * finished it, `ok` when it reversed, else with the terminal's refusal as `error`.
 */
import { createHash } from 'node:crypto';
import type { CommandView, SendOptions } from '../devices/commands.js';
import type { DeviceKind } from '../protocol/topics.js';

/** How long a void waits for the terminal's answer before it tells the shopper a refund is owed. */
export const REVERSAL_ANSWER_MS = 60_000;

export type ReversalAnswer = { ok: true } | { ok: false; why: string };

export interface ReversalData {
  requestId: string;
  amount: number;
  currency: string;
  receiptNo: string;
}

/** The reversal command's id for a void: one per transaction, within the command id's 64 characters. */
export function reversalCmdId(transactionId: string): string {
  return `void-${createHash('sha256').update(transactionId).digest('hex').slice(0, 40)}`;
}

interface Commands {
  send(kind: DeviceKind, id: string, type: string, data: unknown, opts: SendOptions): Promise<string>;
  answer(cmdId: string, timeoutMs: number): Promise<CommandView | undefined>;
}

/** What the void's shell calls: `send` stores the command once; `answer` waits for the terminal. */
export interface VoidReversal {
  send(kioskId: string, transactionId: string, data: ReversalData): Promise<ReversalAnswer | null>;
  answer(transactionId: string): Promise<ReversalAnswer>;
}

/** The terminal's answer read from the command's state (pure). */
export function answerOf(c: CommandView | undefined, timeoutMs: number): ReversalAnswer {
  if (!c) return { ok: false, why: 'the reversal command is not in the command store' };
  if (c.state === 'acked') return { ok: true };
  if (c.state === 'pending') return { ok: false, why: `the terminal did not answer the reversal within ${Math.round(timeoutMs / 1000)} s; check its journal before paying the refund` };
  if (c.state === 'expired') return { ok: false, why: `the reversal got no answer (${c.error ?? 'expired'}); check the terminal's journal before paying the refund`.slice(0, 200) };
  return { ok: false, why: `the reversal failed: ${c.error ?? 'no reason given'}`.slice(0, 200) };
}

/** `paymentOf(kioskId)`: the kiosk's terminal id, or undefined when it has none. */
export function voidReversal(commands: Commands, paymentOf: (kioskId: string) => string | undefined, timeoutMs = REVERSAL_ANSWER_MS): VoidReversal {
  return {
    async send(kioskId, transactionId, data) {
      const terminal = paymentOf(kioskId);
      if (!terminal) return { ok: false, why: `kiosk ${kioskId} has no payment terminal configured any more` };
      // The command store stops re-sending once the void stopped waiting: a late reversal would
      // give the money back a second time after the store paid the refund it said was owed.
      await commands.send('payment', terminal, 'reverse', data, { source: `void:${kioskId}`, cmdId: reversalCmdId(transactionId), ttlMs: timeoutMs });
      return null;
    },
    async answer(transactionId) {
      return answerOf(await commands.answer(reversalCmdId(transactionId), timeoutMs), timeoutMs);
    },
  };
}
