/**
 * The published demo secrets (README, config/demo.yaml). A config that is not marked `demo: true`
 * and still accepts one of them refuses to start (DESIGN, Trust).
 */
import type { Config } from './config.js';
import { verifySecret } from './scryptHash.js';

export const DEMO_SECRETS = ['demo-admin', 'demo-attendant', 'demo-viewer', 'demo-device-secret', 'demo-bridge-secret', 'demo-kiosk-token', 'demo-service-secret'] as const;

/**
 * Lists every place a non-demo config accepts a demo secret (empty when clean). People, bridges,
 * kiosks and service users are few: each hash is tried against every demo secret. A store may list
 * thousands of devices, and a scrypt per device per demo secret would take minutes at start-up, so
 * device hashes are tried against the demo device secret only, once per distinct hash string, and
 * at most `maxDeviceChecks` of them (the demo's hashes are copied as they are, so the first copies show).
 */
export async function demoSecretsIn(config: Readonly<Config>, maxDeviceChecks = 64): Promise<string[]> {
  const deviceFound: string[] = [];
  const seenDeviceHashes = new Map<string, boolean>();
  for (const [i, d] of config.devices.entries()) {
    if (!d.secretHash) continue;
    let demo = seenDeviceHashes.get(d.secretHash);
    if (demo === undefined) {
      if (seenDeviceHashes.size >= maxDeviceChecks) continue;
      demo = await verifySecret('demo-device-secret', d.secretHash);
      seenDeviceHashes.set(d.secretHash, demo);
    }
    if (demo) deviceFound.push(`devices[${i}].secretHash: accepts the published demo secret "demo-device-secret" (allowed only with demo: true)`);
  }
  const found: string[] = [];
  const check = async (where: string, hash: string) => {
    for (const secret of DEMO_SECRETS) {
      if (await verifySecret(secret, hash)) {
        found.push(`${where}: accepts the published demo secret "${secret}" (allowed only with demo: true)`);
        return;
      }
    }
  };
  for (const [i, u] of config.opsUsers.entries()) await check(`opsUsers[${i}].passwordHash`, u.passwordHash);
  found.push(...deviceFound);
  const places: [string, string][] = [
    ...config.bridges.map((b, i) => [`bridges[${i}].secretHash`, b.secretHash] as [string, string]),
    ...config.kiosks.map((k, i) => [`kiosks[${i}].tokenHash`, k.tokenHash] as [string, string]),
    ...config.serviceUsers.map((u, i) => [`serviceUsers[${i}].secretHash`, u.secretHash] as [string, string]),
  ];
  for (const [where, hash] of places) await check(where, hash);
  return found;
}
