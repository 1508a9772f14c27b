/**
 * `storegw-hq publish --mqtt URL [--user U --password-file P] (--all | --store ID…) FILE.signed.json…`:
 * publishes signed feeds retained with QoS 1, on `hq/v1/all/{feed}` for scope `all` and on
 * `hq/v1/store/{storeId}/{feed}` for `store:{storeId}`. Retained, so a store that was offline gets
 * the latest version when it reconnects. The signed scope must match the targets named on the
 * command line, checked for every file before anything is sent: a feed signed for one store never
 * lands on another's topic (that store would refuse it anyway, and the retained copy would sit
 * there). Plain MQTT 3.1.1/5 publishes: any broker (Mosquitto, EMQX, HiveMQ) takes them.
 */
import { readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import type { HqCommand } from '../main.js';
import { topics } from '../../gateway/protocol/topics.js';
import { compile, formatErrors } from '../../gateway/protocol/validate.js';
import { FeedEnvelope, SignedFeed } from '../../gateway/protocol/feedVerify.js';
import { parseScope } from './signFeed.js';

const USAGE = 'usage: storegw-hq publish --mqtt URL [--user U --password-file FILE] (--all | --store ID …) FILE.signed.json …\n';

export interface PlannedPublish {
  file: string;
  topic: string;
  feed: string;
  scope: string;
  version: number;
  kid: string;
  payload: string;
}

/** Where each file goes, or the errors that stop everything before a byte is sent. */
export function planPublish(files: { name: string; text: string }[], target: { all: boolean; stores: string[] }): { ok: true; plan: PlannedPublish[] } | { ok: false; errors: string[] } {
  const envelopeOk = compile(FeedEnvelope);
  const signedOk = compile(SignedFeed);
  const errors: string[] = [];
  const plan: PlannedPublish[] = [];
  const covered = new Set<string>();
  for (const f of files) {
    let env: unknown;
    let inner: unknown;
    try {
      env = JSON.parse(f.text);
    } catch (err) {
      errors.push(`${f.name}: is not JSON (${(err as Error).message})`);
      continue;
    }
    if (!envelopeOk(env)) {
      errors.push(`${f.name}: ${formatErrors(envelopeOk.errors, 'envelope').join('; ')}`);
      continue;
    }
    try {
      inner = JSON.parse(env.signed);
    } catch {
      errors.push(`${f.name}: envelope.signed: is not JSON`);
      continue;
    }
    if (!signedOk(inner)) {
      errors.push(`${f.name}: ${formatErrors(signedOk.errors, 'signed').join('; ')}`);
      continue;
    }
    const scope = parseScope(inner.scope);
    if (!scope) {
      errors.push(`${f.name}: signed.scope: "${inner.scope}" is neither "all" nor "store:{storeId}"`);
      continue;
    }
    if (scope.kind === 'all' && !target.all) {
      errors.push(`${f.name}: signed for all stores (scope "all"); publish it with --all`);
      continue;
    }
    if (scope.kind === 'store' && (target.all || !target.stores.includes(scope.storeId))) {
      errors.push(`${f.name}: signed for store ${scope.storeId} (scope "${inner.scope}"); publish it with --store ${scope.storeId}`);
      continue;
    }
    covered.add(scope.kind === 'all' ? 'all' : scope.storeId);
    const topic = scope.kind === 'all' ? topics.hqAllFeed(inner.feed) : topics.hqStoreFeed(scope.storeId, inner.feed);
    plan.push({ file: f.name, topic, feed: inner.feed, scope: inner.scope, version: inner.version, kid: env.kid, payload: f.text.trim() });
  }
  for (const s of target.stores) if (!covered.has(s) && errors.length === 0) errors.push(`--store ${s}: none of the files is signed for store:${s}`);
  return errors.length > 0 ? { ok: false, errors } : { ok: true, plan };
}

export const command: HqCommand = {
  summary: 'publish signed feeds retained (QoS 1) to all stores or to named stores',
  async run(args, io) {
    let parsed;
    try {
      parsed = parseArgs({ args, allowPositionals: true, options: { mqtt: { type: 'string' }, user: { type: 'string' }, 'password-file': { type: 'string' }, all: { type: 'boolean' }, store: { type: 'string', multiple: true } }, strict: true });
    } catch (err) {
      io.err(`publish: ${(err as Error).message}\n${USAGE}`);
      return 2;
    }
    const v = parsed.values;
    const stores = v.store ?? [];
    if (!v.mqtt || (!v.all && stores.length === 0) || (v.all && stores.length > 0) || parsed.positionals.length === 0) {
      io.err(`publish: needs --mqtt, exactly one of --all or --store, and at least one signed file\n${USAGE}`);
      return 2;
    }
    const files: { name: string; text: string }[] = [];
    for (const p of parsed.positionals) {
      try {
        files.push({ name: p, text: readFileSync(p, 'utf8') });
      } catch (err) {
        io.err(`publish: ${(err as Error).message}\n`);
        return 2;
      }
    }
    const r = planPublish(files, { all: v.all === true, stores });
    if (!r.ok) {
      io.err(r.errors.join('\n') + '\n');
      return 2;
    }
    let password: string | undefined;
    const pwFile = v['password-file'];
    if (pwFile) {
      try {
        const mode = statSync(pwFile).mode & 0o777;
        if ((mode & 0o077) !== 0) {
          io.err(`publish: --password-file: ${pwFile} is mode ${mode.toString(8).padStart(4, '0')}, must be readable by its owner only (0600)\n`);
          return 2;
        }
        password = readFileSync(pwFile, 'utf8').trim();
      } catch (err) {
        io.err(`publish: --password-file: ${(err as Error).message}\n`);
        return 2;
      }
    }
    const client = await mqtt.connectAsync(v.mqtt, { username: v.user, password, reconnectPeriod: 0, clientId: `storegw-hq-publish-${process.pid}`, connectTimeout: 10_000 });
    try {
      for (const p of r.plan) {
        // Resolves on PUBACK: the broker holds the retained copy.
        await client.publishAsync(p.topic, p.payload, { qos: 1, retain: true });
        io.out(`${p.topic} ← ${p.feed} ${p.scope} version ${p.version} (kid ${p.kid}) from ${p.file}\n`);
      }
    } finally {
      await client.endAsync();
    }
    return 0;
  },
};
