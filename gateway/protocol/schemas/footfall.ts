import { Type, type Static } from '@sinclair/typebox';
import { Timestamp } from './common.js';

/** Counts since the last report (`{"ts","in","out"}`); vendors' cumulative counters are delta'd by the bridge. */
export const FootfallCount = Type.Object(
  {
    ts: Timestamp,
    in: Type.Integer({ minimum: 0, maximum: 100_000 }),
    out: Type.Integer({ minimum: 0, maximum: 100_000 }),
    since: Type.Optional(Timestamp),
  },
  { additionalProperties: true },
);

/** One crossing of a two-beam counter (firmware-bridge/devices/beams/README.md). */
export const FootfallCross = Type.Object(
  {
    ts: Timestamp,
    direction: Type.Union([Type.Literal('in'), Type.Literal('out')]),
  },
  { additionalProperties: true },
);

export type FootfallCountEvt = Static<typeof FootfallCount>;
export type FootfallCrossEvt = Static<typeof FootfallCross>;
