/**
 * The command store's I/O shell (gateway/README.md §Commands to devices: every command carries a cmdId, is QoS 1, is
 * recorded in SQLite until acked, and is re-sent when the device reconnects; aedes keeps its
 * sessions in memory, so they are not relied on). Decisions live in commandPolicy.ts.
 *
 * A command is validated against the device catalogue, written (FULL sync) and only then
 * published; `evt/ack` settles it; a reconnect re-sends the device's pending commands in the order
 * they were asked for; a retry round re-sends unacked ones and gives up after max attempts or TTL.
 * Work for one device runs one step at a time, so its commands go out in order.
 * ESL `show` is not here: the price fan-out tracks its (high-volume) label commands itself.
 */
import { randomUUID } from 'node:crypto';
import type { ValidateFunction } from 'ajv';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { NewEvent } from '../outbox/store.js';
import { SgwError } from '../errors.js';
import { CATALOGUE } from '../protocol/schemas/index.js';
import { compile, formatErrors } from '../protocol/validate.js';
import { deviceUsername, topics, type DeviceKind } from '../protocol/topics.js';
import type { DeviceEntry, DeviceView } from './registry.js';
import { CommandStore, type CommandRow } from './commandStore.js';
import { TTL_BOUNDS, commandTtlMs, decide, supersedes, type RetryRules } from './commandPolicy.js';

/** The registry as the command service uses it (tests pass a small fake). */
export interface CommandRegistry {
  get(kind: DeviceKind, id: string): DeviceEntry | undefined;
  views(): DeviceView[];
  onChange(fn: (d: DeviceView) => void): () => void;
}

export interface CommandServiceOptions {
  /** commands.db in the data folder. */
  file: string;
  registry: CommandRegistry;
  publish: (topic: string, payload: string, qos: 0 | 1) => Promise<void>;
  metrics: Metrics;
  log: Logger;
  now: () => number;
  /** An online device that has not acked within this is sent the command again (default 15 s). */
  ackTimeoutMs?: number;
  /** Sends without an ack before the command fails (default 5). */
  maxAttempts?: number;
  /** How often the retry round runs (default 5 s; 0 = never, tests call `tick()`). */
  retryEveryMs?: number;
  /** How long to wait for a reconnected device to show it listens before re-sending anyway (default 1 s). */
  listenGraceMs?: number;
  /** Finished commands are kept this long (default 7 days) … */
  keepMs?: number;
  /** … and at most this many per device (default 200). */
  keepPerDevice?: number;
}

export interface SendOptions {
  /** Who asked: `kiosk:<id>`, `ops:<username>`… (shown to ops, logged). */
  source: string;
  ttlMs?: number;
  /**
   * The caller's own id for the command: a command stored with it already is not sent again (a
   * caller repeating a step after a crash sends its command at most once). Default: a fresh UUID.
   */
  cmdId?: string;
}

export type CommandView = CommandRow;

export class CommandService {
  private readonly store: CommandStore;
  private readonly log: Logger;
  private readonly rules: RetryRules;
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly online = new Map<string, boolean>();
  /**
   * Devices that may have pending commands (a superset: cleared when a re-send finds none). A device
   * not in it costs nothing when it connects — no timer, no query — which matters in a connect storm.
   */
  private readonly withPending = new Set<string>();
  /** Devices that connected directly and have not yet shown they listen (see onDevice). */
  private readonly awaiting = new Map<string, { birth: unknown; timer: NodeJS.Timeout | null }>();
  private readonly work = new Set<Promise<unknown>>();
  /** Callers waiting for a command's answer (`answer`) and their timeouts: checked on every ack and retry round. */
  private readonly answerChecks = new Map<(last: boolean) => Promise<void>, NodeJS.Timeout>();
  private unsubscribe: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastPrune = 0;

  constructor(private readonly o: CommandServiceOptions) {
    this.store = new CommandStore(o.file);
    this.log = o.log.child({ module: 'commands' });
    this.rules = { ackTimeoutMs: o.ackTimeoutMs ?? 15_000, maxAttempts: o.maxAttempts ?? 5 };
  }

  async start(): Promise<void> {
    await this.store.start();
    await this.prune();
    const pending = await this.store.pending();
    for (const c of pending) this.withPending.add(deviceUsername(c.kind, c.deviceId));
    this.unsubscribe = this.o.registry.onChange((d) => this.onDevice(d));
    // Devices that connected between the broker's start and ours count as reconnects too.
    for (const v of this.o.registry.views()) if (v.online) this.onDevice(v);
    const every = this.o.retryEveryMs ?? 5000;
    if (every > 0) {
      this.timer = setInterval(() => void this.track(this.tick()), every);
      this.timer.unref();
    }
    if (pending.length > 0) this.log.info({ pending: pending.length }, 'pending device commands wait for their devices');
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const w of this.awaiting.values()) if (w.timer) clearTimeout(w.timer);
    this.awaiting.clear();
    // Callers still waiting for an answer are stopping with the gateway: they are left unanswered.
    for (const t of this.answerChecks.values()) clearTimeout(t);
    this.answerChecks.clear();
    await this.idle();
    await this.store.stop();
  }

  /**
   * Checks a command against the catalogue; throws SGW_ERR_SCHEMA naming the field. `prefix` puts
   * the names where the caller's input has them (`body.` for an HTTP body).
   */
  check(kind: DeviceKind, type: string, data: unknown, prefix = ''): void {
    const schema = CATALOGUE[kind].commands[type];
    if (!schema || kind === 'esl') {
      const known = Object.keys(CATALOGUE[kind].commands).join(', ') || 'none';
      throw new SgwError('SGW_ERR_SCHEMA', `${prefix}type: ${kind} has no command "${type}" the command store sends (known: ${kind === 'esl' ? 'none' : known})`);
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new SgwError('SGW_ERR_SCHEMA', `${prefix}data: must be a JSON object`);
    if ('cmdId' in data) throw new SgwError('SGW_ERR_SCHEMA', `${prefix}data.cmdId: is assigned by the gateway`);
    const key = `${kind}/${type}`;
    let v = this.validators.get(key);
    if (!v) this.validators.set(key, (v = compile(schema)));
    if (!v({ cmdId: 'check', ...data })) throw new SgwError('SGW_ERR_SCHEMA', formatErrors(v.errors, `${prefix}data`).join('; '));
  }

  /**
   * Records a command and publishes it (QoS 1) if the device is connected; resolves with its cmdId
   * once it is durable. A failing publish leaves it pending for the retry round.
   */
  async send(kind: DeviceKind, id: string, type: string, data: unknown, opts: SendOptions): Promise<string> {
    this.check(kind, type, data);
    if (!this.o.registry.get(kind, id)) throw new SgwError('SGW_ERR_NOT_FOUND', `no device ${kind}/${id}`);
    const ttl = Math.min(TTL_BOUNDS.max, Math.max(TTL_BOUNDS.min, opts.ttlMs ?? commandTtlMs(kind, type)));
    const cmdId = opts.cmdId ?? randomUUID();
    const fields = data as Record<string, unknown>; // checked above
    const payload = JSON.stringify({ cmdId, ...fields });
    await this.serial(kind, id, async () => {
      if (opts.cmdId !== undefined && (await this.store.get(cmdId))) return;
      const now = this.o.now();
      for (const old of await this.store.pending(kind, id)) {
        if (supersedes({ kind, type, data: fields }, old) && (await this.store.finish(old.cmdId, 'expired', `superseded by ${cmdId}`, now))) this.o.metrics.commandsExpired.labels(kind, 'superseded').inc();
      }
      const online = this.o.registry.get(kind, id)?.online === true;
      this.withPending.add(deviceUsername(kind, id));
      await this.store.insert({ cmdId, kind, deviceId: id, type, payload, source: opts.source, createdAt: now, expiresAt: now + ttl, sentAt: online ? now : null });
      this.o.metrics.commandsSent.labels(kind).inc();
      this.log.info({ deviceId: id, kind, type, cmdId, source: opts.source, online }, online ? 'command sent' : 'command queued for an offline device');
      if (online) await this.publish(kind, id, type, payload, cmdId);
    });
    return cmdId;
  }

  /** Committed device events (gateway observer): acks settle commands; any event shows a device listens. */
  onEvent(e: NewEvent): void {
    if (e.kind === 'esl') return; // label acks belong to the price fan-out
    const key = deviceUsername(e.kind, e.deviceId);
    if (this.awaiting.has(key)) this.listened(key, e.kind, e.deviceId);
    if (e.type !== 'ack') return;
    const a = JSON.parse(e.data) as { cmdId: string; ok: boolean; error?: string };
    void this.track(this.serial(e.kind, e.deviceId, () => this.settle(e.kind, e.deviceId, a)));
  }

  /** A device's pending commands, oldest first; its finished ones, newest first; one by cmdId. */
  pending = (kind: DeviceKind, id: string): Promise<CommandView[]> => this.store.pending(kind, id);
  recent = (kind: DeviceKind, id: string, limit = 20): Promise<CommandView[]> => this.store.recent(kind, id, limit);
  get = (cmdId: string): Promise<CommandView | undefined> => this.store.get(cmdId);

  /**
   * The command once the device answered it or the gateway gave up on it (acked, failed,
   * expired); undefined for an unknown id. When `timeoutMs` passes first the gateway gives up on
   * it here (expired: never sent again), so a caller that acts on "no answer" is not contradicted
   * by a later delivery; an answer from a device that had it already is still recorded.
   */
  async answer(cmdId: string, timeoutMs: number): Promise<CommandView | undefined> {
    return new Promise((resolve) => {
      let done = false;
      const check = async (last: boolean) => {
        if (done) return;
        let c = await this.store.get(cmdId);
        if (c?.state === 'pending') {
          if (!last) return;
          if (await this.store.finish(cmdId, 'expired', `no answer within ${Math.round(timeoutMs / 1000)} s`, this.o.now())) this.log.warn({ deviceId: c.deviceId, kind: c.kind, type: c.type, cmdId }, 'command expired: its caller stopped waiting for the answer');
          c = await this.store.get(cmdId);
        }
        if (done) return;
        done = true;
        clearTimeout(this.answerChecks.get(check));
        this.answerChecks.delete(check);
        resolve(c);
      };
      const t = setTimeout(() => void check(true).catch(() => resolve(undefined)), timeoutMs);
      t.unref();
      this.answerChecks.set(check, t);
      void check(false).catch(() => undefined);
    });
  }

  /** One retry round: expire what is too old, re-send what an online device has not acked, fail after max attempts. */
  async tick(): Promise<void> {
    const now = this.o.now();
    const devices = new Map<string, { kind: DeviceKind; id: string }>();
    for (const c of await this.store.pending()) devices.set(deviceUsername(c.kind, c.deviceId), { kind: c.kind, id: c.deviceId });
    await Promise.all([...devices.values()].map((d) => this.serial(d.kind, d.id, () => this.retryDevice(d.kind, d.id))));
    if (now - this.lastPrune >= 3600_000) await this.prune();
    for (const c of this.answerChecks.keys()) void c(false).catch(() => undefined);
  }

  /** Resolves when every step started so far has finished (tests; stop). */
  async idle(): Promise<void> {
    while (this.work.size > 0 || this.chains.size > 0) await Promise.allSettled([...this.work, ...this.chains.values()]);
  }

  private async settle(kind: DeviceKind, id: string, a: { cmdId: string; ok: boolean; error?: string }): Promise<void> {
    const outcome = await this.store.ack(a.cmdId, a.ok, a.error ?? null, this.o.now());
    for (const c of this.answerChecks.keys()) void c(false).catch(() => undefined);
    if (outcome === 'acked') this.o.metrics.commandsAcked.labels(kind).inc();
    else if (outcome === 'failed') {
      this.o.metrics.commandsFailed.labels(kind, 'device').inc();
      this.log.warn({ deviceId: id, kind, cmdId: a.cmdId, error: a.error }, 'device says the command failed');
    } else if (outcome === 'unknown') this.o.metrics.commandAcksUnknown.labels(kind).inc();
  }

  private async retryDevice(kind: DeviceKind, id: string): Promise<void> {
    const now = this.o.now();
    const online = this.o.registry.get(kind, id)?.online === true && !this.awaiting.has(deviceUsername(kind, id));
    for (const c of await this.store.pending(kind, id)) {
      const d = decide(c, now, online, this.rules);
      if (d.do === 'expire') await this.expire(c, d.reason, now);
      else if (d.do === 'fail' && (await this.store.finish(c.cmdId, 'failed', d.reason, now))) {
        this.o.metrics.commandsFailed.labels(kind, 'no_ack').inc();
        this.log.warn({ deviceId: id, kind, type: c.type, cmdId: c.cmdId, attempts: c.attempts }, 'command failed: no ack');
      } else if (d.do === 'send') await this.resendOne(c, now);
    }
  }

  /**
   * A device came online. A bridge subscribes to `cmd/#` before it says `state online`
   * (firmware-bridge/bridge.ts), so its devices are re-sent at once. A direct device is marked
   * online by aedes's `client` event, which comes before the CONNACK: it cannot have subscribed
   * yet, so its commands wait for a sign that it listens — its SUBSCRIBE (the broker tells
   * `subscribed`), its birth or any event — or, failing those, a short grace.
   */
  private onDevice(v: DeviceView): void {
    if (v.kind === 'esl') return;
    const key = v.username;
    const was = this.online.get(key) ?? false;
    this.online.set(key, v.online);
    const waiting = this.awaiting.get(key);
    if (!v.online) {
      if (waiting?.timer) clearTimeout(waiting.timer);
      this.awaiting.delete(key);
      return;
    }
    if (!this.withPending.has(key)) return;
    if (was) {
      if (waiting && v.birth !== waiting.birth) this.listened(key, v.kind, v.id);
      return;
    }
    if (v.via === 'bridge') return void this.track(this.resendAll(v.kind, v.id));
    const grace = this.o.listenGraceMs ?? 1000;
    const w = { birth: v.birth as unknown, timer: null as NodeJS.Timeout | null };
    this.awaiting.set(key, w);
    if (grace <= 0) return this.listened(key, v.kind, v.id);
    w.timer = setTimeout(() => this.listened(key, v.kind, v.id), grace);
    w.timer.unref();
  }

  /** The broker saw a directly connected device subscribe: it listens now, re-send at once. */
  subscribed(kind: DeviceKind, id: string): void {
    const key = deviceUsername(kind, id);
    if (this.awaiting.has(key)) this.listened(key, kind, id);
  }

  private listened(key: string, kind: DeviceKind, id: string): void {
    const w = this.awaiting.get(key);
    if (w?.timer) clearTimeout(w.timer);
    this.awaiting.delete(key);
    void this.track(this.resendAll(kind, id));
  }

  /** The device reconnected: every pending command of it, in the order asked for (expired ones are not sent). */
  private resendAll(kind: DeviceKind, id: string): Promise<void> {
    return this.serial(kind, id, async () => {
      if (this.o.registry.get(kind, id)?.online !== true) return;
      const now = this.o.now();
      const pending = await this.store.pending(kind, id);
      if (pending.length === 0) this.withPending.delete(deviceUsername(kind, id));
      if (pending.length > 0) this.log.info({ deviceId: id, kind, pending: pending.length }, 're-sending pending commands after a reconnect');
      const due: CommandRow[] = [];
      for (const c of pending) {
        if (now >= c.expiresAt) await this.expire(c, 'its time to live ended while the device was away', now);
        else due.push(c);
      }
      // One write for the whole backlog, then the publishes in the order asked for.
      await this.store.markSentMany(due.map((c) => c.cmdId), now);
      for (const c of due) await this.sendRow(c);
    });
  }

  private async resendOne(c: CommandRow, now: number): Promise<void> {
    await this.store.markSent(c.cmdId, now);
    await this.sendRow(c);
  }

  /** Publishes a stored command (already marked sent). */
  private async sendRow(c: CommandRow): Promise<void> {
    if (c.lastSentAt !== null) this.o.metrics.commandsResent.labels(c.kind).inc();
    await this.publish(c.kind, c.deviceId, c.type, JSON.stringify({ cmdId: c.cmdId, ...c.data }), c.cmdId);
  }

  private async expire(c: CommandRow, reason: string, now: number): Promise<void> {
    if (!(await this.store.finish(c.cmdId, 'expired', reason, now))) return;
    this.o.metrics.commandsExpired.labels(c.kind, 'ttl').inc();
    this.log.warn({ deviceId: c.deviceId, kind: c.kind, type: c.type, cmdId: c.cmdId, attempts: c.attempts }, 'command expired unacked');
  }

  private async publish(kind: DeviceKind, id: string, type: string, payload: string, cmdId: string): Promise<void> {
    try {
      await this.o.publish(topics.cmd(kind, id, type), payload, 1);
    } catch (err) {
      // Recorded already: the retry round sends it again.
      this.log.warn({ err, deviceId: id, kind, type, cmdId }, 'publishing a command failed; it stays pending');
    }
  }

  private async prune(): Promise<void> {
    const now = this.o.now();
    this.lastPrune = now;
    const n = await this.store.prune(now - (this.o.keepMs ?? 7 * 86_400_000), this.o.keepPerDevice ?? 200);
    if (n > 0) this.log.info({ pruned: n }, 'old finished commands pruned');
  }

  /** Runs `fn` after the device's previous step; a failure is logged, never thrown to the next step. */
  private serial(kind: DeviceKind, id: string, fn: () => Promise<void>): Promise<void> {
    const key = deviceUsername(kind, id);
    const run = (this.chains.get(key) ?? Promise.resolve()).then(fn);
    const next = run.catch((err: Error) => this.log.error({ err, deviceId: id, kind }, 'a command step failed'));
    this.chains.set(key, next);
    void next.then(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
    return run;
  }

  private track<T>(p: Promise<T>): Promise<T | void> {
    const q = p.catch((err: Error) => this.log.error({ err }, 'a command task failed'));
    this.work.add(q);
    void q.finally(() => this.work.delete(q));
    return q;
  }
}
