import { Type, type Static } from '@sinclair/typebox';
import { Timestamp, command } from './common.js';

/** A weight reading; grams are integers (a retail scale's division is ≥ 1 g at checkout). */
export const ScaleWeight = Type.Object(
  {
    ts: Timestamp,
    grams: Type.Integer({ minimum: -1_000_000, maximum: 1_000_000 }),
    stable: Type.Boolean(),
    tareGrams: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
    // MT-SICS "S +" / "S -" (MT-SICS answers): out of range is reported, never a number.
    range: Type.Optional(Type.Union([Type.Literal('ok'), Type.Literal('over'), Type.Literal('under')])),
  },
  { additionalProperties: true },
);

export const ScaleTare = command({});
export const ScaleZero = command({});

export type ScaleWeightEvt = Static<typeof ScaleWeight>;
