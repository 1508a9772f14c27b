/**
 * The signed `serials` feed's body (hq/v1/store/{storeId}/serials): serials sold at another store
 * or blocked (stolen, recalled), per GTIN and serial (GS1 AI 21).
 */
import { Type, type Static } from '@sinclair/typebox';

const Gtin = Type.String({ pattern: '^[0-9]{8,14}$' });
/** AI 21 allows up to 20 characters; an SGTIN-96 serial is a number up to 2^38 − 1. */
const Serial = Type.String({ minLength: 1, maxLength: 20 });

export const SerialsBody = Type.Object(
  {
    mode: Type.Union([Type.Literal('snapshot'), Type.Literal('delta')]),
    baseVersion: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
    serials: Type.Array(Type.Object({ gtin: Gtin, serial: Serial, state: Type.Union([Type.Literal('soldElsewhere'), Type.Literal('stolen'), Type.Literal('recalled')]) }, { additionalProperties: false }), { maxItems: 1_000_000 }),
    remove: Type.Optional(Type.Array(Type.Object({ gtin: Gtin, serial: Serial }, { additionalProperties: false }), { maxItems: 1_000_000 })),
  },
  { additionalProperties: false },
);
export type SerialsBodyT = Static<typeof SerialsBody>;
