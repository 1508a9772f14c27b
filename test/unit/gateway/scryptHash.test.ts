import { describe, expect, it } from 'vitest';
import { DEVICE_SECRET_COST, HASH_PATTERN, hashSecret, newDeviceSecret, verifySecret } from '../../../gateway/scryptHash.js';

describe('scrypt hashes', () => {
  it('hash then verify: the right secret passes, a wrong one fails', async () => {
    const h = await hashSecret('s3cret', 4);
    expect(h).toMatch(new RegExp(HASH_PATTERN));
    expect(h.startsWith('scrypt$4$8$1$')).toBe(true);
    expect(await verifySecret('s3cret', h)).toBe(true);
    expect(await verifySecret('s3cret ', h)).toBe(false);
    expect(await verifySecret('', h)).toBe(false);
  });

  it('salts: the same secret hashes differently each time, both verify', async () => {
    const [a, b] = await Promise.all([hashSecret('same', 4), hashSecret('same', 4)]);
    expect(a).not.toBe(b);
    expect(await verifySecret('same', a)).toBe(true);
    expect(await verifySecret('same', b)).toBe(true);
  });

  it('never stores the secret in clear', async () => {
    const secret = newDeviceSecret();
    const h = await hashSecret(secret, DEVICE_SECRET_COST);
    expect(h).not.toContain(secret);
    expect(h.startsWith(`scrypt$${DEVICE_SECRET_COST}$`)).toBe(true);
  });

  it('verifies the published demo hash of config/demo.yaml', async () => {
    expect(await verifySecret('demo-device-secret', 'scrypt$10$8$1$SZh1sId7N5TCMmt0bMGgkw==$sufVcQ9x0ZRTR4/6qYcnAL5D5uDm9UqqZ5BEPPAKax0=')).toBe(true);
  });

  it('a malformed hash is false, never a throw', async () => {
    const good = await hashSecret('x', 4);
    const parts = good.split('$');
    const malformed = [
      '',
      'plain-text-password',
      'x',
      'bcrypt$4$8$1$aaaa$bbbb',
      parts.slice(0, 5).join('$'), // one part missing
      [...parts, 'extra'].join('$'),
      ['scrypt', 'NaN', ...parts.slice(2)].join('$'),
      ['scrypt', '0', ...parts.slice(2)].join('$'),
      ['scrypt', '99', ...parts.slice(2)].join('$'), // absurd cost: refused before any work
      ['scrypt', '4.5', ...parts.slice(2)].join('$'),
      ['scrypt', '4', '8', '-1', parts[4], parts[5]].join('$'),
      ['scrypt', '4', '8', '1', parts[4], 'c2hvcnQ='].join('$'), // derived key of the wrong length
      ['scrypt', '4', '8', '1', parts[4], '!!!not base64!!!'].join('$'),
    ];
    for (const m of malformed) {
      await expect(verifySecret('x', m), m).resolves.toBe(false);
    }
  });

  it('r = 0 or p = 0 is malformed, not a silent alias of the defaults r = 8, p = 1', async () => {
    // node:crypto treats r: 0 and p: 0 as "not given" and uses r = 8, p = 1, so without a range
    // check these strings verify like the real hash even though no scrypt has r or p of 0.
    const h = await hashSecret('x', 4);
    const [, , , , salt, key] = h.split('$');
    expect(await verifySecret('x', ['scrypt', '4', '0', '1', salt, key].join('$'))).toBe(false);
    expect(await verifySecret('x', ['scrypt', '4', '8', '0', salt, key].join('$'))).toBe(false);
  });

  it('device secrets are long, url-safe and different each time', () => {
    const a = newDeviceSecret();
    const b = newDeviceSecret();
    expect(a).toMatch(/^[A-Za-z0-9_-]{32}$/); // 24 random bytes
    expect(a).not.toBe(b);
  });
});
