/**
 * A payment terminal on MQTT for tests, the demo and the bench: it takes `cmd/charge`, answers
 * `evt/result` per its mode (approve, decline, never answer), acks each command, and answers a
 * `cmd/cancel` with the request's final status — `approved` if it already took the money (that is
 * how the gateway settles an unknown payment after a restart), else `cancelled`.
 */
import { EventEmitter } from 'node:events';
import mqtt, { type MqttClient } from 'mqtt';
import { topics } from '../../gateway/protocol/topics.js';

export type PaymentMode = 'approve' | 'decline' | 'silent';
type ResultStatus = 'approved' | 'declined' | 'timeout' | 'cancelled';

export interface Charge {
  requestId: string;
  amount: number;
  currency: string;
}

export class PaymentSim {
  mode: PaymentMode = 'approve';
  /** Every charge received, in order; every result sent. */
  readonly charges: Charge[] = [];
  readonly results: { requestId: string; status: string; amount: number }[] = [];
  readonly events = new EventEmitter();
  private client: MqttClient | null = null;
  private readonly final = new Map<string, { status: ResultStatus; amount: number; authCode?: string }>();
  private auth = 1000;

  constructor(private readonly o: { url: string; id: string; password: string }) {}

  async start(): Promise<void> {
    const username = `payment/${this.o.id}`;
    this.client = await mqtt.connectAsync(this.o.url, { username, password: this.o.password, reconnectPeriod: 0, clientId: `sim-payment-${this.o.id}` });
    await this.client.subscribeAsync(`${topics.deviceBase('payment', this.o.id)}/cmd/#`, { qos: 1 });
    this.client.on('message', (topic, buf) => void this.onCommand(topic, JSON.parse(buf.toString('utf8')) as Record<string, unknown>));
    // Listening now: a heartbeat tells the gateway (which asks again about any payment in doubt).
    await this.client.publishAsync(topics.evt('payment', this.o.id, 'heartbeat'), JSON.stringify({ ts: new Date().toISOString(), uptimeS: 0 }), { qos: 1 });
  }

  async stop(): Promise<void> {
    await this.client?.endAsync();
  }

  /** The terminal took the money for `requestId` while nobody heard its result (a crash in between). */
  markApproved(requestId: string, amount: number): void {
    this.final.set(requestId, { status: 'approved', amount, authCode: `A${this.auth++}` });
    this.charges.push({ requestId, amount, currency: 'EUR' });
  }

  /** Sends a result as the terminal would (also used to send one "late"). */
  async result(requestId: string, status: ResultStatus, amount: number): Promise<void> {
    const known = this.final.get(requestId);
    const authCode = status === 'approved' ? (known?.authCode ?? `A${this.auth++}`) : undefined;
    this.final.set(requestId, { status, amount, ...(authCode ? { authCode } : {}) });
    const payload = { ts: new Date().toISOString(), requestId, status, amount, currency: 'EUR', ...(authCode ? { authCode } : {}) };
    await this.client!.publishAsync(topics.evt('payment', this.o.id, 'result'), JSON.stringify(payload), { qos: 1 });
    this.results.push({ requestId, status, amount });
    this.events.emit('result', payload);
  }

  private async onCommand(topic: string, cmd: Record<string, unknown>): Promise<void> {
    const type = topic.split('/').pop();
    await this.client!.publishAsync(topics.evt('payment', this.o.id, 'ack'), JSON.stringify({ ts: new Date().toISOString(), cmdId: cmd.cmdId, ok: true }), { qos: 1 });
    const requestId = String(cmd.requestId);
    if (type === 'charge') {
      // A real terminal is idempotent on requestId: a charge the gateway re-sends (its ack was
      // lost) takes no money twice; the known outcome is told again instead.
      const known = this.final.get(requestId);
      if (known) return this.result(requestId, known.status, known.amount);
      if (this.charges.some((c) => c.requestId === requestId)) return;
      const c = { requestId, amount: Number(cmd.amount), currency: String(cmd.currency) };
      this.charges.push(c);
      this.events.emit('charge', c);
      if (this.mode === 'approve') await this.result(requestId, 'approved', c.amount);
      else if (this.mode === 'decline') await this.result(requestId, 'declined', c.amount);
    } else if (type === 'cancel') {
      const f = this.final.get(requestId);
      const amount = f?.amount ?? this.charges.find((c) => c.requestId === requestId)?.amount ?? 0;
      if (f?.status === 'approved') await this.result(requestId, 'approved', amount); // already taken: say so again
      else await this.result(requestId, 'cancelled', amount);
    }
  }
}
