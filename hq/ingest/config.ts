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

  let signingKey: KeyObject | undefined;
  const keyPath = rel(c.signing.privateKeyFile);
  try {
    const mode = statSync(keyPath).mode & 0o777;
    // A signing key others can read lets them forge acks: the store would delete what HQ never stored.
    if ((mode & 0o077) !== 0) errors.push(`config.signing.privateKeyFile: ${c.signing.privateKeyFile} is mode ${mode.toString(8).padStart(4, '0')}, must be readable by its owner only (0600)`);
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
