/**
 * `storegw-hq keys new|list|rotate|retire|gateway-config --dir D [--kid K]`: HQ's feed signing
 * keys (keyring.ts). A rotation, in order: `keys new --kid NEW` (pending), roll the output of
 * `keys gateway-config` out to every store, `keys rotate --kid NEW` (NEW signs, the old key is
 * retiring), and once every feed signed with the old key has been replaced, `keys retire --kid OLD`
 * and roll the config out again.
 */
import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import type { HqCommand } from '../main.js';
import { DirLockError, withDirLock } from './dirLock.js';
import { KeyringError, loadKeyring, newKey, privateKeyPath, publicKeyPath, retire, rotate, storePublicKeys } from './keyring.js';

const USAGE = 'usage: storegw-hq keys new|rotate|retire --dir DIR --kid KID\n       storegw-hq keys list|gateway-config --dir DIR\n';

/** The gateway config's `hq.publicKeys` (gateway/config.ts) for every key a store must accept now. */
export function gatewayConfigSnippet(dir: string): string {
  return '# under the gateway config\'s "hq:" section\n' + stringify({ publicKeys: storePublicKeys(dir) }, { lineWidth: 0 });
}

export const command: HqCommand = {
  summary: 'HQ feed signing keys: new, list, rotate, retire, gateway-config',
  async run(args, io) {
    const [sub, ...rest] = args;
    let v: { dir?: string; kid?: string };
    try {
      v = parseArgs({ args: rest, options: { dir: { type: 'string' }, kid: { type: 'string' } }, strict: true }).values;
    } catch (err) {
      io.err(`keys: ${(err as Error).message}\n${USAGE}`);
      return 2;
    }
    if (!v.dir) {
      io.err(`keys: --dir is required\n${USAGE}`);
      return 2;
    }
    const dir = v.dir;
    const needKid = (): string => {
      if (!v.kid) throw new KeyringError(`--kid is required for keys ${sub}`);
      return v.kid;
    };
    // keyring.json is read, changed and rewritten: one writer at a time (dirLock.ts).
    const note = (m: string): void => io.err(`keys: ${m}\n`);
    try {
      const now = new Date();
      switch (sub) {
        case 'new': {
          const kid = needKid();
          mkdirSync(dir, { recursive: true, mode: 0o700 });
          const e = await withDirLock(dir, () => newKey(dir, kid, now), { note });
          io.out(`${e.kid}: ${e.status}\n  private ${privateKeyPath(dir, kid)} (0600, keep it at HQ)\n  public  ${publicKeyPath(dir, kid)}\n`);
          if (e.status === 'pending') io.out(`roll "storegw-hq keys gateway-config --dir ${dir}" out to the stores, then "keys rotate --kid ${kid}"\n`);
          return 0;
        }
        case 'list': {
          for (const k of loadKeyring(dir).keys) io.out(`${k.kid.padEnd(24)} ${k.status.padEnd(9)} created ${k.createdAt}${k.notBefore ? ` notBefore ${k.notBefore}` : ''}${k.notAfter ? ` notAfter ${k.notAfter}` : ''}\n`);
          return 0;
        }
        case 'rotate': {
          const kid = needKid();
          const r = await withDirLock(dir, () => rotate(dir, kid, now), { note });
          io.out(`${r.active.kid}: active${r.retiring ? `; ${r.retiring.kid}: retiring` : ''}\n`);
          io.out(gatewayConfigSnippet(dir));
          return 0;
        }
        case 'retire': {
          const kid = needKid();
          const e = await withDirLock(dir, () => retire(dir, kid, now), { note });
          io.out(`${e.kid}: retired; the stores' config without it:\n`);
          io.out(gatewayConfigSnippet(dir));
          return 0;
        }
        case 'gateway-config':
          io.out(gatewayConfigSnippet(dir));
          return 0;
        default:
          io.err(`keys: unknown subcommand "${sub ?? ''}"\n${USAGE}`);
          return 2;
      }
    } catch (err) {
      if (err instanceof KeyringError || err instanceof DirLockError) {
        io.err(`keys ${sub}: ${err.message}\n`);
        return 2;
      }
      throw err;
    }
  },
};
