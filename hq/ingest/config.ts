/**
 * The ingest's config: one YAML file checked once against a TypeBox schema (ajv, all errors, each
 * naming its field), secrets read from their files, the result frozen. Loading reads files only:
 * no socket, no timer.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { parse as parseYaml } from 'yaml';
import { compile, formatErrors } from '../../gateway/protocol/validate.js';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const IngestConfigSchema = Type.Object(
  {
    mqtt: Type.Object(
      {
        url: Type.String({ pattern: '^(mqtts?|wss?|tcp|ssl)://' }),
        username: Type.Optional(Type.String({ minLength: 1 })),
        password: Type.Optional(Type.String()),
        passwordFile: Type.Optional(Type.String({ minLength: 1 })),
        /** Worker slot N connects as `{clientIdPrefix}-{N}`: a restarted slot resumes its broker session. */
        clientIdPrefix: Type.String({ minLength: 1, maxLength: 40, pattern: '^[A-Za-z0-9_.-]+$', default: 'storegw-ingest' }),
        /** How long the broker keeps a dead worker's session and its unacknowledged batches (s). */
        sessionExpirySeconds: Type.Integer({ minimum: 60, maximum: 4294967295, default: 86400 }),
      },
      { additionalProperties: false },
    ),
    postgres: Type.Object(
      {
        connectionString: Type.Optional(Type.String({ minLength: 1 })),
        host: Type.Optional(Type.String({ minLength: 1 })),
        port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
        database: Type.Optional(Type.String({ minLength: 1 })),
        user: Type.Optional(Type.String({ minLength: 1 })),
        passwordFile: Type.Optional(Type.String({ minLength: 1 })),
      },
      { additionalProperties: false },
    ),
    workers: Type.Integer({ minimum: 1, maximum: 64, default: 4 }),
    signing: Type.Object(
      {
        kid: Type.String({ minLength: 1, maxLength: 128 }),
        /** Ed25519 private key, PKCS#8 PEM, readable by the service user only (mode 0600). */
        privateKeyFile: Type.String({ minLength: 1 }),
      },
      { additionalProperties: false },
    ),
    /**
     * What one batch may cost a worker. The gateway never builds a batch over 4 MiB of text or
     * 50,000 records (its uplink limits), so the defaults leave room and still bound a worker's
     * memory to a few hundred MiB against a decompression bomb or a flood of tiny records.
     */
    limits: Type.Object(
      {
        maxBatchBytes: Type.Integer({ minimum: 65_536, maximum: 268_435_456, default: 16 * 1024 * 1024 }),
        maxRecords: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 50_000 }),
        maxDepth: Type.Integer({ minimum: 2, maximum: 1000, default: 32 }),
      },
      { additionalProperties: false, default: {} },
    ),
    shareGroup: Type.String({ minLength: 1, maxLength: 64, pattern: '^[^/+#]+$', default: 'storegw-ingest' }),
    /** Prometheus metrics served by the supervisor, e.g. `127.0.0.1:9464`; absent: none. */
    metrics: Type.Optional(Type.Object({ listen: Type.String({ pattern: '^[^\\s:]+:\\d{1,5}$' }) }, { additionalProperties: false })),
    /** The chain view (`storegw-hq chain`): hq/README.md §Chain view. */
    chain: Type.Optional(
      Type.Object(
        {
          /** A store whose last batch, or its own oldest un-acked record, is older than this is lagging. */
          lagSeconds: Type.Integer({ minimum: 1, default: 900 }),
          /** HQ's keys folder (`storegw-hq sign --keys`): its versions.json says the latest version signed per feed and scope. */
          keysDir: Type.Optional(Type.String({ minLength: 1 })),
          /** Who may open the chain page: scrypt hashes from `storegw-hq chain hash-password`. */
          users: Type.Array(Type.Object({ username: Type.String({ minLength: 1, maxLength: 64 }), passwordHash: Type.String({ pattern: '^scrypt\\$[0-9]{1,2}\\$[0-9]{1,2}\\$[0-9]{1,2}\\$[A-Za-z0-9+/=]{16,64}\\$[A-Za-z0-9+/=]{40,64}$' }) }, { additionalProperties: false }), { default: [], maxItems: 100 }),
          sessionHours: Type.Number({ exclusiveMinimum: 0, maximum: 720, default: 12 }),
          /**
           * The addresses of HQ's reverse proxies in front of the page (IPs or CIDR ranges): their
           * X-Forwarded-For names the client, so the login limits count per person, not one proxy.
           */
          trustedProxies: Type.Optional(Type.Array(Type.String({ pattern: '^[0-9A-Fa-f.:]+(/[0-9]{1,3})?$' }), { maxItems: 32 })),
        },
        { additionalProperties: false },
      ),
    ),
    log: Type.Object({ level: Type.Union(LEVELS.map((l) => Type.Literal(l)), { default: 'info' }) }, { additionalProperties: false, default: {} }),
  },
  { additionalProperties: false },
);
export type IngestConfigFile = Static<typeof IngestConfigSchema>;

/** The checked config plus what its files hold. */
export interface IngestConfig extends IngestConfigFile {
  mqttPassword?: string;
  /** What `pg.Pool` takes. */
  pg: { connectionString?: string; host?: string; port?: number; database?: string; user?: string; password?: string };
  signingKey: KeyObject;
}

export class IngestConfigError extends Error {
  constructor(readonly errors: string[]) {
    super(errors.join('\n'));
    this.name = 'IngestConfigError';
  }
}

const validate = compile(IngestConfigSchema);

/** Why a secret file is not private (group or others may read or write it), or null; throws when it cannot be stat'ed. */
export function notPrivate(filePath: string, shown: string): string | null {
  const mode = statSync(filePath).mode & 0o777;
  return (mode & 0o077) === 0 ? null : `${shown} is mode ${mode.toString(8).padStart(4, '0')}, must be readable by its owner only (0600)`;
}

/** True when a URL or PostgreSQL connection string carries a password (userinfo, or a `password=` keyword). */
export function hasPassword(conn: string): boolean {
  try {
    if (/^[a-z]+:\/\//.test(conn)) {
      const u = new URL(conn);
      return u.password !== '' || u.searchParams.has('password');
    }
  } catch {
    // not a URL: the keyword form below
  }
  return /(^|\s)password\s*=/.test(conn);
}

/** A URL as it may be logged: any password replaced. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}

/**
 * `loadIngestConfig` for a subcommand: the config, or null after telling `err` every problem under
 * the command's name (the caller exits 2). Other errors are thrown.
 */
export function loadIngestConfigFor(command: string, file: string, err: (s: string) => void): Readonly<IngestConfig> | null {
  try {
    return loadIngestConfig(file);
  } catch (e) {
    if (!(e instanceof IngestConfigError)) throw e;
    err(`storegw-hq ${command}: ${file}:\n${e.errors.map((x) => `  ${x}\n`).join('')}`);
    return null;
  }
}

/** Reads and checks FILE; throws IngestConfigError listing every problem, each naming its field. */
export function loadIngestConfig(file: string): Readonly<IngestConfig> {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new IngestConfigError([`${file}: ${(err as Error).message}`]);
  }
  if (!validate(doc)) throw new IngestConfigError(formatErrors(validate.errors, 'config'));
  const c = doc;
  const errors: string[] = [];
  const rel = (p: string): string => path.resolve(path.dirname(file), p);
  const readSecret = (field: string, p: string): string | undefined => {
    try {
      const why = notPrivate(rel(p), p);
      if (why) {
        errors.push(`config.${field}: ${why}`);
        return undefined;
      }
      return readFileSync(rel(p), 'utf8').trim();
    } catch (err) {
      errors.push(`config.${field}: cannot read ${p} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      return undefined;
    }
  };

  if (c.mqtt.password !== undefined && c.mqtt.passwordFile !== undefined) errors.push('config.mqtt: give password or passwordFile, not both');
  const mqttPassword = c.mqtt.passwordFile !== undefined ? readSecret('mqtt.passwordFile', c.mqtt.passwordFile) : c.mqtt.password;

  const p = c.postgres;
  const parts = p.host ?? p.port ?? p.database ?? p.user ?? p.passwordFile;
  if (p.connectionString === undefined && parts === undefined) errors.push('config.postgres: needs connectionString or host/port/database/user');
  if (p.connectionString !== undefined && parts !== undefined) errors.push('config.postgres: give connectionString or host/port/database/user/passwordFile, not both');
  const pgPassword = p.passwordFile !== undefined ? readSecret('postgres.passwordFile', p.passwordFile) : undefined;

  // A config file that holds a secret itself is a secret file.
  const inline =
    c.mqtt.password !== undefined ? 'mqtt.password'
    : hasPassword(c.mqtt.url) ? 'mqtt.url'
    : p.connectionString !== undefined && hasPassword(p.connectionString) ? 'postgres.connectionString'
    : undefined;
  if (inline !== undefined) {
    const why = notPrivate(file, file);
    if (why) errors.push(`config: ${why} (it holds config.${inline}; or move the password to a passwordFile)`);
  }

  let signingKey: KeyObject | undefined;
  const keyPath = rel(c.signing.privateKeyFile);
  try {
    // A signing key others can read lets them forge acks: the store would delete what HQ never stored.
    const why = notPrivate(keyPath, c.signing.privateKeyFile);
    if (why) errors.push(`config.signing.privateKeyFile: ${why}`);
    signingKey = createPrivateKey(readFileSync(keyPath, 'utf8'));
    if (signingKey.asymmetricKeyType !== 'ed25519') errors.push(`config.signing.privateKeyFile: must be an Ed25519 key (got ${signingKey.asymmetricKeyType})`);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    errors.push(`config.signing.privateKeyFile: ${e.code === 'ENOENT' ? `${c.signing.privateKeyFile} does not exist` : `not a PEM private key (${e.message})`}`);
  }
  if (errors.length > 0 || signingKey === undefined) throw new IngestConfigError(errors);

  const pgConn = p.connectionString !== undefined ? { connectionString: p.connectionString } : { host: p.host, port: p.port, database: p.database, user: p.user, password: pgPassword };
  return Object.freeze({ ...c, mqttPassword, pg: pgConn, signingKey });
}
