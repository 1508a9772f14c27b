import { Type, type Static } from '@sinclair/typebox';
import { CmdId, MinorUnits, Currency, Timestamp, command } from './common.js';

const LabelId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' });

/** Per-label status as an access point reports it (OpenEPaperLink-style APs: battery, RSSI, temperature, hash of the content shown). */
export const EslStatus = Type.Object(
  {
    ts: Timestamp,
    labels: Type.Array(
      Type.Object(
        {
          labelId: LabelId,
          batteryMv: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
          rssi: Type.Optional(Type.Number({ minimum: -150, maximum: 20 })),
          temperatureC: Type.Optional(Type.Number({ minimum: -60, maximum: 100 })),
          shownHash: Type.Optional(Type.String({ maxLength: 64 })),
        },
        { additionalProperties: true },
      ),
      { maxItems: 2000 },
    ),
  },
  { additionalProperties: true },
);

/** Per label, per cmdId: the AP confirms what the label now shows. */
export const EslAck = Type.Object(
  {
    ts: Type.Optional(Timestamp),
    cmdId: CmdId,
    ok: Type.Boolean(),
    error: Type.Optional(Type.String({ maxLength: 512 })),
    labelId: Type.Optional(LabelId),
    shownHash: Type.Optional(Type.String({ maxLength: 64 })),
    /**
     * One ack for many labels of the same command (an AP answers a 500-label command in a few
     * messages, not 500). Each entry is what `labelId`/`ok`/`shownHash` say for a single label.
     */
    acks: Type.Optional(
      Type.Array(
        Type.Object(
          {
            labelId: LabelId,
            ok: Type.Boolean(),
            shownHash: Type.Optional(Type.String({ maxLength: 64 })),
            error: Type.Optional(Type.String({ maxLength: 128 })),
          },
          { additionalProperties: true },
        ),
        { maxItems: 1000 },
      ),
    ),
  },
  { additionalProperties: true },
);

export const EslShow = command({
  labels: Type.Array(
    Type.Object({
      labelId: LabelId,
      gtin: Type.String({ pattern: '^[0-9]{8,14}$' }),
      name: Type.String({ maxLength: 128 }),
      price: MinorUnits,
      currency: Currency,
      promo: Type.Optional(Type.Object({ price: MinorUnits, until: Type.Optional(Timestamp), text: Type.Optional(Type.String({ maxLength: 64 })) })),
      unit: Type.Optional(Type.Union([Type.Literal('each'), Type.Literal('kg')])),
      page: Type.Optional(Type.Integer({ minimum: 0, maximum: 7 })),
      template: Type.Optional(Type.String({ maxLength: 32 })),
      /** Extra template fields from the catalog (Pricer/OpenEPaperLink template variables). */
      fields: Type.Optional(Type.Record(Type.String({ maxLength: 32 }), Type.String({ maxLength: 128 }))),
      contentHash: Type.String({ maxLength: 64 }),
      flash: Type.Optional(Type.Object({ color: Type.String({ maxLength: 16 }), seconds: Type.Integer({ minimum: 1, maximum: 600 }) })),
    }),
    { minItems: 1, maxItems: 500 },
  ),
});

export type EslStatusEvt = Static<typeof EslStatus>;
export type EslAckEvt = Static<typeof EslAck>;
export type EslShowCmd = Static<typeof EslShow>;
export { CmdId };
