/**
 * An OpenEPaperLink access point for tests, the demo and the bench: a real HTTP server with the
 * AP's endpoints and a WebSocket `/ws` with its message shapes (README.md), and N tags that check
 * in on a schedule, take what is queued for them and report it. It can reboot (and forget its
 * database) and be switched off and on again on the same port.
 *
 * What it does not do: render templates or decode JPEGs (an image is the MD5 of what was
 * uploaded), radio timing, several APs.
 */
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { normalizeMac } from './messages.js';
import { SimTagDb, simMac, type ApFrame } from './simDb.js';

export interface OeplApSimOptions {
  /** How many tags (MACs from `simMac`), or their MACs. */
  tags: number | string[];
  /** Every tag checks in this often (the real base interval is 40 s). */
  checkInMs: number;
  /** The `sys` heartbeat (the AP's is 5 s). */
  sysEveryMs?: number;
  /** A `/get_db` page ends once it passes this many bytes (the AP's is 5000). */
  pageBytes?: number;
  /** How long a reboot keeps the AP away. */
  rebootMs?: number;
  port?: number;
  host?: string;
}

export type OeplApSimEvents = {
  /** A template or image was uploaded for a tag. */
  upload: [mac: string];
  /** A tag confirmed an image (XFC). */
  xfer: [mac: string];
  up: [];
  /** A `tag_cmd` was accepted. */
  tagCmd: [mac: string, cmd: string];
  /** Every HTTP request, before it is answered. */
  request: [method: string, path: string];
};

const DEFAULT_AP_CONFIG = { alias: 'storegw-sim', channel: 11, led: 0, language: 0, maxsleep: 10, stopsleep: 1, preview: 1, nightlyreboot: 1, lock: 0 };

export class OeplApSim extends EventEmitter<OeplApSimEvents> {
  readonly db: SimTagDb;
  private server: http.Server | null = null;
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly clients = new Set<WebSocket>();
  private ticker: NodeJS.Timeout | null = null;
  private sysTimer: NodeJS.Timeout | null = null;
  private bootedAt = Date.now();
  private booting = false;
  private paused = false;
  private frozen = false;
  port = 0;
  /** HTTP requests served. */
  requests = 0;
  readonly uploads = new Map<string, number>();
  /** `tag_cmd` commands received, per MAC. */
  readonly tagCommands = new Map<string, string[]>();
  readonly apConfig: Record<string, string | number> = { ...DEFAULT_AP_CONFIG };

  constructor(private readonly o: OeplApSimOptions) {
    super();
    if (!(o.checkInMs > 0)) throw new TypeError('checkInMs: must be a positive number');
    const macs = typeof o.tags === 'number' ? Array.from({ length: o.tags }, (_, i) => simMac(i)) : o.tags.map((m) => normalizeMac(m) ?? m);
    this.db = new SimTagDb(macs, o.checkInMs, Date.now(), (f) => this.broadcast(f), (mac) => this.emit('xfer', mac));
    this.port = o.port ?? 0;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get wsClients(): number {
    return this.clients.size;
  }

  /** Listens (again) on its port; the uptime starts over and the queues are empty, as after a power cycle. */
  async start(): Promise<void> {
    this.db.reboot(false);
    this.bootedAt = Date.now();
    const server = http.createServer((req, res) => void this.handle(req, res));
    server.on('upgrade', (req, socket, head) => {
      if (this.booting || !req.url?.startsWith('/ws')) return socket.destroy();
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        this.clients.add(ws);
        ws.on('close', () => this.clients.delete(ws));
        ws.on('error', () => this.clients.delete(ws));
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.o.host ?? '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    const tickMs = Math.max(5, Math.min(100, Math.floor(this.o.checkInMs / 4)));
    this.ticker = setInterval(() => {
      if (!this.booting && !this.paused) this.db.checkIns(Date.now());
    }, tickMs);
    this.sysTimer = setInterval(() => this.sendSys(), this.o.sysEveryMs ?? 5000);
    this.emit('up');
  }

  /** Switched off: the port refuses connections; tags keep what they show. */
  async stop(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    if (this.sysTimer) clearInterval(this.sysTimer);
    this.ticker = this.sysTimer = null;
    for (const c of this.clients) c.terminate();
    this.clients.clear();
    const s = this.server;
    this.server = null;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  }

  /** A frozen AP keeps its connections open and says nothing (users report ESP32 APs that hang). */
  freeze(frozen: boolean): void {
    this.frozen = frozen;
  }

  /** One tag checks in now, even while check-ins are paused (the order tags wake in is theirs). */
  checkInNow(mac: string): boolean {
    return this.db.checkInNow(normalizeMac(mac) ?? mac, Date.now());
  }

  /** Tags stop checking in (asleep) or start again. */
  pauseCheckIns(paused: boolean): void {
    this.paused = paused;
  }

  /**
   * Reboots: says "REBOOTING", drops its WebSocket clients, refuses work for `rebootMs`, and comes
   * back with empty queues and its uptime from zero; `forget` loses the tag database as well.
   */
  reboot(forget: boolean): Promise<void> {
    this.broadcast({ errMsg: 'REBOOTING' });
    for (const c of this.clients) c.terminate();
    this.clients.clear();
    this.booting = true;
    this.db.reboot(forget);
    return new Promise((resolve) =>
      setTimeout(() => {
        this.booting = false;
        this.bootedAt = Date.now();
        this.sendSys();
        this.emit('up');
        resolve();
      }, this.o.rebootMs ?? 200),
    );
  }

  broadcast(frame: ApFrame): void {
    if (this.clients.size === 0 || this.frozen) return;
    const text = JSON.stringify(frame);
    for (const c of this.clients) c.send(text);
  }

  /** Sends a raw frame to every client (tests of a driver's tolerance). */
  sendRaw(text: string): void {
    for (const c of this.clients) c.send(text);
  }

  private sendSys(): void {
    if (this.booting) return;
    const now = Date.now();
    this.broadcast({
      sys: {
        currtime: Math.floor(now / 1000),
        heap: 120_000,
        recordcount: this.db.records.size,
        dbsize: this.db.records.size * 120,
        littlefsfree: 1_000_000,
        psfree: 2_000_000,
        apstate: 1,
        runstate: 1,
        rssi: -50,
        wifistatus: 3,
        wifissid: 'store',
        uptime: Math.floor((now - this.bootedAt) / 1000),
      },
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.requests++;
    if (this.booting) return void req.socket.destroy();
    res.setHeader('Access-Control-Allow-Origin', '*');
    const url = new URL(req.url ?? '/', 'http://ap');
    this.emit('request', req.method ?? '', url.pathname);
    const reply = (status: number, body: string, type = 'text/plain') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    try {
      if (req.method === 'GET' && url.pathname === '/get_db') return this.getDb(url, reply);
      if (req.method === 'GET' && url.pathname === '/get_ap_config') return reply(200, JSON.stringify(this.apConfig), 'application/json');
      if (req.method !== 'POST') return reply(404, 'Not found');
      const body = await readBody(req);
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
      // A copy in a plain ArrayBuffer: a Buffer is not a BodyInit under the DOM typings the bench's program uses.
      const form = await new Request('http://ap/', { method: 'POST', headers, body: new Uint8Array(body) }).formData();
      const field = (k: string) => (typeof form.get(k) === 'string' ? (form.get(k) as string) : null);
      switch (url.pathname) {
        case '/jsonupload': {
          const mac = normalizeMac(field('mac'));
          const json = field('json');
          if (!mac || json === null) return reply(400, 'parameters incomplete');
          this.count(mac);
          try {
            JSON.parse(json);
          } catch (err) {
            this.broadcast({ errMsg: `json error ${(err as Error).message.slice(0, 60)}` });
            return reply(200, 'Ok, saved');
          }
          return this.db.setContent(mac, json, 19) ? reply(200, 'Ok, saved') : reply(400, 'mac not found in tagDB');
        }
        case '/imgupload': {
          const mac = normalizeMac(field('mac'));
          const file = [...form.values()].find((v): v is File => typeof v !== 'string');
          if (!mac || !file) return reply(400, 'parameters incomplete');
          this.count(mac);
          const bytes = new Uint8Array(await file.arrayBuffer());
          if (bytes[0] !== 0xff || bytes[1] !== 0xd8) {
            this.broadcast({ errMsg: `Not found: /temp/${mac}.jpg` });
            return reply(200, 'Ok');
          }
          return this.db.setContent(mac, `jpeg:${Buffer.from(bytes).toString('base64')}`, 24) ? reply(200, 'Ok') : reply(400, 'mac not found');
        }
        case '/tag_cmd': {
          const mac = normalizeMac(field('mac'));
          const r = mac ? this.db.records.get(mac) : undefined;
          if (!r) return reply(400, 'Error: mac not found');
          const cmd = field('cmd') ?? '';
          if (!['del', 'purge', 'clear', 'refresh', 'reboot', 'scan', 'reset', 'deepsleep', 'ledflash', 'ledflash_long', 'ledflash_stop'].includes(cmd)) return reply(500, 'param error');
          if (cmd === 'clear') r.queue = [];
          this.tagCommands.set(mac!, [...(this.tagCommands.get(mac!) ?? []), cmd]);
          this.emit('tagCmd', mac!, cmd);
          return reply(200, 'Ok, done');
        }
        case '/save_apcfg':
          for (const [k, v] of form.entries()) if (typeof v === 'string') this.apConfig[k] = /^-?[0-9]+$/.test(v) ? Number(v) : v;
          return reply(200, 'Ok, saved');
        case '/reboot':
          reply(200, 'OK Reboot');
          return void this.reboot(false);
        default:
          return reply(404, 'Not found');
      }
    } catch (err) {
      if (!res.headersSent) reply(500, (err as Error).message);
    }
  }

  private getDb(url: URL, reply: (status: number, body: string, type?: string) => void): void {
    const macParam = url.searchParams.get('mac');
    if (macParam !== null) {
      const mac = normalizeMac(macParam);
      if (!mac) return reply(200, '{"error":"malformatted parameter"}', 'application/json');
      const r = this.db.records.get(mac);
      return reply(200, JSON.stringify({ tags: r ? [this.db.tagJson(r)] : [] }), 'application/json');
    }
    // The AP reads `pos` into one byte: 256 is 0 again.
    const pos = (Number(url.searchParams.get('pos') ?? 0) || 0) & 0xff;
    reply(200, this.db.page(pos, this.o.pageBytes ?? 5000), 'application/json');
  }

  private count(mac: string): void {
    this.uploads.set(mac, (this.uploads.get(mac) ?? 0) + 1);
    this.emit('upload', mac);
  }
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 4 << 20) req.destroy(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
