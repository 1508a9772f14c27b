/** `GET /api/uplink`: the HQ link, the outbox backlog, the quota, compaction and clock jumps. */
import { Type, type Static } from '@sinclair/typebox';
import { NullableMs, NullableString } from './common.js';

const Count = Type.Integer({ minimum: 0 });
/** Byte figures come from the file system and the config: numbers, not assumed to be integers. */
const Bytes = Type.Number({ minimum: 0 });

export const UplinkStateSchema = Type.Object({
  connected: Type.Boolean(),
  connects: Count,
  lastConnectedAt: NullableMs,
  lastError: NullableString,
  batchLimitBytes: Type.Number(),
  /** First seqs of batches held back (too large for HQ's packet limit). */
  held: Type.Array(Type.Integer()),
  batchesSent: Count,
  recordsSent: Count,
  bytesSent: Count,
  lineBytesSent: Count,
});

export const QuotaStatusSchema = Type.Object({
  usedBytes: Bytes,
  limitBytes: Bytes,
  quotaBytes: Bytes,
  freeDiskBytes: Bytes,
  /** Exact records alone break the quota (they are kept). */
  alert: Type.Boolean(),
  /** Days of outage the headroom holds at the last 24 h's rate; null when nothing arrives. */
  daysLeft: Type.Union([Type.Number(), Type.Null()]),
  evicted: Type.Record(Type.String(), Count),
  lastEvictions: Type.Array(Type.Object({ cls: Type.String(), count: Count, seqFrom: Type.Integer(), seqTo: Type.Integer() })),
});

export const ClockJumpSchema = Type.Object({
  /** Signed: negative when the wall clock went back. */
  jumpMs: Type.Number(),
  direction: Type.Union([Type.Literal('back'), Type.Literal('forward')]),
  wallBefore: Type.Number(),
  wallAfter: Type.Number(),
  monoMs: Type.Number(),
});

export const UplinkStatusSchema = Type.Object({
  configured: Type.Boolean(),
  hqUrl: NullableString,
  wan: Type.Union([UplinkStateSchema, Type.Null()]),
  outbox: Type.Object({ rows: Type.Record(Type.String(), Count), total: Count, oldestUnsentAgeS: Type.Union([Type.Number(), Type.Null()]) }),
  quota: QuotaStatusSchema,
  compaction: Type.Object({ rawRecords: Count, compactRecords: Count, dropped: Count, rawPayloadBytes: Count, compactBytes: Count }),
  /** Device payload bytes in / compressed bytes HQ acknowledged. */
  compactionRatio: Type.Union([Type.Number(), Type.Null()]),
  clockJumps: Type.Array(ClockJumpSchema),
  /** How HQ's receipt is established (hq.delivery) and what HQ has not acknowledged yet. */
  delivery: Type.Object({
    mode: Type.Union([Type.Literal('broker-puback'), Type.Literal('ingest-ack')]),
    unackedBatches: Count,
    unackedRecords: Count,
    /** Age in seconds of the oldest record HQ has not acknowledged. */
    lagS: Type.Union([Type.Number(), Type.Null()]),
    lastAckAt: NullableMs,
    acksAccepted: Count,
    acksRefused: Count,
    ackConnected: Type.Boolean(),
  }),
});
export type UplinkStatusBody = Static<typeof UplinkStatusSchema>;
