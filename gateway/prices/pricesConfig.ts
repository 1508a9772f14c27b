/**
 * The `prices` and `esl` config slices: HQ price feed intake and its limits, and the fan-out of
 * labels to ESL access points. Declared here, referenced once from gateway/config.ts.
 */
import { Type } from '@sinclair/typebox';

/** Prices and shelf labels: HQ feed intake, sync reports. */
export const PricesConfigSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true }),
    /** MQTT client id of the feed connection at HQ (a persistent session: clean false). */
    hqClientId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    /** `report/prices` to HQ at least this often, and within ~1 s of a change. */
    reportEveryMs: Type.Integer({ minimum: 1000, default: 30_000 }),
    maxFeedBytes: Type.Integer({
      minimum: 1024,
      maximum: 128 * 1024 * 1024,
      default: 32 * 1024 * 1024,
      description:
        'Largest HQ feed payload (bytes) the gateway parses; a larger one is refused unparsed (SGW_ERR_FEED_TOO_LARGE, a FEED_REJECTED record). The default holds a 100k-item catalog. The HQ connection asks the broker (MQTT 5 Maximum Packet Size) not to send anything over twice this.',
    }),
    feedWorker: Type.Object(
      {
        maxOldGenerationSizeMb: Type.Integer({ minimum: 16, maximum: 8192, default: 256, description: 'Heap limit of the feed-checking worker thread (MB); a feed that exhausts it is refused (SGW_ERR_FEED_POISON), never re-checked on the main thread.' }),
        maxYoungGenerationSizeMb: Type.Integer({ minimum: 1, maximum: 1024, default: 32, description: 'Young-generation limit of the feed worker (MB).' }),
        stackSizeMb: Type.Integer({ minimum: 1, maximum: 64, default: 4, description: 'Stack size of the feed worker (MB).' }),
      },
      { additionalProperties: false, default: {}, description: 'Resource limits of the worker thread that parses and verifies HQ feeds.' },
    ),
    feedRetryInitialMs: Type.Integer({ minimum: 10, maximum: 600_000, default: 1000, description: 'After a feed could not be stored (disk full, database busy) it stays unacknowledged; the HQ feed connection is re-opened after this delay (doubling per failure) so HQ re-delivers it.' }),
    feedRetryMaxMs: Type.Integer({ minimum: 10, maximum: 3_600_000, default: 60_000, description: 'Longest delay between two re-deliveries of a feed that could not be stored.' }),
  },
  { additionalProperties: false, default: {} },
);

/** ESL fan-out: batching, acks, retries. */
export const EslConfigSchema = Type.Object(
  {
    maxLabelsPerCommand: Type.Integer({ minimum: 1, maximum: 500, default: 500 }),
    /** An AP with commands outstanding that has not answered for this long lost the oldest one. */
    ackTimeoutMs: Type.Integer({
      minimum: 100,
      default: 60_000,
      description:
        'When an unanswered ESL command counts as lost (the label is sent again). An AP that answers in order lost its oldest command after this long without any answer; an AP whose birth announces acksOutOfOrder (OpenEPaperLink) lost each command not answered this long after it was sent. The default fits APs that answer within seconds. An OpenEPaperLink store must set it above the longest time a tag sleeps between check-ins, and above the bridge driver\'s deliveryTimeoutMs (default 11 min) so the driver\'s own answer comes first: e.g. 720000 (12 min). Lower, a sleeping tag\'s label is re-sent and soon marked failed.',
    }),
    /** Sends per content before a label is "failed" (until its AP reconnects or ops resend). */
    maxAttempts: Type.Integer({ minimum: 1, maximum: 100, default: 5 }),
    retryInitialMs: Type.Integer({ minimum: 10, default: 1000 }),
    retryMaxMs: Type.Integer({ minimum: 10, default: 60_000 }),
    /** How often due retries and the ack watchdog run. */
    tickMs: Type.Integer({ minimum: 10, maximum: 60_000, default: 250 }),
  },
  { additionalProperties: false, default: {} },
);
