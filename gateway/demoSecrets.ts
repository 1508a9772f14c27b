/**
 * The published demo secrets (README, config/demo.yaml). A config that is not marked `demo: true`
 * and still accepts one of them refuses to start (DESIGN, Trust).
 */
import type { Config } from './config.js';
import { verifySecret } from './scryptHash.js';

export const DEMO_SECRETS = ['demo-admin', 'demo-attendant', 'demo-viewer', 'demo-device-secret', 'demo-bridge-secret', 'demo-kiosk-token', 'demo-service-secret'] as const;

/** Lists every place a non-demo config accepts a demo secret (empty when clean). */
export async function demoSecretsIn(config: Readonly<Config>): Promise<string[]> {
  const places: [string, string][] = [
    ...config.opsUsers.map((u, i) => [`opsUsers[${i}].passwordHash`, u.passwordHash] as [string, string]),
    ...config.devices.flatMap((d, i) => (d.secretHash ? [[`devices[${i}].secretHash`, d.secretHash] as [string, string]] : [])),
    ...config.bridges.map((b, i) => [`bridges[${i}].secretHash`, b.secretHash] as [string, string]),
    ...config.kiosks.map((k, i) => [`kiosks[${i}].tokenHash`, k.tokenHash] as [string, string]),
    ...config.serviceUsers.map((u, i) => [`serviceUsers[${i}].secretHash`, u.secretHash] as [string, string]),
  ];
  const found: string[] = [];
  for (const [where, hash] of places) {
    for (const secret of DEMO_SECRETS) {
      if (await verifySecret(secret, hash)) {
        found.push(`${where}: accepts the published demo secret "${secret}" (allowed only with demo: true)`);
        break;
      }
    }
  }
  return found;
}
