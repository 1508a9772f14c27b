/**
 * `storegw-hq sign --feed F --scope all|store:ID --in FILE.csv|FILE.json --keys D [--out FILE]
 * [--mode snapshot|delta] [--currency EUR]`: builds the body (CSV rows, feedCsv.ts; or a JSON file
 * holding the body), checks it with the feed's schema, takes the next version for (feed, scope)
 * (feedVersions.ts) and signs with the keyring's active key. A delta without `baseVersion` gets
 * the version last signed for that feed and scope. Bad input: every error, naming the file, line
 * and column, on stderr, and exit code 2.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { HqCommand } from '../main.js';
import { isStoreFeed, STORE_FEEDS, type StoreFeedName } from '../../gateway/protocol/schemas/feeds/index.js';
import { csvToBody } from './feedCsv.js';
import { activeSigningKey, KeyringError } from './keyring.js';
import { DirLockError, withDirLock } from './dirLock.js';
import { lastVersion, nextVersion } from './feedVersions.js';
import { bodyErrors, scopeError, signFeed } from './signFeed.js';

/** HQ's word for HQ's stock feed to the store is "stock"; on the wire it is `deliveries`. */
const FEED_ALIASES: Record<string, StoreFeedName> = { stock: 'deliveries' };

const USAGE = 'usage: storegw-hq sign --feed F --scope all|store:ID --in FILE.csv|FILE.json --keys DIR [--out FILE] [--mode snapshot|delta] [--currency CODE]\n';

export const command: HqCommand = {
  summary: 'sign a feed (catalog, prices, members, labels, loyalty, coupons, serials, deliveries/stock, orders) from CSV or JSON',
  async run(args, io) {
    let v: Record<string, string | undefined>;
    try {
      v = parseArgs({ args, options: { feed: { type: 'string' }, scope: { type: 'string' }, in: { type: 'string' }, keys: { type: 'string' }, out: { type: 'string' }, mode: { type: 'string' }, currency: { type: 'string' } }, strict: true }).values as Record<string, string | undefined>;
    } catch (err) {
      io.err(`sign: ${(err as Error).message}\n${USAGE}`);
      return 2;
    }
    for (const k of ['feed', 'scope', 'in', 'keys'] as const) {
      if (!v[k]) {
        io.err(`sign: --${k} is required\n${USAGE}`);
        return 2;
      }
    }
    const feedArg = v.feed!;
    const feed = FEED_ALIASES[feedArg] ?? feedArg;
    if (!isStoreFeed(feed)) {
      io.err(`sign: --feed: "${feedArg}" is not a feed (${[...Object.keys(STORE_FEEDS), ...Object.keys(FEED_ALIASES)].join(', ')})\n`);
      return 2;
    }
    const scope = v.scope!;
    const sErr = scopeError(feed, scope);
    if (sErr) {
      io.err(`sign: ${sErr}\n`);
      return 2;
    }
    const mode = v.mode ?? 'snapshot';
    if (mode !== 'snapshot' && mode !== 'delta') {
      io.err('sign: --mode: must be snapshot or delta\n');
      return 2;
    }
    const file = v.in!;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      io.err(`sign: --in: ${(err as Error).message}\n`);
      return 2;
    }
    const name = path.basename(file);
    let body: Record<string, unknown>;
    if (file.toLowerCase().endsWith('.csv')) {
      const r = csvToBody(text, { feed, file: name, mode, currency: v.currency });
      if (!r.ok) {
        io.err(r.errors.join('\n') + '\n');
        return 2;
      }
      body = r.body;
    } else if (file.toLowerCase().endsWith('.json')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        io.err(`${name}: is not valid JSON (${(err as Error).message})\n`);
        return 2;
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        io.err(`${name}: must hold the feed's body, a JSON object\n`);
        return 2;
      }
      body = parsed as Record<string, unknown>;
    } else {
      io.err(`sign: --in: "${file}" must end in .csv or .json\n`);
      return 2;
    }
    const keysDir = v.keys!;
    // One sign at a time per keys folder, from reading the last version to writing the signed file.
    try {
      return await withDirLock(keysDir, () => {
        if (body.mode === 'delta' && body.baseVersion === undefined) {
          const base = lastVersion(keysDir, feed, scope);
          if (base === undefined) {
            io.err(`sign: a delta applies on the last ${feed} feed signed for ${scope}, and there is none: sign a snapshot first\n`);
            return 2;
          }
          body.baseVersion = base;
        }
        const errs = bodyErrors(feed, body);
        if (errs.length > 0) {
          io.err(errs.map((e) => `${name}: ${e}`).join('\n') + '\n');
          return 2;
        }
        let key;
        try {
          key = activeSigningKey(keysDir);
        } catch (err) {
          if (err instanceof KeyringError) {
            io.err(`sign: ${err.message}\n`);
            return 2;
          }
          throw err;
        }
        const now = Date.now();
        // The version is durable before the signed feed exists: a crash in between burns it, never reuses it.
        const version = nextVersion(keysDir, feed, scope, now);
        const envelope = signFeed({ feed, scope, version, issuedAt: new Date(now).toISOString(), body, kid: key.kid, privateKey: key.privateKey });
        if (v.out) {
          writeFileSync(v.out, envelope + '\n');
          io.out(`signed ${feed} ${scope} version ${version} with ${key.kid} → ${v.out}\n`);
        } else {
          io.out(envelope + '\n');
        }
        return 0;
      }, { note: (m) => io.err(`sign: ${m}\n`) });
    } catch (err) {
      if (!(err instanceof DirLockError)) throw err;
      io.err(`sign: ${err.message}\n`);
      return 1;
    }
  },
};
