/**
 * The demo HQ key in disguise, seeded: any kid, any PEM line width, CRLF, padding whitespace, the
 * private key PEM itself, or bare base64. A real in-process Gateway refuses each before it touches
 * the disk, naming `hq.publicKeys[i].pem`; a config with only other keys is never refused for them.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { parseConfig } from '../../gateway/config.js';
import { createLogger } from '../../gateway/log.js';
import { Gateway } from '../../gateway/gateway.js';
import { demoKeysIn } from '../../gateway/demoSecrets.js';
import { tempDir } from '../helpers/tmp.js';

const SEED = 1305;
const tmp = tempDir('sgw-hostile-demo-');
afterAll(() => tmp.remove());
const tried = { disguisedDemoKeys: 0, otherKeys: 0 };
afterAll(() => console.log(`hostile demo material: cases tried ${JSON.stringify(tried)}`));

const demoPrivatePem = readFileSync('config/demo-hq-signing-key.pem', 'utf8');
const demoDer = createPublicKey(createPrivateKey(demoPrivatePem)).export({ type: 'spki', format: 'der' });

/** A PEM of `der` under `label`, wrapped at `width`, lines ended by `eol`, padded by `pad`. */
function pem(der: Buffer, label: string, width: number, eol: string, pad: string): string {
  const b64 = der.toString('base64');
  const lines = b64.match(new RegExp(`.{1,${width}}`, 'g'))!;
  return `${pad}-----BEGIN ${label}-----${eol}${lines.join(eol)}${eol}-----END ${label}-----${pad}`;
}

const disguise = fc.oneof(
  fc.record({ width: fc.integer({ min: 4, max: 120 }), eol: fc.constantFrom('\n', '\r\n'), pad: fc.constantFrom('', ' ', '\n', '\t\n ') }).map(({ width, eol, pad }) => pem(demoDer, 'PUBLIC KEY', width, eol, pad)),
  fc.constantFrom(demoPrivatePem, demoPrivatePem.trim(), demoDer.toString('base64'), demoDer.toString('base64').replace(/(.{10})/g, '$1\n')),
);
const otherKey = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((seed) =>
  createPublicKey(createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seed)]), format: 'der', type: 'pkcs8' })).export({ type: 'spki', format: 'pem' }).toString(),
);
const kid = fc.string({ minLength: 1, maxLength: 40 });

function configOf(keys: { kid: string; pem: string }[], dataDir: string) {
  const res = parseConfig(stringify({ storeId: 's', data: { dir: dataDir }, mqtt: { port: 0 }, http: { port: 0 }, hq: { url: 'mqtt://127.0.0.1:1', publicKeys: keys } }));
  if (!res.ok) throw new Error(res.errors.join('; '));
  return res.config;
}

const silent = createLogger({ level: 'silent', stream: new Writable({ write: (_c, _e, cb) => cb() }) });

describe('demo HQ key, disguised', () => {
  it('is refused by the gateway wherever it sits among other keys, before anything is written', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(kid, otherKey), { maxLength: 3 }), fc.nat({ max: 3 }), kid, disguise, async (others, at, demoKid, demoPem) => {
        tried.disguisedDemoKeys++;
        const keys = others.map(([k, p]) => ({ kid: k, pem: p }));
        const i = Math.min(at, keys.length);
        keys.splice(i, 0, { kid: demoKid, pem: demoPem });
        const dataDir = path.join(tmp.dir, `d${n++}`);
        const gw = new Gateway({ config: configOf(keys, dataDir), log: silent });
        await expect(gw.start()).rejects.toThrow(`hq.publicKeys[${i}].pem: is the published demo HQ public key`);
        await gw.stop();
        expect(existsSync(dataDir)).toBe(false);
      }),
      { seed: SEED, numRuns: 300 },
    );
  }, 60_000);

  it('never mistakes another key for it', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(kid, otherKey), { minLength: 1, maxLength: 4 }), (others) => {
        tried.otherKeys++;
        expect(demoKeysIn(configOf(others.map(([k, p]) => ({ kid: k, pem: p })), path.join(tmp.dir, 'unused')))).toEqual([]);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});
