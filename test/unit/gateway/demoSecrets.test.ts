import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig, loadConfigFile, type Config } from '../../../gateway/config.js';
import { demoSecretsIn } from '../../../gateway/demoSecrets.js';
import { hashSecret } from '../../../gateway/scryptHash.js';

async function config(over: (h: (s: string) => Promise<string>) => Promise<Record<string, unknown>>): Promise<Readonly<Config>> {
  const h = (s: string) => hashSecret(s, 4);
  const r = parseConfig(stringify({ storeId: 's', data: { dir: '/tmp/x' }, ...(await over(h)) }));
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.config;
}

describe('demoSecretsIn', () => {
  it('lists every place a non-demo config accepts a published demo secret', async () => {
    const c = await config(async (h) => ({
      devices: [
        { kind: 'footfall', id: 'door-1', secretHash: await h('a-real-secret-xyz') },
        { kind: 'footfall', id: 'door-2', secretHash: await h('demo-device-secret') },
        { kind: 'scale', id: 's-1', bridge: 'kb' },
      ],
      bridges: [{ id: 'kb', secretHash: await h('demo-bridge-secret') }],
      opsUsers: [
        { username: 'admin', role: 'admin', passwordHash: await h('demo-admin') },
        { username: 'boss', role: 'admin', passwordHash: await h('correct horse battery') },
      ],
      kiosks: [{ id: 'k1', tokenHash: await h('demo-kiosk-token') }],
      serviceUsers: [{ username: 'analytics', secretHash: await h('demo-service-secret') }],
    }));
    expect(await demoSecretsIn(c)).toEqual([
      'opsUsers[0].passwordHash: accepts the published demo secret "demo-admin" (allowed only with demo: true)',
      'devices[1].secretHash: accepts the published demo secret "demo-device-secret" (allowed only with demo: true)',
      'bridges[0].secretHash: accepts the published demo secret "demo-bridge-secret" (allowed only with demo: true)',
      'kiosks[0].tokenHash: accepts the published demo secret "demo-kiosk-token" (allowed only with demo: true)',
      'serviceUsers[0].secretHash: accepts the published demo secret "demo-service-secret" (allowed only with demo: true)',
    ]);
  });

  it('a clean config lists nothing', async () => {
    const c = await config(async (h) => ({
      devices: [{ kind: 'footfall', id: 'door-1', secretHash: await h('a-real-secret-xyz') }],
      opsUsers: [{ username: 'admin', role: 'admin', passwordHash: await h('not-the-demo') }],
    }));
    expect(await demoSecretsIn(c)).toEqual([]);
  });

  it('finds the hashes of config/demo.yaml', async () => {
    const r = loadConfigFile('config/demo.yaml', {});
    if (!r.ok) throw new Error(r.errors.join('; '));
    const found = await demoSecretsIn(r.config);
    expect(found).toContain('opsUsers[0].passwordHash: accepts the published demo secret "demo-admin" (allowed only with demo: true)');
    expect(found).toContain('devices[0].secretHash: accepts the published demo secret "demo-device-secret" (allowed only with demo: true)');
    expect(found).toContain('bridges[0].secretHash: accepts the published demo secret "demo-bridge-secret" (allowed only with demo: true)');
    expect(found).toContain('kiosks[1].tokenHash: accepts the published demo secret "demo-kiosk-token" (allowed only with demo: true)');
    expect(found).toContain('serviceUsers[0].secretHash: accepts the published demo secret "demo-service-secret" (allowed only with demo: true)');
  });
});

describe('demoSecretsIn with a large store', () => {
  it('finds the demo hash copied from demo.yaml among thousands of devices, trying each distinct hash once', async () => {
    const demoHash = await hashSecret('demo-device-secret', 4);
    const ownHash = await hashSecret('a-real-secret-xyz', 4);
    const devices = Array.from({ length: 3000 }, (_, i) => ({ kind: 'rfid', id: `r${i}`, secretHash: i === 2500 ? demoHash : ownHash }));
    const c = await config(async () => ({ devices }));
    const t0 = Date.now();
    const found = await demoSecretsIn(c);
    expect(found).toEqual(['devices[2500].secretHash: accepts the published demo secret "demo-device-secret" (allowed only with demo: true)']);
    expect(Date.now() - t0).toBeLessThan(5000); // two distinct hashes, not 3,000 scrypts
  });
});
