/**
 * Who is connecting: resolves an MQTT username/password to an Identity (acl.ts) against scrypt
 * hashes, in constant time. A verified secret is remembered as a SHA-256 digest keyed by the stored
 * hash, so a reconnect storm costs a hash, not a scrypt; rotating the hash drops the memory.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.js';
import type { DeviceRegistry } from '../devices/registry.js';
import type { DeviceStore } from '../devices/store.js';
import { parseDeviceUsername } from '../protocol/topics.js';
import { DEVICE_SECRET_COST, hashCost, verifySecret } from '../scryptHash.js';
import type { HashGate } from '../http/hashGate.js';
import type { Identity } from './acl.js';

export type AuthFailure = 'no_credentials' | 'unknown_user' | 'bad_credentials' | 'disabled' | 'busy';
export type AuthResult = { ok: true; identity: Identity } | { ok: false; result: AuthFailure; reason: string };

/** A failed secret check as an AuthResult: a wrong secret, or no slot to check a costly one now. */
function refusal(checked: 'bad' | 'busy'): AuthResult {
  return checked === 'busy' ? { ok: false, result: 'busy', reason: 'too many password checks at once; try again' } : { ok: false, result: 'bad_credentials', reason: 'wrong secret' };
}

export class Authenticator {
  /**
   * username → the stored hash it was verified against and the SHA-256 of the secret, as a 32-char
   * latin1 string: a Buffer per device (its own ArrayBuffer and backing store) costs ~5× more
   * heap, and a store has one entry per device.
   */
  private readonly verified = new Map<string, { hash: string; digest: string }>();
  private readonly bridgeDevices = new Map<string, Set<string>>();

  constructor(
    private readonly opts: {
      config: Readonly<Config>;
      registry: DeviceRegistry;
      store: DeviceStore;
      /**
       * The people's hash gate: a stored hash costlier than a device secret's (a service user or
       * bridge hashed with `storegw hash`, 2^15) is checked through it, so a burst of wrong
       * CONNECTs cannot fill the libuv pool that gzip and file I/O need.
       */
      gate?: HashGate;
    },
  ) {
    for (const d of opts.config.devices) {
      if (!d.bridge) continue;
      let set = this.bridgeDevices.get(d.bridge);
      if (!set) this.bridgeDevices.set(d.bridge, (set = new Set()));
      set.add(`${d.kind}/${d.id}`);
    }
  }

  private async check(username: string, password: string, storedHash: string): Promise<'ok' | 'bad' | 'busy'> {
    const digest = createHash('sha256').update(password).digest();
    const memo = this.verified.get(username);
    if (memo && memo.hash === storedHash) return timingSafeEqual(Buffer.from(memo.digest, 'latin1'), digest) ? 'ok' : 'bad';
    let ok: boolean;
    if (this.opts.gate && hashCost(storedHash) > DEVICE_SECRET_COST + 2) {
      const r = await this.opts.gate.run(() => verifySecret(password, storedHash));
      if (r.busy) return 'busy';
      ok = r.value;
    } else {
      ok = await verifySecret(password, storedHash);
    }
    if (ok) this.verified.set(username, { hash: storedHash, digest: digest.toString('latin1') });
    return ok ? 'ok' : 'bad';
  }

  async authenticate(username: string | undefined, password: Buffer | undefined): Promise<AuthResult> {
    if (!username || !password || password.length === 0) return { ok: false, result: 'no_credentials', reason: 'username and password are required' };
    const found = await this.lookup(username);
    if (!found.ok) return found;
    const checked = await this.check(username, password.toString('utf8'), found.secretHash);
    if (checked !== 'ok') return refusal(checked);
    // Said only to whoever holds the secret: a guesser cannot tell a disabled device from a wrong secret.
    if (found.disabled) return { ok: false, result: 'disabled', reason: `device ${username} is disabled` };
    return { ok: true, identity: found.identity };
  }

  /**
   * A client certificate the store CA signed names its user (the TLS listener, broker.ts): the same
   * identity and the same refusals (unknown, bridged, disabled) as a password would give, without
   * the password. The TLS handshake proved possession of the certificate's key.
   */
  async authenticateCertified(username: string): Promise<AuthResult> {
    const found = await this.lookup(username);
    if (!found.ok) return found;
    if (found.disabled) return { ok: false, result: 'disabled', reason: `device ${username} is disabled` };
    return { ok: true, identity: found.identity };
  }

  /** Who `username` is (bridge, device, service user), the hash its secret is checked against, or why nobody. */
  private async lookup(username: string): Promise<{ ok: true; identity: Identity; secretHash: string; disabled: boolean } | (AuthResult & { ok: false })> {
    if (username.startsWith('bridge/')) {
      const bridgeId = username.slice('bridge/'.length);
      const bridge = this.opts.config.bridges.find((b) => b.id === bridgeId);
      if (!bridge) return { ok: false, result: 'unknown_user', reason: `no bridge "${bridgeId}"` };
      return { ok: true, identity: { type: 'bridge', username, bridgeId, devices: this.bridgeDevices.get(bridgeId) ?? new Set() }, secretHash: bridge.secretHash, disabled: false };
    }
    const dev = parseDeviceUsername(username);
    if (dev) {
      let entry = this.opts.registry.get(dev.kind, dev.deviceId);
      if (!entry) {
        // Provisioned by `storegw device add` while we run: the database is the source of truth.
        const row = await this.opts.store.findProvisioned(dev.kind, dev.deviceId);
        if (row) entry = this.opts.registry.addProvisioned(row.kind, row.id, row.secretHash, row.location, row.disabled) ?? undefined;
      }
      if (!entry) return { ok: false, result: 'unknown_user', reason: `device ${username} is not provisioned` };
      if (!entry.secretHash) return { ok: false, result: 'bad_credentials', reason: `device ${username} connects through bridge ${entry.bridge}` };
      return { ok: true, identity: { type: 'device', username, kind: dev.kind, deviceId: dev.deviceId }, secretHash: entry.secretHash, disabled: entry.disabled };
    }
    const svc = this.opts.config.serviceUsers.find((u) => u.username === username);
    if (!svc) return { ok: false, result: 'unknown_user', reason: `unknown user "${username}"` };
    return { ok: true, identity: { type: 'service', username, read: svc.read, write: svc.write }, secretHash: svc.secretHash, disabled: false };
  }
}
