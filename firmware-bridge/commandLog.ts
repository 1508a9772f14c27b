/**
 * Commands as they come off `cmd/{type}` (every command carries a cmdId, is QoS 1
 * and is re-sent by the gateway until acked): parse the payload, run each cmdId once, and build the
 * `evt/ack {cmdId, ok, error?}` that answers it. No I/O: the bridge passes the driver call in.
 */
import type { CommandResult } from './devices/deviceDriver.js';

/** The gateway's CmdId schema (`gateway/protocol/schemas/common.ts`). */
const CMD_ID = /^[A-Za-z0-9._:-]{1,64}$/;
/** The Ack schema allows 512 characters of error text. */
const MAX_ERROR = 512;

export type ParsedCommand = { ok: true; cmdId: string; body: Record<string, unknown> } | { ok: false; reason: string };

/** Parses an untrusted command payload; never throws. */
export function parseCommand(payload: Buffer | string): ParsedCommand {
  let body: unknown;
  try {
    body = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  } catch {
    return { ok: false, reason: 'cmd: is not valid JSON' };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, reason: 'cmd: must be a JSON object' };
  const cmdId = (body as { cmdId?: unknown }).cmdId;
  if (typeof cmdId !== 'string' || !CMD_ID.test(cmdId)) return { ok: false, reason: 'cmd.cmdId: must be 1-64 characters of A-Z a-z 0-9 . _ : -' };
  return { ok: true, cmdId, body: body as Record<string, unknown> };
}

/** The `ack` event data for a command's result. */
export function ackData(cmdId: string, r: CommandResult, ts: string): Record<string, unknown> {
  const ack: Record<string, unknown> = { ts, cmdId, ok: r.ok };
  if (!r.ok) ack.error = (r.error || 'failed').slice(0, MAX_ERROR);
  return ack;
}

/**
 * The results of the last `size` commands by cmdId: a command the gateway re-sends (its ack was
 * lost in a reconnect) is answered again without running twice — a second tare would tare twice.
 */
export class RecentCommands {
  private readonly results = new Map<string, Promise<CommandResult>>();

  constructor(private readonly size = 64) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError('RecentCommands.size: must be a positive integer');
  }

  /** Runs `fn` for a new cmdId, or returns the result of the earlier run; `fresh` says which. */
  run(cmdId: string, fn: () => Promise<CommandResult>): { result: Promise<CommandResult>; fresh: boolean } {
    const known = this.results.get(cmdId);
    if (known) return { result: known, fresh: false };
    // A driver that throws (even synchronously) still gets its command answered.
    const result = Promise.resolve()
      .then(fn)
      .catch((err: unknown) => ({ ok: false, error: err instanceof Error ? err.message : String(err) }));
    this.results.set(cmdId, result);
    if (this.results.size > this.size) this.results.delete(this.results.keys().next().value as string);
    return { result, fresh: true };
  }
}
