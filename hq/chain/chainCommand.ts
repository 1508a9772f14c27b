/**
 * `storegw-hq chain --config FILE [--json]`: per store its last batch, lag, records per class,
 * feed versions applied against the latest HQ signed, online or offline, and its duplicate,
 * conflicting and refused batches; the stores needing attention first (hq/README.md §Chain view).
 * `storegw-hq chain serve --config FILE --listen 127.0.0.1:8090`: the same as a page behind a login.
 * `storegw-hq chain hash-password`: a password from stdin → the `chain.users[].passwordHash` line.
 * The config is the ingest's (its PostgreSQL), with a `chain` section.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { pino } from 'pino';
import type { HqCommand, HqIo } from '../main.js';
import { loadIngestConfigFor, type IngestConfig } from '../ingest/config.js';
import { loadVersions } from '../tools/feedVersions.js';
import { readStores } from './chainQuery.js';
import { chainView, formatTable, type ChainStore, type SignedVersions } from './chainView.js';
import { buildChainServer } from './chainServer.js';
import { hashPassword } from './passwordHash.js';

const USAGE = 'usage: storegw-hq chain --config FILE [--json]\n       storegw-hq chain serve --config FILE --listen HOST:PORT\n       storegw-hq chain hash-password  (reads the password from stdin)\n';

type ChainSettings = NonNullable<IngestConfig['chain']>;
const DEFAULTS: ChainSettings = { lagSeconds: 900, users: [], sessionHours: 12 };

/** The view as it stands: the tables, and HQ's signed versions when its keys folder is readable. */
function viewer(pool: pg.Pool, chain: ChainSettings, configFile: string, warn: (s: string) => void): () => Promise<ChainStore[]> {
  return async () => {
    let signed: SignedVersions | undefined;
    if (chain.keysDir) {
      try {
        signed = loadVersions(path.resolve(path.dirname(configFile), chain.keysDir));
      } catch (err) {
        warn(`chain.keysDir: ${(err as Error).message}; showing applied versions only`);
      }
    }
    return chainView(await readStores(pool), { lagSeconds: chain.lagSeconds, ...(signed ? { signed } : {}) });
  };
}

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of process.stdin) parts.push(c as Buffer);
  return Buffer.concat(parts).toString('utf8').replace(/\r?\n$/, '');
}

async function run(args: string[], io: HqIo): Promise<number> {
  const sub = args[0] === 'serve' || args[0] === 'hash-password' ? args[0] : undefined;
  let values: { config?: string; json?: boolean; listen?: string };
  try {
    ({ values } = parseArgs({ args: sub ? args.slice(1) : args, options: { config: { type: 'string' }, json: { type: 'boolean' }, listen: { type: 'string' } }, strict: true }));
  } catch (err) {
    io.err(`storegw-hq chain: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (sub === 'hash-password') {
    const pw = await readStdin();
    if (pw.length === 0) {
      io.err('storegw-hq chain hash-password: give the password on stdin\n');
      return 2;
    }
    io.out(`${await hashPassword(pw)}\n`);
    return 0;
  }
  if (!values.config) {
    io.err(`storegw-hq chain: --config FILE is required\n${USAGE}`);
    return 2;
  }
  const config = loadIngestConfigFor('chain', values.config, io.err);
  if (!config) return 2;
  const chain = config.chain ?? DEFAULTS;
  const pool = new pg.Pool({ ...config.pg, max: 2, connectionTimeoutMillis: 10_000 });
  pool.on('error', () => undefined); // an idle client lost: the next query opens another

  if (sub !== 'serve') {
    try {
      const stores = await viewer(pool, chain, values.config, (s) => io.err(`storegw-hq chain: ${s}\n`))();
      io.out(values.json ? JSON.stringify({ lagSeconds: chain.lagSeconds, stores }) + '\n' : formatTable(stores));
      return 0;
    } catch (err) {
      io.err(`storegw-hq chain: ${(err as Error).message}\n`);
      return 1;
    } finally {
      await pool.end().catch(() => undefined);
    }
  }

  const listen = /^(.+):(\d{1,5})$/.exec(values.listen ?? '');
  if (!listen) {
    io.err(`storegw-hq chain serve: --listen HOST:PORT is required (e.g. 127.0.0.1:8090)\n`);
    return 2;
  }
  if (chain.users.length === 0) {
    io.err(`storegw-hq chain serve: ${values.config}: config.chain.users: add at least one user (storegw-hq chain hash-password)\n`);
    return 2;
  }
  const log = pino({ name: 'storegw-hq-chain', level: config.log.level, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } }, pino.destination({ dest: 1, sync: true }));
  const app = buildChainServer({ users: chain.users, sessionHours: chain.sessionHours, view: viewer(pool, chain, values.config, (s) => log.warn(s)), log, ...(chain.trustedProxies ? { trustedProxies: chain.trustedProxies } : {}) });
  const address = await app.listen({ host: listen[1], port: Number(listen[2]) });
  log.info({ address }, 'chain page listening');
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await app.close();
  await pool.end().catch(() => undefined);
  log.info('chain page stopped');
  return 0;
}

export const command: HqCommand = {
  summary: 'the chain view: per store last batch, lag, records, feed versions, online or offline (CLI and page)',
  run,
};
