import { Type, type Static } from '@sinclair/typebox';
import { Timestamp, MinorUnits, Currency, CmdId, command } from './common.js';

const RequestId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' });
/** One line of a terminal's own receipt (its print lines or text block), as the terminal sent it. */
const ReceiptLine = Type.String({ maxLength: 80 });
const TerminalReceipt = Type.Array(ReceiptLine, { maxItems: 200 });

/**
 * What the terminal asks of the shopper while a payment runs ("insert card", "enter PIN"). A card
 * terminal reports these as numbered intermediate states (ZVT `04 FF`); the bridge maps the number
 * to one of these prompts so the kiosk can say it in the shopper's language, and passes the
 * terminal's own number and text along for the log.
 */
export const PAYMENT_PROMPTS = [
  'insertCard',
  'presentCard',
  'enterPin',
  'pinWrong',
  'pleaseWait',
  'removeCard',
  'tryAgain',
  'notAccepted',
  'processing',
  'other',
] as const;
export type PaymentPrompt = (typeof PAYMENT_PROMPTS)[number];

export const PaymentStatus = Type.Object(
  {
    ts: Timestamp,
    requestId: RequestId,
    prompt: Type.Union(PAYMENT_PROMPTS.map((p) => Type.Literal(p))),
    /** The terminal's own code for this state (ZVT intermediate status byte), when it has one. */
    code: Type.Optional(Type.Integer({ minimum: 0, maximum: 255 })),
    text: Type.Optional(Type.String({ maxLength: 120 })),
  },
  { additionalProperties: true },
);

/**
 * The outcome of a charge. A terminal that has a commit step (ZVT: the cash register's
 * acknowledgement of the status information) sends `approved` only after that commit, so an
 * approved result is a payment the terminal keeps. `recovered` says the result was learned from the
 * terminal after the connection was lost mid-payment (ZVT: repeat receipt), never guessed.
 */
export const PaymentResult = Type.Object(
  {
    ts: Timestamp,
    requestId: RequestId,
    status: Type.Union([Type.Literal('approved'), Type.Literal('declined'), Type.Literal('timeout'), Type.Literal('cancelled')]),
    amount: MinorUnits,
    /** Optional for older terminals; an `approved` result without it never counts as paid. */
    currency: Type.Optional(Currency),
    authCode: Type.Optional(Type.String({ maxLength: 32 })),
    /** The terminal's result code (ZVT BMP 27: 0 approved, 5 declined, 0x6C aborted …). */
    resultCode: Type.Optional(Type.Integer({ minimum: 0, maximum: 255 })),
    /** The terminal's receipt number; a reversal names it. */
    receiptNo: Type.Optional(Type.String({ pattern: '^[0-9]{1,8}$' })),
    trace: Type.Optional(Type.String({ pattern: '^[0-9]{1,12}$' })),
    terminalId: Type.Optional(Type.String({ maxLength: 16, pattern: '^[A-Za-z0-9 ._-]*$' })),
    /** The card's name as the terminal prints it ("Debit Mastercard", "girocard"). */
    cardType: Type.Optional(Type.String({ maxLength: 40 })),
    /** Only masked: at most the last four digits are clear ("************4771"). */
    maskedPan: Type.Optional(Type.String({ maxLength: 19, pattern: '^[*]*[0-9]{0,4}$' })),
    /** The terminal's customer receipt, kept for the shopper's receipt. */
    receipt: Type.Optional(TerminalReceipt),
    recovered: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: true },
);

/**
 * The terminal's end-of-day (closing the batch of card payments with the acquirer), run as an ops
 * action. Its answer is an exact record: it is the store's proof of what the acquirer settles.
 */
export const PaymentEndOfDayResult = Type.Object(
  {
    ts: Timestamp,
    cmdId: CmdId,
    ok: Type.Boolean(),
    resultCode: Type.Optional(Type.Integer({ minimum: 0, maximum: 255 })),
    totalAmount: Type.Optional(MinorUnits),
    currency: Type.Optional(Currency),
    count: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
    receipt: Type.Optional(TerminalReceipt),
    error: Type.Optional(Type.String({ maxLength: 512 })),
  },
  { additionalProperties: true },
);

export const PaymentCharge = command({ requestId: RequestId, amount: MinorUnits, currency: Currency });
/** Aborts a charge the terminal has not committed yet; after the commit only a reversal gives money back. */
export const PaymentCancel = command({ requestId: RequestId });
/**
 * Gives back a payment the terminal approved but the kiosk will not ring up (an approval
 * for another amount or currency than the charge, a partial approval on a prepaid card, or one that
 * arrived after the sale was voided). Amount and currency are what the terminal approved;
 * `receiptNo` (from the result) lets a terminal reverse exactly that payment.
 */
export const PaymentReverse = command({ requestId: RequestId, amount: MinorUnits, currency: Currency, receiptNo: Type.Optional(Type.String({ pattern: '^[0-9]{1,8}$' })) });
export const PaymentEndOfDay = command({});

export type PaymentResultEvt = Static<typeof PaymentResult>;
export type PaymentStatusEvt = Static<typeof PaymentStatus>;
export type PaymentEndOfDayEvt = Static<typeof PaymentEndOfDayResult>;
export type PaymentChargeCmd = Static<typeof PaymentCharge>;
