/**
 * Each protocol's driver options (`devices[].options`), checked by config.ts in a second pass
 * against the device's protocol, so an error names its path (`devices[3].options.t4Ms: …`). The
 * names are the drivers' own option names; each driver's README says what they mean on the wire.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import type { Protocol } from './config.js';

const Ms = Type.Integer({ minimum: 1, maximum: 600_000 });
const CommandTimeout = Type.Optional(Ms);
const Model = Type.Optional(Type.String({ minLength: 1, maxLength: 128 }));

/** Driver options per protocol (the drivers' own option names). */
export const PROTOCOL_OPTIONS: Readonly<Record<Protocol, TSchema>> = Object.freeze({
  mtsics: Type.Object(
    {
      mode: Type.Optional(Type.Union([Type.Literal('poll'), Type.Literal('stream')])),
      pollIntervalMs: Type.Optional(Type.Integer({ minimum: 20, maximum: 60_000 })),
      commandTimeoutMs: CommandTimeout,
      model: Model,
    },
    { additionalProperties: false },
  ),
  toledoContinuous: Type.Object(
    {
      format: Type.Optional(Type.Object({ tare: Type.Boolean(), checksum: Type.Boolean() }, { additionalProperties: false })),
      commandTimeoutMs: CommandTimeout,
      model: Model,
    },
    { additionalProperties: false },
  ),
  chafon: Type.Object(
    {
      variant: Type.Optional(Type.Union([Type.Literal('18'), Type.Literal('288')])),
      adr: Type.Optional(Type.Integer({ minimum: 0, maximum: 255 })),
      antennas: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: 4 }), { minItems: 1, maxItems: 4 })),
      inventory: Type.Optional(
        Type.Object(
          {
            q: Type.Optional(Type.Integer({ minimum: 0, maximum: 15 })),
            session: Type.Optional(Type.Integer({ minimum: 0, maximum: 3 })),
            scanTime: Type.Optional(Type.Integer({ minimum: 1, maximum: 255 })),
          },
          { additionalProperties: false },
        ),
      ),
      roundIntervalMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 60_000 })),
      responseTimeoutMs: CommandTimeout,
      autoStart: Type.Optional(Type.Boolean()),
      model: Model,
    },
    { additionalProperties: false },
  ),
  hidScanner: Type.Object(
    {
      mode: Type.Union([Type.Literal('keyboard'), Type.Literal('pos')], { default: 'keyboard' }),
      keyboard: Type.Optional(
        Type.Object(
          {
            terminators: Type.Optional(Type.Array(Type.Union([Type.Literal('enter'), Type.Literal('tab')]), { minItems: 1 })),
            aimPrefix: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
      ),
      pos: Type.Optional(
        Type.Object({ reportId: Type.Optional(Type.Boolean()), lengthIncludesAim: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
      ),
    },
    { additionalProperties: false },
  ),
  beams: Type.Object(
    {
      minBreakMs: Type.Optional(Type.Integer({ minimum: 0 })),
      minClearMs: Type.Optional(Type.Integer({ minimum: 0 })),
      sequenceTimeoutMs: Type.Optional(Type.Integer({ minimum: 0 })),
      blockedMs: Type.Optional(Type.Integer({ minimum: 0 })),
      minGapMs: Type.Optional(Type.Integer({ minimum: 0 })),
      brokenLevel: Type.Optional(Type.Union([Type.Literal(0), Type.Literal(1)])),
    },
    { additionalProperties: false },
  ),
  lightTower: Type.Object(
    { flash: Type.Optional(Type.Object({ periodMs: Ms, onMs: Ms }, { additionalProperties: false })) },
    { additionalProperties: false },
  ),
  escpos: Type.Object(
    {
      /** A single-byte code page with € (ESC t 19 CP858, ESC t 16 WPC1252). */
      codePage: Type.Optional(Type.Union([Type.Literal('cp858'), Type.Literal('wpc1252')])),
      /** The printer has a GB18030 Chinese mode (FS &): Chinese text is printed in it. */
      cjk: Type.Optional(Type.Boolean()),
      /** Characters per line in Font A: 48 on 80 mm paper, 32 on 58 mm. */
      width: Type.Optional(Type.Integer({ minimum: 16, maximum: 96 })),
      qrModule: Type.Optional(Type.Integer({ minimum: 1, maximum: 16 })),
      statusPollMs: Type.Optional(Type.Integer({ minimum: 50, maximum: 60_000 })),
      statusTimeoutMs: Type.Optional(Type.Integer({ minimum: 50, maximum: 60_000 })),
      /** `status` events go out at most this often, the newest state winning (default 500 ms). */
      statusGapMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 60_000 })),
      /** The same alert is raised again at most this often (default 30 s): a flapping sensor is one alert. */
      alertRepeatMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 3_600_000 })),
      /** The print journal's folder: cmdIds already printed are not printed again after a restart. */
      stateDir: Type.Optional(Type.String({ minLength: 1 })),
      model: Model,
    },
    { additionalProperties: false },
  ),
  zvt: Type.Object(
    {
      /** The payment journal's folder (written with fsync before every commit). */
      stateDir: Type.String({ minLength: 1 }),
      password: Type.Optional(Type.String({ pattern: '^[0-9]{6}$' })),
      currency: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$' })),
      configByte: Type.Optional(Type.Integer({ minimum: 0, maximum: 255 })),
      serviceByte: Type.Optional(Type.Integer({ minimum: 0, maximum: 255 })),
      printerWidth: Type.Optional(Type.Integer({ minimum: 20, maximum: 99 })),
      t3Ms: Type.Optional(Ms),
      t4Ms: Type.Optional(Ms),
      statusIntervalMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 3_600_000 })),
      serialAckTimeoutMs: Type.Optional(Ms),
      /** Shopper prompts go out at most this often, the newest winning (default 250 ms). */
      promptGapMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
      /** Messages one exchange may bring before it ends without a result (default 2,000): a flooding terminal cannot hold the kiosk. */
      maxMessagesPerExchange: Type.Optional(Type.Integer({ minimum: 10, maximum: 100_000 })),
      model: Model,
    },
    { additionalProperties: false },
  ),
  // OpenEPaperLink access point (firmware-bridge/devices/oepl/README.md).
  oepl: Type.Object(
    {
      requestTimeoutMs: Type.Optional(Ms),
      uploadConcurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 16 })),
      deliveryTimeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 86_400_000 })),
      /** Label id → tag MAC (12 or 16 hex); a label id that is a MAC needs no entry. */
      tags: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z0-9._:-]{1,64}$' }), Type.String({ pattern: '^([0-9A-Fa-f]{12}|[0-9A-Fa-f]{16})$' }))),
      locale: Type.Optional(Type.String({ pattern: '^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$' })),
      ttlMinutes: Type.Optional(Type.Integer({ minimum: 0, maximum: 1440 })),
      tagSleep: Type.Optional(Type.Union([Type.Literal('allow'), Type.Literal('leave')])),
      /** Named JSON templates (the AP's drawing elements, `{name}` `{price}` … placeholders in strings). */
      layouts: Type.Optional(Type.Record(Type.String({ maxLength: 32 }), Type.Array(Type.Unknown(), { minItems: 1, maxItems: 64 }))),
      /** Layout name per tag hardware type (decimal hwType). */
      layoutByHwType: Type.Optional(Type.Record(Type.String({ pattern: '^[0-9]{1,3}$' }), Type.String({ maxLength: 32 }))),
      livenessMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 600_000 })),
      ackFlushMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
      statusEveryMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 600_000 })),
      reconnect: Type.Optional(
        Type.Object(
          { initialMs: Type.Integer({ minimum: 10, maximum: 60_000 }), maxMs: Type.Integer({ minimum: 10, maximum: 600_000 }), factor: Type.Number({ minimum: 1, maximum: 10 }) },
          { additionalProperties: false },
        ),
      ),
    },
    { additionalProperties: false },
  ),
});
