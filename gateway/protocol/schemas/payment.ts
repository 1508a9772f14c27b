import { Type, type Static } from '@sinclair/typebox';
import { Timestamp, MinorUnits, Currency, command } from './common.js';

const RequestId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' });

export const PaymentResult = Type.Object(
  {
    ts: Timestamp,
    requestId: RequestId,
    status: Type.Union([Type.Literal('approved'), Type.Literal('declined'), Type.Literal('timeout'), Type.Literal('cancelled')]),
    amount: MinorUnits,
    /** Optional for older terminals; an `approved` result without it never counts as paid. */
    currency: Type.Optional(Currency),
    authCode: Type.Optional(Type.String({ maxLength: 32 })),
  },
  { additionalProperties: true },
);

export const PaymentCharge = command({ requestId: RequestId, amount: MinorUnits, currency: Currency });
export const PaymentCancel = command({ requestId: RequestId });
/**
 * Gives back a payment the terminal approved but the kiosk will not ring up (an approval
 * for another amount or currency than the charge, a partial approval on a prepaid card, or one that
 * arrived after the sale was voided). Amount and currency are what the terminal approved.
 */
export const PaymentReverse = command({ requestId: RequestId, amount: MinorUnits, currency: Currency });

export type PaymentResultEvt = Static<typeof PaymentResult>;
export type PaymentChargeCmd = Static<typeof PaymentCharge>;
