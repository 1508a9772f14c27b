/**
 * The device registry and live state: every device the store knows (config + provisioned), whether
 * it is connected, when it was last heard, its birth, its last event per type and its counters.
 * On start every device is listed at once as offline with its last known history (no ghosts: the
 * broker just started, so nothing is connected; nothing missing until it happens to speak).
 */
import type { Logger } from '../log.js';
import type { Config } from '../config.js';
import { DEFAULT_STALE_AFTER_S } from '../config.js';
import { deviceUsername, isDeviceKind, type DeviceKind } from '../protocol/topics.js';
import type { BirthMsg } from '../protocol/schemas/common.js';
import { healthOf } from './health.js';
import type { DeviceStore, StateRow } from './store.js';
import type { DeviceView, RefusedDevice } from '../protocol/schemas/api/devices.js';

export interface DeviceEntry {
  kind: DeviceKind;
  id: string;
  source: 'config' | 'provisioned';
  secretHash: string | null;
  bridge: string | null;
  location: string | null;
  disabled: boolean;
  online: boolean;
  via: 'direct' | 'bridge' | null;
  connectedAt: number | null;
  lastSeen: number | null;
  birth: BirthMsg | null;
  lastEvents: Record<string, { seq: number; recvTs: number; data: unknown }>;
  events: number;
  rejects: Record<string, number>;
  lastReject: { code: string; reason: string; at: number } | null;
}

/** What the ops page sees of a device (the API's contract): the entry without its secret hash, with health. */
export type { DeviceView, RefusedDevice } from '../protocol/schemas/api/devices.js';

export class DeviceRegistry {
  private readonly devices = new Map<string, DeviceEntry>();
  private readonly refused = new Map<string, RefusedDevice>();
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private readonly listeners = new Set<(d: DeviceView) => void>();

  constructor(
    private readonly opts: {
      config: Readonly<Config>;
      store: DeviceStore;
      log: Logger;
      now: () => number;
      flushEveryMs?: number;
    },
  ) {}

  async start(): Promise<void> {
    for (const d of this.opts.config.devices) {
      this.devices.set(deviceUsername(d.kind, d.id), this.blank(d.kind, d.id, 'config', d.secretHash ?? null, d.bridge ?? null, d.location ?? null, d.disabled));
    }
    for (const p of await this.opts.store.provisioned()) this.addProvisioned(p.kind, p.id, p.secretHash, p.location, p.disabled);
    for (const s of await this.opts.store.states()) {
      const d = this.devices.get(`${s.kind}/${s.id}`);
      if (!d) continue;
      d.lastSeen = s.lastSeen;
      d.birth = s.birth as BirthMsg | null;
      d.lastEvents = s.lastEvents as DeviceEntry['lastEvents'];
      d.events = s.events;
      d.rejects = s.rejects;
    }
    this.timer = setInterval(() => void this.flush(), this.opts.flushEveryMs ?? 2000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  private blank(kind: DeviceKind, id: string, source: DeviceEntry['source'], secretHash: string | null, bridge: string | null, location: string | null, disabled: boolean): DeviceEntry {
    return { kind, id, source, secretHash, bridge, location, disabled, online: false, via: null, connectedAt: null, lastSeen: null, birth: null, lastEvents: {}, events: 0, rejects: {}, lastReject: null };
  }

  /** Adds (or refreshes the secret of) a provisioned device; config devices win over the database. */
  addProvisioned(kind: string, id: string, secretHash: string, location: string | null, disabled: boolean): DeviceEntry | null {
    if (!isDeviceKind(kind)) return null;
    const key = deviceUsername(kind, id);
    const existing = this.devices.get(key);
    if (existing) {
      if (existing.source === 'provisioned') {
        existing.secretHash = secretHash;
        existing.disabled = disabled;
      }
      return existing;
    }
    const d = this.blank(kind, id, 'provisioned', secretHash, null, location, disabled);
    this.devices.set(key, d);
    this.refused.delete(key);
    return d;
  }

  get(kind: DeviceKind, id: string): DeviceEntry | undefined {
    return this.devices.get(deviceUsername(kind, id));
  }

  byUsername(username: string): DeviceEntry | undefined {
    return this.devices.get(username);
  }

  all(): DeviceEntry[] {
    return [...this.devices.values()];
  }

  staleAfterMs(kind: DeviceKind): number {
    return (this.opts.config.health.staleAfterS[kind] ?? DEFAULT_STALE_AFTER_S[kind]) * 1000;
  }

  view(d: DeviceEntry): DeviceView {
    const { secretHash: _secret, ...rest } = d;
    return { ...rest, username: deviceUsername(d.kind, d.id), health: healthOf(d, this.staleAfterMs(d.kind), this.opts.now()) };
  }

  views(): DeviceView[] {
    return this.all().map((d) => this.view(d));
  }

  refusedDevices(): RefusedDevice[] {
    return [...this.refused.values()];
  }

  onChange(fn: (d: DeviceView) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private changed(d: DeviceEntry, persist: boolean): void {
    if (persist) this.dirty.add(deviceUsername(d.kind, d.id));
    if (this.listeners.size === 0) return;
    const v = this.view(d);
    for (const fn of this.listeners) {
      try {
        fn(v);
      } catch (err) {
        this.opts.log.error({ err }, 'device change listener failed');
      }
    }
  }

  noteRefused(username: string, address: string, reason: string): void {
    const t = this.opts.now();
    const r = this.refused.get(username);
    if (r) {
      r.attempts++;
      r.lastSeen = t;
      r.reason = reason;
      r.address = address;
      return;
    }
    if (this.refused.size >= 1000) this.refused.delete(this.refused.keys().next().value as string);
    this.refused.set(username, { username, address, reason, attempts: 1, firstSeen: t, lastSeen: t });
  }

  setOnline(d: DeviceEntry, online: boolean, via: 'direct' | 'bridge'): void {
    const t = this.opts.now();
    if (d.online === online && d.via === via) {
      if (online) d.lastSeen = t;
      return;
    }
    d.online = online;
    d.via = online ? via : null;
    d.connectedAt = online ? t : null;
    d.lastSeen = t;
    this.changed(d, true);
  }

  noteBirth(d: DeviceEntry, birth: BirthMsg): void {
    d.birth = birth;
    d.lastSeen = this.opts.now();
    this.changed(d, true);
  }

  /** Hot path: called for every accepted event (memory only; persisted by the flush timer). */
  noteEvent(d: DeviceEntry, type: string, seq: number, recvTs: number, data: unknown): void {
    d.lastSeen = recvTs;
    d.events++;
    d.lastEvents[type] = { seq, recvTs, data };
    this.dirty.add(deviceUsername(d.kind, d.id));
  }

  noteReject(d: DeviceEntry, code: string, reason: string): void {
    const t = this.opts.now();
    d.lastSeen = t;
    d.rejects[code] = (d.rejects[code] ?? 0) + 1;
    d.lastReject = { code, reason, at: t };
    this.changed(d, true);
  }

  async flush(): Promise<void> {
    if (this.dirty.size === 0) return;
    const rows: StateRow[] = [];
    for (const key of this.dirty) {
      const d = this.devices.get(key);
      if (d) rows.push({ kind: d.kind, id: d.id, lastSeen: d.lastSeen, birth: d.birth, lastEvents: d.lastEvents, events: d.events, rejects: d.rejects });
    }
    this.dirty.clear();
    try {
      await this.opts.store.saveStates(rows);
    } catch (err) {
      this.opts.log.error({ err }, 'saving device state failed');
    }
  }
}
