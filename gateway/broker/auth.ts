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
import { verifySecret } from '../scryptHash.js';
import type { Identity } from './acl.js';

export type AuthFailure = 'no_credentials' | 'unknown_user' | 'bad_credentials' | 'disabled';
export type AuthResult = { ok: true; identity: Identity } | { ok: false; result: AuthFailure; reason: string };

export class Authenticator {
  /**
   * username → the stored hash it was verified against and the SHA-256 of the secret, as a 32-char
   * latin1 string: a Buffer per device (its own ArrayBuffer and backing store) costs ~5× more
   * heap, and a store has one entry per device (issue 3).
   */
  private readonly verified = new Map<string, { hash: string; digest: string }>();
  private readonly bridgeDevices = new Map<string, Set<string>>();

  constructor(
    private readonly opts: {
      config: Readonly<Config>;
      registry: DeviceRegistry;
      store: DeviceStore;
    },
  ) {
    for (const d of opts.config.devices) {
      if (!d.bridge) continue;
      let set = this.bridgeDevices.get(d.bridge);
      if (!set) this.bridgeDevices.set(d.bridge, (set = new Set()));
      set.add(`${d.kind}/${d.id}`);
    }
  }

  private async check(username: string, password: string, storedHash: string): Promise<boolean> {
    const digest = createHash('sha256').update(password).digest();
    const memo = this.verified.get(username);
    if (memo && memo.hash === storedHash) return timingSafeEqual(Buffer.from(memo.digest, 'latin1'), digest);
    const ok = await verifySecret(password, storedHash);
    if (ok) this.verified.set(username, { hash: storedHash, digest: digest.toString('latin1') });
    return ok;
  }

  async authenticate(username: string | undefined, password: Buffer | undefined): Promise<AuthResult> {
    if (!username || !password || password.length === 0) return { ok: false, result: 'no_credentials', reason: 'username and password are required' };
    const secret = password.toString('utf8');

    if (username.startsWith('bridge/')) {
      const bridgeId = username.slice('bridge/'.length);
      const bridge = this.opts.config.bridges.find((b) => b.id === bridgeId);
      if (!bridge) return { ok: false, result: 'unknown_user', reason: `no bridge "${bridgeId}"` };
      if (!(await this.check(username, secret, bridge.secretHash))) return { ok: false, result: 'bad_credentials', reason: 'wrong secret' };
      return { ok: true, identity: { type: 'bridge', username, bridgeId, devices: this.bridgeDevices.get(bridgeId) ?? new Set() } };
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
      if (!(await this.check(username, secret, entry.secretHash))) return { ok: false, result: 'bad_credentials', reason: 'wrong secret' };
      if (entry.disabled) return { ok: false, result: 'disabled', reason: `device ${username} is disabled` };
      return { ok: true, identity: { type: 'device', username, kind: dev.kind, deviceId: dev.deviceId } };
    }

    const svc = this.opts.config.serviceUsers.find((u) => u.username === username);
    if (!svc) return { ok: false, result: 'unknown_user', reason: `unknown user "${username}"` };
    if (!(await this.check(username, secret, svc.secretHash))) return { ok: false, result: 'bad_credentials', reason: 'wrong secret' };
    return { ok: true, identity: { type: 'service', username, read: svc.read, write: svc.write } };
  }

  /**
   * A client certificate the store CA signed names its user (the TLS listener, broker.ts): the same
   * identity and the same refusals (unknown, bridged, disabled) as a password would give, without
   * the password. The TLS handshake proved possession of the certificate's key.
   */
  async authenticateCertified(username: string): Promise<AuthResult> {
    if (username.startsWith('bridge/')) {
      const bridgeId = username.slice('bridge/'.length);
      if (!this.opts.config.bridges.some((b) => b.id === bridgeId)) return { ok: false, result: 'unknown_user', reason: `no bridge "${bridgeId}"` };
      return { ok: true, identity: { type: 'bridge', username, bridgeId, devices: this.bridgeDevices.get(bridgeId) ?? new Set() } };
    }
    const dev = parseDeviceUsername(username);
    if (dev) {
      let entry = this.opts.registry.get(dev.kind, dev.deviceId);
      if (!entry) {
        const row = await this.opts.store.findProvisioned(dev.kind, dev.deviceId);
        if (row) entry = this.opts.registry.addProvisioned(row.kind, row.id, row.secretHash, row.location, row.disabled) ?? undefined;
      }
      if (!entry) return { ok: false, result: 'unknown_user', reason: `device ${username} is not provisioned` };
      if (!entry.secretHash) return { ok: false, result: 'bad_credentials', reason: `device ${username} connects through bridge ${entry.bridge}` };
      if (entry.disabled) return { ok: false, result: 'disabled', reason: `device ${username} is disabled` };
      return { ok: true, identity: { type: 'device', username, kind: dev.kind, deviceId: dev.deviceId } };
    }
    const svc = this.opts.config.serviceUsers.find((u) => u.username === username);
    if (!svc) return { ok: false, result: 'unknown_user', reason: `unknown user "${username}"` };
    return { ok: true, identity: { type: 'service', username, read: svc.read, write: svc.write } };
  }
}
