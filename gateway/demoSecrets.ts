/**
 * The published demo material (README, config/demo.yaml, config/demo-hq-signing-key.pem). A config
 * that is not marked `demo: true` and still holds any of it refuses to start (gateway/README.md §Trust): a
 * demo secret or kiosk token anyone can read in the repository, or the demo HQ public key, whose
 * private key is published too (anyone could sign prices, members and orders for that store).
 */
import { createPublicKey } from 'node:crypto';
import type { Config } from './config.js';
import { verifySecret } from './scryptHash.js';

export const DEMO_SECRETS = ['demo-admin', 'demo-attendant', 'demo-viewer', 'demo-device-secret', 'demo-bridge-secret', 'demo-kiosk-token', 'demo-service-secret'] as const;

/**
 * The hashes config/demo.yaml publishes, by the secret they hold. A copied hash is found by string
 * compare, with no scrypt, so every entry of a large store is checked at no start-up cost.
 */
const DEMO_HASHES: ReadonlyMap<string, (typeof DEMO_SECRETS)[number]> = new Map([
  ['scrypt$10$8$1$SZh1sId7N5TCMmt0bMGgkw==$sufVcQ9x0ZRTR4/6qYcnAL5D5uDm9UqqZ5BEPPAKax0=', 'demo-device-secret'],
  ['scrypt$10$8$1$vsvfRE9wUkuEyR7dzqaQnw==$iFkyxocJHOskFcDLMV94Br1fum4O1drV0vRpRkWzMrw=', 'demo-bridge-secret'],
  ['scrypt$10$8$1$eQoQ+H1o9+HqsruRrheiig==$xDTPvb1OImdBsPZwyRsDRmvRo65IvfBuJpJlSgB/UlY=', 'demo-service-secret'],
  ['scrypt$10$8$1$L/DlJ4mfy4A0ebTnNWXm+w==$nDbiUdog8mYVk+LdEbD+ypzYIgiytRusKJHMBnnJ5jI=', 'demo-kiosk-token'],
  ['scrypt$15$8$1$UV/uRbCSjHooGaLmUiYytw==$Fm7F/qods9XiezNX3hsqjRcJXKDCXgh+qC/bdZWZlw0=', 'demo-admin'],
  ['scrypt$15$8$1$rb6Im9DOCgCrnnhVrFGoDg==$p+G3aY4hH0y6Tq7uJKzg3OSe2R787qCT/JFejAkOCZI=', 'demo-attendant'],
  ['scrypt$15$8$1$3TB7Ivkl58ha9WnoL9Xivg==$o3q5bIQ/30ElKAQSpjocOZmRsjZVdz9mchUt++T7u98=', 'demo-viewer'],
]);

/**
 * SPKI DER (base64) of every HQ public key whose private key the repository publishes: the demo HQ
 * simulator's config/demo-hq-signing-key.pem. Compared as key material, so another kid, other line
 * breaks or another PEM wrapping of the same key are found too.
 */
export const DEMO_HQ_PUBLIC_KEYS: readonly string[] = ['MCowBQYDK2VwAyEAvgwd1WSPE5Iew76PxvGIEXSSSE74ayMfBfVh8tpFTpI='];

const refusal = (what: string) => `${what} (allowed only with demo: true)`;

/** The key material of a PEM as base64 SPKI DER; the bare base64 body when Node cannot parse it. */
function keyMaterial(pem: string): string {
  try {
    return createPublicKey(pem).export({ type: 'spki', format: 'der' }).toString('base64');
  } catch {
    return pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  }
}

/** Every `hq.publicKeys[i].pem` that is a published demo key (pure, no scrypt). */
export function demoKeysIn(config: Readonly<Config>): string[] {
  const demo = new Set(DEMO_HQ_PUBLIC_KEYS);
  return (config.hq?.publicKeys ?? []).flatMap((k, i) =>
    demo.has(keyMaterial(k.pem)) ? [`hq.publicKeys[${i}].pem: is the published demo HQ public key (kid "${k.kid}"; its private key is in the repository) — ${refusal('use your HQ\'s own key')}`] : [],
  );
}

/** At most this many scrypt verifications at once at start-up: a password hash (N=2^15) is 32 MiB and a core. */
const PARALLEL = 2;

/** A gate that lets `n` tasks run at once (start-up only; no dependency for ten lines). */
function gate(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (running >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await task();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

/**
 * Lists every place a non-demo config holds demo material (empty when clean), in config order.
 * Hashes copied from the demo are found by string compare. People, bridges, kiosks and service
 * users are few: each other hash is tried against every demo secret, `PARALLEL` scrypts at a time
 * (three ops users are 21 password-cost scrypts: seconds one by one on a small box). A store may
 * list thousands of devices, and a scrypt per device per demo secret would take minutes at
 * start-up, so other device hashes are tried against the demo device secret only, once per
 * distinct hash string, and at most `maxDeviceChecks` of them.
 */
export async function demoSecretsIn(config: Readonly<Config>, maxDeviceChecks = 64): Promise<string[]> {
  const limit = gate(PARALLEL);
  const published = (where: string, secret: string) => `${where}: accepts the published demo secret "${secret}" (allowed only with demo: true)`;
  /** The demo secret `hash` accepts, of `secrets`, or null. */
  const demoSecretOf = async (hash: string, secrets: readonly string[]): Promise<string | null> => {
    const copied = DEMO_HASHES.get(hash);
    if (copied) return copied;
    for (const secret of secrets) if (await limit(() => verifySecret(secret, hash))) return secret;
    return null;
  };

  const deviceVerdicts = new Map<string, Promise<string | null>>();
  let deviceScrypts = 0;
  const devices = config.devices.map((d, i): [string, Promise<string | null>] | null => {
    if (!d.secretHash) return null;
    let verdict = deviceVerdicts.get(d.secretHash);
    if (!verdict) {
      if (!DEMO_HASHES.has(d.secretHash) && deviceScrypts++ >= maxDeviceChecks) return null;
      verdict = demoSecretOf(d.secretHash, ['demo-device-secret']);
      deviceVerdicts.set(d.secretHash, verdict);
    }
    return [`devices[${i}].secretHash`, verdict];
  });
  const check = (where: string, hash: string): [string, Promise<string | null>] => [where, demoSecretOf(hash, DEMO_SECRETS)];
  // Every check starts now (the gate bounds the scrypts); findings are read back in config order.
  const places: ([string, Promise<string | null>] | null)[] = [
    ...config.opsUsers.map((u, i) => check(`opsUsers[${i}].passwordHash`, u.passwordHash)),
    ...devices,
    ...config.bridges.map((b, i) => check(`bridges[${i}].secretHash`, b.secretHash)),
    ...config.kiosks.map((k, i) => check(`kiosks[${i}].tokenHash`, k.tokenHash)),
    ...config.serviceUsers.map((u, i) => check(`serviceUsers[${i}].secretHash`, u.secretHash)),
  ];
  const found: string[] = [...demoKeysIn(config)];
  for (const place of places) {
    if (!place) continue;
    const secret = await place[1];
    if (secret) found.push(published(place[0], secret));
  }
  return found;
}
