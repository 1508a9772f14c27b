/** Ops API of the exit gates: exempting a tag (a demo item, an item staff carry out) until a time. */
import { Type, type Static } from '@sinclair/typebox';

/** Seven days at most: an exemption is for an occasion, not for good. */
export const MAX_EXEMPT_MS = 7 * 86_400_000;

export const ExemptBody = Type.Object(
  {
    /** The tag as read (SGTIN-96, 24 hex digits), or its GTIN and serial. */
    epc: Type.Optional(Type.String({ pattern: '^[0-9A-Fa-f]{24}$' })),
    gtin: Type.Optional(Type.String({ pattern: '^[0-9]{8,14}$' })),
    serial: Type.Optional(Type.String({ pattern: '^[0-9]{1,12}$' })),
    ttlMs: Type.Integer({ minimum: 1000, maximum: MAX_EXEMPT_MS }),
    reason: Type.String({ minLength: 1, maxLength: 200 }),
  },
  { additionalProperties: false },
);
export type ExemptBodyT = Static<typeof ExemptBody>;

export const Exemption = Type.Object({ gtin: Type.String(), serial: Type.String(), until: Type.Integer(), by: Type.String(), reason: Type.String() });
export const Exemptions = Type.Object({ exemptions: Type.Array(Exemption) });
