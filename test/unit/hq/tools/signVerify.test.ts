/**
 * What `storegw-hq sign` produces is what the gateway's own feed check accepts: every example CSV
 * in hq/examples, signed with the keyring's active key, passes createFeedVerifier with the feed
 * body schemas; and across a key rotation a store holding both public keys accepts feeds of both
 * kids, while a store whose config dropped the old key accepts only the new one.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { parse } from 'yaml';
import { tempDir } from '../../../helpers/tmp.js';
import { createFeedVerifier } from '../../../../gateway/protocol/feedVerify.js';
import { STORE_FEEDS, type StoreFeedName } from '../../../../gateway/protocol/schemas/feeds/index.js';
import { csvToBody } from '../../../../hq/tools/feedCsv.js';
import { activeSigningKey, loadKeyring, newKey, retire, rotate } from '../../../../hq/tools/keyring.js';
import { nextVersion } from '../../../../hq/tools/feedVersions.js';
import { signFeed } from '../../../../hq/tools/signFeed.js';
import { gatewayConfigSnippet } from '../../../../hq/tools/keysCommand.js';

const tmp = tempDir('hq-sign-');
afterAll(() => tmp.remove());
const STORE = 's1';
const bodySchemas = Object.fromEntries(Object.entries(STORE_FEEDS).map(([f, s]) => [f, s.body]));

/** The stores' `hq.publicKeys` as `keys gateway-config` prints it, parsed back. */
function storeKeys(dir: string): Record<string, string> {
  const cfg = parse(gatewayConfigSnippet(dir)) as { publicKeys: { kid: string; pem: string }[] };
  return Object.fromEntries(cfg.publicKeys.map((k) => [k.kid, k.pem]));
}

function signExample(dir: string, feed: StoreFeedName): { payload: string; scope: string } {
  const r = csvToBody(readFileSync(`hq/examples/${feed}.csv`, 'utf8'), { feed, file: `${feed}.csv`, mode: 'snapshot', currency: 'EUR' });
  if (!r.ok) throw new Error(r.errors.join('\n'));
  const scope = (STORE_FEEDS[feed].scopes as readonly string[]).includes('all') ? 'all' : `store:${STORE}`;
  const key = activeSigningKey(dir);
  const version = nextVersion(dir, feed, scope, Date.now());
  return { scope, payload: signFeed({ feed, scope, version, issuedAt: new Date().toISOString(), body: r.body, kid: key.kid, privateKey: key.privateKey }) };
}

describe('sign → feedVerify', () => {
  const dir = `${tmp.dir}/keys`;

  it('every feed the gateway takes: the example signed with the active key verifies with the body schema', () => {
    mkdirSync(dir);
    newKey(dir, 'hq-2026', new Date());
    const verify = createFeedVerifier({ storeId: STORE, keys: storeKeys(dir), bodySchemas });
    for (const feed of Object.keys(STORE_FEEDS) as StoreFeedName[]) {
      const { payload, scope } = signExample(dir, feed);
      const r = verify(payload, { feed, topicScope: scope === 'all' ? 'all' : 'store', lastVersion: undefined });
      expect(r.ok ? `${feed} ok` : `${feed}: ${r.code} ${r.reason}`).toBe(`${feed} ok`);
    }
  });

  it('rotation: both kids verify while the store holds both keys; after the old key is dropped only the new one does', () => {
    const before = signExample(dir, 'prices');
    expect(JSON.parse(before.payload).kid).toBe('hq-2026');
    rotate(dir, 'hq-2027', new Date());
    expect(loadKeyring(dir).keys.map((k) => `${k.kid}:${k.status}`)).toEqual(['hq-2026:retiring', 'hq-2027:active']);
    const after = signExample(dir, 'prices');
    expect(JSON.parse(after.payload).kid).toBe('hq-2027');
    // Versions go on increasing across the rotation.
    expect(JSON.parse(JSON.parse(after.payload).signed).version).toBeGreaterThan(JSON.parse(JSON.parse(before.payload).signed).version);

    const during = createFeedVerifier({ storeId: STORE, keys: storeKeys(dir), bodySchemas });
    expect(Object.keys(storeKeys(dir))).toEqual(['hq-2026', 'hq-2027']);
    expect(during(before.payload, { feed: 'prices', topicScope: 'all', lastVersion: undefined }).ok).toBe(true);
    expect(during(after.payload, { feed: 'prices', topicScope: 'all', lastVersion: undefined }).ok).toBe(true);

    retire(dir, 'hq-2026', new Date());
    expect(Object.keys(storeKeys(dir))).toEqual(['hq-2027']);
    const later = createFeedVerifier({ storeId: STORE, keys: storeKeys(dir), bodySchemas });
    const old = later(before.payload, { feed: 'prices', topicScope: 'all', lastVersion: undefined });
    expect(old.ok ? 'accepted' : old.code).toBe('SGW_ERR_FEED_UNKNOWN_KID');
    expect(later(after.payload, { feed: 'prices', topicScope: 'all', lastVersion: undefined }).ok).toBe(true);
  });

  it('refuses to overwrite a key, to retire the active key, and to bring back a retired one', () => {
    expect(() => newKey(dir, 'hq-2027', new Date())).toThrow(/already in/);
    expect(() => retire(dir, 'hq-2027', new Date())).toThrow(/is the active key/);
    expect(() => rotate(dir, 'hq-2026', new Date())).toThrow(/retired/);
    const mode = statSync(`${dir}/hq-2027.key.pem`).mode & 0o777;
    expect(mode).toBe(0o600);
  });
});
