/**
 * Following the AP's WebSocket `/ws`: the AP pushes one JSON object per text frame (tag reports,
 * a `sys` heartbeat every 5 s, log and error lines) and ignores what a client sends. The socket is
 * reopened with backoff when it closes, and also when it goes quiet: a `sys` frame is due every
 * 5 s, so a connection silent for `livenessMs` is dead even if TCP has not noticed (an AP that froze
 * keeps its sockets open).
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { backoffDelay, type BackoffOptions } from '../serialLink.js';
import { parseFrame, MAX_FRAME, type OeplMessage, type ParseResult } from './messages.js';

export interface OeplSocketOptions {
  /** The AP's base URL (`http://host[:port]`); the socket is `ws://host[:port]/ws`. */
  url: string;
  backoff: BackoffOptions;
  /** No frame for this long: the connection is dropped and opened again. */
  livenessMs: number;
  /** How long opening the socket may take. */
  connectTimeoutMs: number;
}

export type OeplSocketEvents = {
  up: [];
  down: [reason: string];
  message: [m: OeplMessage];
  bad: [errors: ParseResult['errors']];
};

export class OeplSocket extends EventEmitter<OeplSocketEvents> {
  private ws: WebSocket | null = null;
  private retry: NodeJS.Timeout | null = null;
  private quiet: NodeJS.Timeout | null = null;
  private attempt = 0;
  private running = false;
  private isUp = false;
  private everUp = false;
  /** Times the socket was opened again after it had been up. */
  reconnects = 0;
  private readonly wsUrl: string;

  constructor(private readonly o: OeplSocketOptions) {
    super();
    this.wsUrl = `${o.url.replace(/\/$/, '').replace(/^http/, 'ws')}/ws`;
  }

  get up(): boolean {
    return this.isUp;
  }

  start(): void {
    this.running = true;
    this.open();
  }

  stop(): void {
    this.running = false;
    if (this.retry) clearTimeout(this.retry);
    if (this.quiet) clearTimeout(this.quiet);
    this.retry = this.quiet = null;
    const ws = this.ws;
    this.ws = null;
    ws?.removeAllListeners();
    ws?.on('error', () => undefined);
    ws?.terminate();
    this.isUp = false;
  }

  /** Drops the connection now and opens it again (the AP said it is rebooting). */
  reopen(reason: string): void {
    if (!this.running) return;
    this.lost(reason);
  }

  private open(): void {
    if (!this.running) return;
    const ws = new WebSocket(this.wsUrl, { handshakeTimeout: this.o.connectTimeoutMs, maxPayload: MAX_FRAME, perMessageDeflate: false });
    this.ws = ws;
    ws.on('open', () => {
      if (this.ws !== ws) return;
      if (this.everUp) this.reconnects++;
      this.everUp = true;
      this.attempt = 0;
      this.isUp = true;
      this.armQuiet();
      this.emit('up');
    });
    ws.on('message', (data, isBinary) => {
      if (this.ws !== ws) return;
      this.armQuiet();
      if (isBinary) return this.emit('bad', [{ code: 'BINARY', bytes: (data as Buffer).length }]);
      const r = parseFrame(Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(data as Buffer[]).toString('utf8'));
      if (r.errors.length > 0) this.emit('bad', r.errors);
      for (const m of r.messages) this.emit('message', m);
    });
    ws.on('close', () => {
      if (this.ws === ws) this.lost('connection closed');
    });
    ws.on('error', (err) => {
      if (this.ws === ws) this.lost(err.message);
    });
  }

  private armQuiet(): void {
    if (this.quiet) clearTimeout(this.quiet);
    this.quiet = setTimeout(() => this.lost(`no frame from the AP for ${this.o.livenessMs} ms`), this.o.livenessMs);
  }

  private lost(reason: string): void {
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
    }
    if (this.quiet) clearTimeout(this.quiet);
    this.quiet = null;
    const wasUp = this.isUp;
    this.isUp = false;
    if (wasUp) this.emit('down', reason);
    if (!this.running || this.retry) return;
    const delay = backoffDelay(this.attempt++, this.o.backoff);
    this.retry = setTimeout(() => {
      this.retry = null;
      this.open();
    }, delay);
  }
}
