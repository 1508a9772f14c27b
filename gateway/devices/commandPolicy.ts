/**
 * What the command store decides, pure (no clock, no I/O): how long a command stays worth sending,
 * which newer command makes an older pending one pointless, who may send what, and what to do with
 * a pending command at a given moment. commands.ts is the I/O shell around it.
 */
import type { DeviceKind } from '../protocol/topics.js';

export type CommandState = 'pending' | 'acked' | 'failed' | 'expired';

/** The fields of a stored command the decisions below read. */
export interface PendingCommand {
  cmdId: string;
  kind: DeviceKind;
  deviceId: string;
  type: string;
  data: Record<string, unknown>;
  createdAt: number;
  expiresAt: number;
  attempts: number;
  lastSentAt: number | null;
}

export const DEFAULT_TTL_MS = 10 * 60_000;

/**
 * How long a command may still be delivered after it was asked for. A late command can be worse
 * than none: a charge replayed minutes later charges a shopper who has left (2 min, under the
 * kiosk's own payment timeout), a tare replayed later tares whatever lies on the scale now.
 */
const TTL_MS: Partial<Record<DeviceKind, Record<string, number>>> = {
  // A reversal gives the shopper's money back: worth delivering for as long as a terminal may be away.
  // An end of day is asked for by a person watching the ops page: later than a few minutes it
  // would surprise them (and could meet the next shopper's charge).
  payment: { charge: 2 * 60_000, cancel: 10 * 60_000, reverse: 24 * 3600_000, endOfDay: 5 * 60_000 },
  scale: { tare: 60_000, zero: 60_000 },
  scanner: { beep: 30_000, enable: 10 * 60_000 },
  rfid: { inventory: 5 * 60_000 },
  light: { set: 10 * 60_000 },
  // A receipt printed minutes later is printed for nobody: the shopper has left.
  printer: { print: 2 * 60_000 },
};

export function commandTtlMs(kind: DeviceKind, type: string): number {
  return TTL_MS[kind]?.[type] ?? DEFAULT_TTL_MS;
}

/** Bounds of a caller's own TTL: at least a retry round, at most a day. */
export const TTL_BOUNDS = { min: 1000, max: 24 * 3600_000 } as const;

/**
 * Whether a new command makes a pending older one of the same device pointless. Only the last
 * light colour, scanner enable and inventory action matter (replaying the history would flash the
 * tower through old states); a cancel makes an undelivered charge of the same request void.
 */
export function supersedes(next: { kind: DeviceKind; type: string; data: Record<string, unknown> }, old: PendingCommand): boolean {
  if (next.kind !== old.kind) return false;
  if (next.kind === 'payment') return next.type === 'cancel' && old.type === 'charge' && old.data.requestId === next.data.requestId;
  const lastWins = (next.kind === 'light' && next.type === 'set') || (next.kind === 'scanner' && next.type === 'enable') || (next.kind === 'rfid' && next.type === 'inventory');
  return lastWins && old.type === next.type;
}

/**
 * Why ops may not send a command from the page, or null when it may. A charge only exists as part
 * of a kiosk session, which records the payment request first and settles it after a crash; a
 * charge from the page would take money nobody rings up. ESL `show` belongs to the price fan-out.
 */
export function opsRefusal(kind: DeviceKind, type: string): string | null {
  if (kind === 'payment' && type === 'charge') return 'a payment charge is only sent by a kiosk session (it records the payment request and rings up the sale)';
  if (kind === 'payment' && type === 'reverse') return 'a payment reversal is only sent by a kiosk session (it settles the payment it reverses)';
  if (kind === 'esl') return 'label contents are sent by the price fan-out, not by hand';
  if (kind === 'printer' && type === 'print') return 'a receipt is only printed for a sale the gateway recorded';
  return null;
}

/**
 * The ops role a command from the page needs (roles: viewer < attendant < admin). A terminal's
 * end of day closes its batch of card payments with the acquirer: the store's books, not the
 * floor, so an admin runs it.
 */
export function opsRoleFor(kind: DeviceKind, type: string): 'attendant' | 'admin' {
  return kind === 'payment' && type === 'endOfDay' ? 'admin' : 'attendant';
}

export interface RetryRules {
  ackTimeoutMs: number;
  maxAttempts: number;
}

export type RetryDecision = { do: 'wait' } | { do: 'send' } | { do: 'expire'; reason: string } | { do: 'fail'; reason: string };

/** What the retry round does with one pending command of a device that is `online` (or not). */
export function decide(c: PendingCommand, now: number, online: boolean, rules: RetryRules): RetryDecision {
  if (now >= c.expiresAt) return { do: 'expire', reason: `not acked within its ${Math.round((c.expiresAt - c.createdAt) / 1000)} s time to live` };
  // An offline device cannot ack; its commands wait for the reconnect (or their TTL).
  if (!online) return { do: 'wait' };
  if (c.lastSentAt === null) return { do: 'send' };
  if (now - c.lastSentAt < rules.ackTimeoutMs) return { do: 'wait' };
  if (c.attempts >= rules.maxAttempts) return { do: 'fail', reason: `no ack after ${c.attempts} attempts` };
  return { do: 'send' };
}
