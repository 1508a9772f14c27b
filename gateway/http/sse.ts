/**
 * `GET /api/events` (viewer+): the ops page's live feed as Server-Sent Events.
 *
 * - `hello`  once: every device view and today's numbers, so the page needs no other first load;
 * - `device` a device view whenever the registry reports a change (online/offline/birth/reject; an
 *   aedes keepalive timeout at 1.5x keepalive reaches the registry as clientDisconnect and is
 *   pushed at once), and whenever a periodic recompute finds its health changed (online → stale,
 *   enable/disable) or, at most every `activityEveryMs`, that it sent events (last seen, battery);
 * - `kpi`    today's numbers after they change (coalesced to one per `kpiEveryMs`);
 * - `alert`  a new alert from the alert book;
 * - further events pushed by later components (`push`), whose current state `hello` carries too
 *   (`pickups`: the open click & collect tasks).
 * A comment line every `heartbeatMs` keeps proxies and the browser from closing an idle stream.
 * A client that does not read (more than `maxBufferedBytes` queued) is dropped; EventSource reconnects.
 * A stream whose session ended is closed: at once on logout or revocation (a disabled user, a
 * changed role or password: `endSessions`), at the next recompute on expiry. The page then finds
 * /api/me answering 401 and shows the login.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import type { DeviceRegistry } from '../devices/registry.js';
import type { Health } from '../devices/health.js';
import type { DeviceView } from '../protocol/schemas/api/devices.js';
import type { AlertRow, KpiDay } from '../protocol/schemas/api/ops.js';
import type { LiveEventName, LiveMessage } from '../protocol/schemas/api/live.js';
import { requireRole } from './auth.js';

export interface LiveFeedOptions {
  registry: DeviceRegistry;
  today: () => KpiDay;
  onKpiChange: (fn: () => void) => () => void;
  onAlert: (fn: (a: AlertRow) => void) => () => void;
  log: Logger;
  now: () => number;
  healthEveryMs: number;
  heartbeatMs?: number;
  kpiEveryMs?: number;
  activityEveryMs?: number;
  maxBufferedBytes?: number;
}

/** The parts of `hello` that later components add: the optional ones. */
type HelloPart = Exclude<keyof LiveMessage<'hello'>, 'devices' | 'kpi' | 'serverTime'>;

interface Client {
  token: string;
  expiresAt: number;
}

/** One SSE frame (`event:` + one `data:` line; JSON never contains a raw newline). */
export function sseFrame<E extends LiveEventName>(event: E, data: LiveMessage<E>): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export class LiveFeed {
  private readonly clients = new Map<ServerResponse, Client>();
  /** Whether a session token is still logged in; set once the session manager exists. */
  sessionAlive: (token: string) => boolean = () => true;
  private readonly health = new Map<string, Health>();
  private readonly activity = new Map<string, { events: number; pushedAt: number }>();
  private readonly unsubscribe: (() => void)[] = [];
  private timers: NodeJS.Timeout[] = [];
  private kpiTimer: NodeJS.Timeout | null = null;
  private readonly log: Logger;
  /** Parts of `hello` added by components built after the feed (name → current state). */
  private readonly helloParts = new Map<HelloPart, () => unknown>();

  constructor(private readonly o: LiveFeedOptions) {
    this.log = o.log.child({ module: 'sse' });
  }

  get clientCount(): number {
    return this.clients.size;
  }

  start(): void {
    for (const v of this.o.registry.views()) {
      this.health.set(v.username, v.health);
      this.activity.set(v.username, { events: v.events, pushedAt: 0 });
    }
    this.unsubscribe.push(
      this.o.registry.onChange((v) => this.pushDevice(v)),
      this.o.onAlert((a) => this.broadcast(sseFrame('alert', a))),
      this.o.onKpiChange(() => this.kpiChanged()),
    );
    const tick = setInterval(() => this.recompute(), this.o.healthEveryMs);
    const beat = setInterval(() => this.broadcast(`: keepalive ${this.o.now()}\n\n`), this.o.heartbeatMs ?? 15_000);
    tick.unref();
    beat.unref();
    this.timers = [tick, beat];
  }

  /** Ends every stream (before the HTTP server closes, or it would wait for them). */
  stop(): void {
    for (const u of this.unsubscribe.splice(0)) u();
    for (const t of this.timers.splice(0)) clearInterval(t);
    if (this.kpiTimer) clearTimeout(this.kpiTimer);
    this.kpiTimer = null;
    for (const c of this.clients.keys()) c.end();
    this.clients.clear();
  }

  readonly plugin: FastifyPluginAsync = async (app) => {
    app.addHook('preClose', async () => {
      for (const c of this.clients.keys()) c.end();
      this.clients.clear();
    });
    app.get('/api/events', { preHandler: requireRole('viewer') }, (req, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        // nginx and friends buffer responses unless told not to.
        'x-accel-buffering': 'no',
      });
      res.write(`retry: 2000\n\n`);
      const extra = Object.fromEntries([...this.helloParts].map(([name, part]) => [name, part()]));
      res.write(sseFrame('hello', { ...(extra as Partial<LiveMessage<'hello'>>), devices: this.o.registry.views(), kpi: this.o.today(), serverTime: this.o.now() }));
      this.clients.set(res, { token: req.session!.token, expiresAt: req.session!.expiresAt });
      res.once('close', () => this.clients.delete(res));
    });
  };

  /** A component's live state: `hello` carries `state()` as `name`, and `push(name, …)` sends its changes. */
  addHelloPart<P extends HelloPart>(name: P, state: () => LiveMessage<'hello'>[P]): void {
    this.helloParts.set(name, state);
  }

  /** Sends one event to every open stream. */
  push<E extends LiveEventName>(event: E, data: LiveMessage<E>): void {
    this.broadcast(sseFrame(event, data));
  }

  private pushDevice(v: DeviceView): void {
    this.health.set(v.username, v.health);
    this.activity.set(v.username, { events: v.events, pushedAt: this.o.now() });
    this.broadcast(sseFrame('device', v));
  }

  /** Ends the streams of these session tokens now (the session manager's onEnded). */
  endSessions(tokens: readonly string[]): void {
    const gone = new Set(tokens);
    for (const [res, c] of this.clients) {
      if (!gone.has(c.token)) continue;
      this.clients.delete(res);
      res.end();
    }
  }

  /** Health is a function of time (stale after silence) and of admin changes; look for changes. */
  private recompute(): void {
    if (this.clients.size === 0) return;
    const t = this.o.now();
    for (const [res, c] of this.clients) {
      if (c.expiresAt > t && this.sessionAlive(c.token)) continue;
      this.clients.delete(res);
      res.end();
    }
    const every = this.o.activityEveryMs ?? 5000;
    for (const v of this.o.registry.views()) {
      const a = this.activity.get(v.username);
      const healthChanged = this.health.get(v.username) !== v.health;
      const active = a !== undefined && a.events !== v.events && t - a.pushedAt >= every;
      if (healthChanged || active || a === undefined) this.pushDevice(v);
    }
  }

  private kpiChanged(): void {
    if (this.kpiTimer || this.clients.size === 0) return;
    this.kpiTimer = setTimeout(() => {
      this.kpiTimer = null;
      this.broadcast(sseFrame('kpi', this.o.today()));
    }, this.o.kpiEveryMs ?? 250);
    this.kpiTimer.unref();
  }

  private broadcast(frame: string): void {
    const max = this.o.maxBufferedBytes ?? 1024 * 1024;
    for (const c of this.clients.keys()) {
      if (c.writableLength > max) {
        this.log.warn({ buffered: c.writableLength }, 'dropping an SSE client that does not read');
        this.clients.delete(c);
        c.destroy();
        continue;
      }
      c.write(frame);
    }
  }
}
