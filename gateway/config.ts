/**
 * The gateway's config: one TypeBox schema, loading is pure (defaults ← file ← STOREGW_* env), ajv
 * with allErrors, the result frozen and handed down in slices (fastify style, minus any global).
 */
import { Type, type Static } from '@sinclair/typebox';
import { deepFreeze, setPath, yamlMapping } from './protocol/configText.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEVICE_KINDS, ID_PATTERN, type DeviceKind } from './protocol/topics.js';
import { createAjv, formatErrors } from './protocol/validate.js';
import { HASH_PATTERN } from './scryptHash.js';
import { KioskConfigSchema } from './kiosk/kioskConfig.js'; // kiosk
import { ExitGatesSchema } from './items/exitGateConfig.js'; // exit gates
import { ShelvesSchema } from './items/shelfConfig.js'; // shelves
import { StockConfigSchema } from './stock/stockConfig.js'; // stock
import { EslConfigSchema, PricesConfigSchema } from './prices/pricesConfig.js'; // prices
import { HttpTlsSchema, MqttTlsSchema, tlsFileErrors } from './tlsConfig.js';
import { semanticErrors, uplinkErrors } from './configChecks.js';

const Id = Type.String({ pattern: ID_PATTERN });
const Hash = Type.String({ pattern: HASH_PATTERN, description: 'scrypt hash: scrypt$log2N$r$p$salt$hash (see `storegw hash`)' });
const Kind = Type.Union(DEVICE_KINDS.map((k) => Type.Literal(k)));
const Port = Type.Integer({ minimum: 0, maximum: 65535 });
const TopicPattern = Type.String({ minLength: 1, maxLength: 256 });

export const ConfigSchema = Type.Object(
  {
    storeId: Id,
    /** A demo config may carry the published demo secrets; any other refuses them (gateway/README.md §Trust). */
    demo: Type.Boolean({ default: false }),
    data: Type.Object(
      {
        dir: Type.String({ minLength: 1 }),
        quotaBytes: Type.Integer({ minimum: 1_048_576, default: 1_073_741_824 }),
        deadLetters: Type.Object(
          {
            maxAgeDays: Type.Integer({ minimum: 1, maximum: 365, default: 7, description: 'Dead letters (bad device payloads, in deadletters.db) older than this are dropped.' }),
            maxRows: Type.Integer({ minimum: 100, maximum: 1_000_000, default: 10_000, description: 'At most this many dead letters are kept (the newest); what the bound drops is counted.' }),
            maxBytes: Type.Integer({ minimum: 65_536, maximum: 1_073_741_824, default: 16_777_216, description: 'At most this many bytes of dead-letter text are kept (the newest).' }),
            pruneEveryMs: Type.Integer({ minimum: 1000, maximum: 3_600_000, default: 60_000, description: 'How often the dead-letter bounds are applied (also as soon as an append passes a bound by 10 %).' }),
          },
          { additionalProperties: false, default: {}, description: 'Bounds of the dead letters, kept in their own file outside the outbox quota.' },
        ),
        walTruncateBytes: Type.Integer({
          minimum: 65_536,
          maximum: 1_073_741_824,
          default: 67_108_864,
          description: 'The outbox WAL (outside the quota) is trimmed to this size when its log restarts, and truncated once it passes this size in a lull (no append for a second) with no reader holding it; under writes that never pause, at 4× this size (one short stall of every commit).',
        }),
      },
      { additionalProperties: false },
    ),
    log: Type.Object(
      {
        level: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info' }),
        peerLinesPerMinute: Type.Integer({
          minimum: 1,
          maximum: 100_000,
          default: 20,
          description: 'Log lines of one kind (refused connect, client error, dropped connection, bad HTTP request…) that peers can trigger, per minute for all peers together; the rest is counted (storegw_log_lines_suppressed_total) and summed up in one "log lines suppressed" line.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    mqtt: Type.Object(
      {
        host: Type.String({ default: '127.0.0.1' }),
        port: Type.Optional(Port),
        maxPacketBytes: Type.Integer({ minimum: 1024, maximum: 16 * 1024 * 1024, default: 65536 }),
        connectRate: Type.Object(
          {
            perSecond: Type.Number({ minimum: 0.1, default: 20 }),
            burst: Type.Integer({ minimum: 1, default: 200 }),
          },
          { additionalProperties: false, default: {} },
        ),
        /**
         * A subscriber whose socket does not drain for this long is disconnected. aedes holds a
         * publisher's next packets until deliveries finish, so one stuck local integration would
         * otherwise stall every device's ingest for aedes's default 60 s.
         */
        drainTimeoutMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 5000 }),
        /** Group commit: at most this many events in one SQLite transaction. */
        maxBatch: Type.Integer({ minimum: 1, maximum: 50_000, default: 1024 }),
        maxKeepaliveS: Type.Integer({
          minimum: 10,
          maximum: 65_535,
          default: 300,
          description: 'Longest MQTT keep-alive a client may ask for, in seconds. Keep-alive 0 or above this is refused with CONNACK 2 (MQTT 3.1.1 gives the server no way to impose its own), so a dead device is seen offline within 1.5 × its keep-alive.',
        }),
        maxConnectionsPerCredential: Type.Integer({
          minimum: 1,
          maximum: 1000,
          default: 4,
          description: 'MQTT connections one credential (device, bridge or service user) may hold at once under different client ids; more get CONNACK 3. Reconnecting under a client id it holds is a takeover and does not count twice.',
        }),
        maxInflightPerClient: Type.Integer({
          minimum: 1,
          maximum: 65_535,
          default: 256,
          description: 'QoS 1 device events one MQTT connection may have in flight (sent, not yet PUBACKed while their commit runs); a client that pipelines more is disconnected, counted. QoS 0 is bounded by one socket read, which aedes parses before it reads more.',
        }),
        clientIdHoldS: Type.Integer({
          minimum: 0,
          maximum: 30 * 86_400,
          default: 86_400,
          description: 'After its last connection ends, a client id stays bound to the credential that used it for this long; another credential presenting it meanwhile gets CONNACK 5. 0 = bound only while connected.',
        }),
        maxConnections: Type.Integer({
          minimum: 1,
          maximum: 1_000_000,
          default: 5000,
          description: 'Most MQTT connections at once, TCP and WebSocket together; one more is closed before any byte is read and counted (storegw_mqtt_connects_total{result="too_many_connections"}). Keep it below the process descriptor limit (LimitNOFILE) minus a few hundred.',
        }),
        websocket: Type.Object(
          {
            enabled: Type.Boolean({ default: false, description: 'MQTT over WebSocket on the HTTP port (`/mqtt`); off unless a browser-side or proxied client needs it. Same frame guard, CONNECT-first rule, rate limit and caps as TCP.' }),
            allowedOrigins: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), {
              default: [],
              description: 'Exact `Origin` values (scheme://host[:port]) a browser page may open `/mqtt` from; a browser from any other origin is refused at the upgrade with 403. A client that sends no Origin (a device, mqtt.js in Node) is not a browser page and is let in to authenticate.',
            }),
          },
          { additionalProperties: false, default: {} },
        ),
        tls: Type.Optional(MqttTlsSchema),
      },
      { additionalProperties: false, default: {} },
    ),
    http: Type.Object(
      {
        host: Type.String({ default: '127.0.0.1' }),
        port: Type.Optional(Port),
        sessionTtlS: Type.Integer({ minimum: 60, default: 12 * 3600 }),
        /** Secure cookies need TLS in front (a reverse proxy); off for plain-HTTP loopback. */
        secureCookies: Type.Boolean({ default: false }),
        maxConnections: Type.Integer({
          minimum: 1,
          maximum: 1_000_000,
          default: 1024,
          description: 'Most HTTP connections at once (pages, kiosk WebSockets, SSE, /mqtt); one more is closed at accept and counted (storegw_http_connections_dropped_total).',
        }),
        requestTimeoutMs: Type.Integer({
          minimum: 1000,
          maximum: 600_000,
          default: 30_000,
          description: 'A request (headers and body) must arrive within this long, or the connection gets 408 and is closed: a peer dribbling a body cannot hold one of http.maxConnections forever. WebSockets and event streams are not affected once open.',
        }),
        metrics: Type.Object(
          {
            allow: Type.Array(Type.String({ minLength: 2, maxLength: 64 }), {
              default: ['127.0.0.0/8', '::1/128'],
              description: 'Addresses or CIDR ranges that may read `GET /metrics` without logging in (a Prometheus scraper on the LAN: add its address). The client address is the TCP peer (or the proxied one when the proxy is trusted).',
            }),
            admins: Type.Boolean({ default: true, description: 'A logged-in ops admin may read `GET /metrics` from any address.' }),
          },
          { additionalProperties: false, default: {} },
        ),
        tls: Type.Optional(HttpTlsSchema),
        trustProxy: Type.Array(Type.String({ minLength: 1, maxLength: 64, pattern: '^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$' }), {
          default: [],
          maxItems: 16,
          description:
            'Addresses (or CIDR ranges) of the TLS reverse proxy in front of the ops page. Only a request arriving from one of them has its X-Forwarded-For/-Proto/-Host believed (for the client address the login limits count, and for the Origin check); empty: never believed.',
        }),
        allowedOrigins: Type.Array(Type.String({ pattern: '^https?://[^/\\s]+$', maxLength: 256 }), {
          default: [],
          maxItems: 16,
          description:
            'Origins (scheme://host[:port]) besides the page\'s own that may send state-changing requests (POST, PUT, PATCH, DELETE, the kiosk WebSocket). Another port on the same host is another origin.',
        }),
        passwordChecks: Type.Object(
          {
            concurrent: Type.Integer({ minimum: 1, maximum: 16, default: 2, description: "People's password hashes (scrypt, 32 MiB each) computed at once; the libuv pool (also gzip's and file I/O's) has four threads." }),
            queued: Type.Integer({ minimum: 0, maximum: 64, default: 4, description: 'Further password checks that may wait for a slot; beyond that an attempt is answered 429 with Retry-After.' }),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    devices: Type.Array(
      Type.Object(
        {
          kind: Kind,
          id: Id,
          secretHash: Type.Optional(Hash),
          location: Type.Optional(Type.String({ maxLength: 128 })),
          disabled: Type.Boolean({ default: false }),
          /** The bridge that speaks for this device, if it is not MQTT-native. */
          bridge: Type.Optional(Id),
        },
        { additionalProperties: false },
      ),
      { default: [] },
    ),
    bridges: Type.Array(Type.Object({ id: Id, secretHash: Hash }, { additionalProperties: false }), { default: [] }),
    serviceUsers: Type.Array(
      Type.Object(
        {
          username: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }),
          secretHash: Hash,
          read: Type.Array(TopicPattern, { default: [] }),
          write: Type.Array(TopicPattern, { default: [] }),
        },
        { additionalProperties: false },
      ),
      { default: [] },
    ),
    opsUsers: Type.Array(
      Type.Object(
        {
          username: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }),
          passwordHash: Hash,
          role: Type.Union([Type.Literal('viewer'), Type.Literal('attendant'), Type.Literal('admin')]),
        },
        { additionalProperties: false },
      ),
      { default: [] },
    ),
    kiosks: Type.Array(Type.Object({ id: Id, tokenHash: Hash }, { additionalProperties: false }), { default: [] }),
    /** Self-checkout: each kiosk's devices and the checkout rules; see kiosk/kioskConfig.ts. */
    kiosk: KioskConfigSchema,
    /** RFID exit gates and their alarm lights; see items/exitGateConfig.ts. */
    exitGates: ExitGatesSchema,
    /** RFID shelf readers by zone: on-shelf availability and cycle counts; see items/shelfConfig.ts. */
    shelves: ShelvesSchema,
    /** The stock ledger: low-stock threshold and HQ's stock report; see stock/stockConfig.ts. */
    stock: StockConfigSchema,
    health: Type.Object(
      {
        /** Seconds without a check-in after which a device of that kind is "stale". */
        staleAfterS: Type.Object(
          Object.fromEntries(DEVICE_KINDS.map((k) => [k, Type.Optional(Type.Integer({ minimum: 1 }))])),
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Prices and shelf labels: HQ feed intake, sync reports. */
    prices: PricesConfigSchema,
    /** ESL fan-out: batching, acks, retries. */
    esl: EslConfigSchema,
    hq: Type.Optional(
      Type.Object(
        {
          url: Type.String({ pattern: '^(mqtts?|wss?)://[^\\s/]+(:[0-9]+)?(/.*)?$', description: 'mqtt://host:port or mqtts://…' }),
          username: Type.Optional(Type.String()),
          passwordFile: Type.Optional(Type.String()),
          caFile: Type.Optional(Type.String()),
          certFile: Type.Optional(Type.String()),
          keyFile: Type.Optional(Type.String()),
          compression: Type.Union([Type.Literal('gzip'), Type.Literal('brotli')], { default: 'gzip' }),
          publicKeys: Type.Array(Type.Object({ kid: Type.String({ minLength: 1 }), pem: Type.String({ minLength: 40 }) }, { additionalProperties: false }), { default: [] }),
          /**
           * When a batch leaves the outbox. `broker-puback`: on HQ's broker's PUBACK (weaker: a broker
           * with no durable subscriber acknowledges and forgets). `ingest-ack`: only when HQ's ingest
           * publishes a signed acknowledgement naming it (needs `publicKeys`).
           */
          delivery: Type.Union([Type.Literal('broker-puback'), Type.Literal('ingest-ack')], { default: 'broker-puback', description: 'broker-puback (weaker: a broker with no durable subscriber acks and forgets) or ingest-ack (rows go only on HQ\'s signed ingest acknowledgement)' }),
          /** ingest-ack: a batch with no acknowledgement after this is sent again (HQ dedupes by storeId and seq). */
          ackTimeoutMs: Type.Integer({ minimum: 100, maximum: 86_400_000, default: 60_000, description: 'ingest-ack: a batch not acknowledged by HQ within this is sent again (HQ dedupes)' }),
          /** ingest-ack: most batches sent and not yet acknowledged at once. */
          maxUnackedBatches: Type.Integer({ minimum: 1, maximum: 1000, default: 8, description: 'ingest-ack: most batches awaiting HQ\'s acknowledgement at once' }),
          stuckBatchAttempts: Type.Integer({ minimum: 2, maximum: 1000, default: 5, description: 'ingest-ack: a batch sent this many times without HQ\'s acknowledgement raises HQ_BATCH_UNACKED (critical): HQ may be refusing it, and enough such batches stop delivery' }),
          /** Anyone who may publish on HQ's broker can send refused feeds and acks by the thousand. */
          rejectRecordsPerMinute: Type.Integer({ minimum: 1, maximum: 100_000, default: 5, description: 'FEED_REJECTED records written per feed (or ingestAck), refusal code and minute; the next one counts those left out. The metric counts every refusal.' }),
        },
        { additionalProperties: false },
      ),
    ),
    /** How batches leave for HQ. Only used when `hq` is set. */
    uplink: Type.Object(
      {
        /** Most records in one batch. */
        batchMaxRecords: Type.Integer({ minimum: 1, maximum: 50_000, default: 5000 }),
        /** Most bytes of a compressed batch; lowered at connect time to what HQ's CONNACK allows. */
        batchMaxBytes: Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024, default: 256 * 1024 }),
        /** A new exact record waits at most this long for others to share its batch. */
        batchMaxAgeMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 200 }),
        keepaliveS: Type.Integer({ minimum: 5, maximum: 3600, default: 30 }),
        connectTimeoutMs: Type.Integer({ minimum: 100, maximum: 120_000, default: 10_000 }),
        backoffInitialMs: Type.Integer({ minimum: 10, maximum: 600_000, default: 500 }),
        backoffMaxMs: Type.Integer({ minimum: 10, maximum: 3_600_000, default: 30_000 }),
        /** How often the disk quota and the wall clock are checked. */
        checkIntervalMs: Type.Integer({ minimum: 50, maximum: 600_000, default: 10_000 }),
        /** Free disk kept for everything else on the box: the outbox never grows into it. */
        minFreeDiskBytes: Type.Integer({ minimum: 0, default: 256 * 1024 * 1024 }),
        /** Wall clock minus monotonic clock moving more than this is a clock jump (recorded). */
        clockJumpMs: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 2000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Store ops: the store's local time for the day's numbers, live-page cadence. */
    ops: Type.Object(
      {
        /** IANA time zone of the store ("Europe/Berlin"); days and hours of the KPIs are local. */
        timezone: Type.String({ minLength: 1, maxLength: 64, default: 'UTC' }),
        /** How often device health is recomputed for the live page (stale/offline transitions). */
        healthEveryMs: Type.Integer({ minimum: 50, maximum: 60_000, default: 500 }),
        /** No longer used: KPI counters commit in the same transaction as the records they count. */
        kpiFlushMs: Type.Integer({ minimum: 50, maximum: 60_000, default: 1000, description: 'Unused: the KPI counters commit with the records they count; accepted so older config files still load.' }),
        /** The day's numbers go to HQ as a retained `report/kpi` at most this often (and on every reconnect). */
        kpiReportEveryMs: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 60_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Compaction by event class (gateway/README.md §Event classes); see uplink/compaction.ts for each rule. */
    compaction: Type.Object(
      {
        windowMs: Type.Integer({ minimum: 1000, maximum: 24 * 3600_000, default: 5 * 60_000 }),
        aggregateBucketMs: Type.Integer({ minimum: 1000, maximum: 3600_000, default: 60_000 }),
        presenceGapMs: Type.Integer({ minimum: 0, maximum: 3600_000, default: 30_000 }),
        sampledDeadbandGrams: Type.Number({ minimum: 0, default: 5 }),
        latestDeadbands: Type.Record(Type.String(), Type.Number({ minimum: 0 }), { default: { batteryPct: 5, batteryMv: 100, temperatureC: 2, rssi: 10 } }),
        /** How often closed windows are looked for. */
        intervalMs: Type.Integer({ minimum: 50, maximum: 3600_000, default: 30_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
export type DeviceConfig = Config['devices'][number];

/** Default check-in intervals by kind: esl APs report every minute, kiosks and scales often. */
export const DEFAULT_STALE_AFTER_S: Record<DeviceKind, number> = {
  esl: 180,
  scale: 120,
  scanner: 300,
  rfid: 120,
  footfall: 180,
  light: 300,
  payment: 180,
  kiosk: 90,
  printer: 300,
};

export type ConfigResult = { ok: true; config: Readonly<Config> } | { ok: false; errors: string[] };

const ajv = createAjv();
const validateConfig = ajv.compile(ConfigSchema);

/** STOREGW_* environment overrides, each mapped to one path (env wins over the file). */
const ENV_MAP: Record<string, { path: string[]; type: 'string' | 'int' }> = {
  STOREGW_STORE_ID: { path: ['storeId'], type: 'string' },
  STOREGW_DATA_DIR: { path: ['data', 'dir'], type: 'string' },
  STOREGW_LOG_LEVEL: { path: ['log', 'level'], type: 'string' },
  STOREGW_MQTT_PORT: { path: ['mqtt', 'port'], type: 'int' },
  STOREGW_HTTP_PORT: { path: ['http', 'port'], type: 'int' },
  // The connection cap follows the box (its LimitNOFILE), not the store's config file.
  STOREGW_MQTT_MAX_CONNECTIONS: { path: ['mqtt', 'maxConnections'], type: 'int' },
  STOREGW_HQ_URL: { path: ['hq', 'url'], type: 'string' },
};

/** Pure: text + env → a frozen config or every error with its path. */
export function parseConfig(text: string, env: Record<string, string | undefined> = {}, baseDir = '.'): ConfigResult {
  const parsed = yamlMapping(text);
  if (!parsed.ok) return parsed;
  const obj = parsed.obj;
  const envErrors: string[] = [];
  for (const [name, spec] of Object.entries(ENV_MAP)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    if (spec.type === 'int') {
      const n = Number(v);
      if (!Number.isInteger(n)) envErrors.push(`${name}: must be an integer (got "${v}")`);
      else setPath(obj, spec.path, n);
    } else setPath(obj, spec.path, v);
  }
  const valid = validateConfig(obj);
  const errors = [...envErrors, ...(valid ? [] : formatErrors(validateConfig.errors, ''))];
  // Cross-references are checked on whatever is well-shaped, so one schema error hides nothing.
  for (const e of semanticErrors(obj)) if (!errors.includes(e)) errors.push(e);
  if (errors.length > 0) return { ok: false, errors };
  const config = obj as Config;
  if (!path.isAbsolute(config.data.dir)) config.data.dir = path.resolve(baseDir, config.data.dir);
  // HQ link files: relative to the config file, and they must be readable now (check-config names
  // the field) rather than fail at the first connect attempt.
  const hqErrors = [...uplinkErrors(config, baseDir), ...tlsFileErrors(config, baseDir)];
  if (hqErrors.length > 0) return { ok: false, errors: hqErrors };
  return { ok: true, config: deepFreeze(config) };
}

export function loadConfigFile(file: string, env: Record<string, string | undefined> = process.env): ConfigResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { ok: false, errors: [`(file) ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`] };
  }
  return parseConfig(text, env, path.dirname(path.resolve(file)));
}
