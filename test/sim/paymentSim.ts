/**
 * A payment terminal on MQTT for tests, the demo and the bench: it takes `cmd/charge`, answers
 * `evt/result` per its mode (approve, decline, never answer), acks each command, and answers a
 * `cmd/cancel` with the request's final status — `approved` if it already took the money (that is
 * how the gateway settles an unknown payment after a restart), else `cancelled`. `cmd/reverse`
 * gives an approved payment back.
 *
 * Like any device on the topic contract (and the bridge's command log), it runs each cmdId once:
 * a command delivered again (the gateway re-sends until it sees the ack) is acked again and not
 * acted on again. Issue 14 saw one payment end with four extra `result` records at HQ because this
 * simulator answered every re-delivery with a new result.
 *
 * One instance is one terminal: `stop()` and `start()` again keep what it knows (what it approved
 * survives the gateway's restart, as on a real terminal).
 *
 * It speaks the whole payment contract a real terminal's bridge does (gateway/protocol/schemas/
 * payment.ts): `evt/status` prompts while a charge runs (`prompts`, or `status()` by hand), an
 * approval with the terminal's receipt number, trace, terminal id, card type, masked PAN and
 * customer receipt lines, a result marked `recovered`, `cmd/reverse` by receipt number, and
 * `cmd/endOfDay` answered with the exact `evt/endOfDay` totals of what it approved since the last one.
 */
import { EventEmitter } from 'node:events';
import mqtt, { type MqttClient } from 'mqtt';
import { topics } from '../../gateway/protocol/topics.js';
import type { PaymentPrompt } from '../../gateway/protocol/schemas/payment.js';

export type PaymentMode = 'approve' | 'decline' | 'silent';
type ResultStatus = 'approved' | 'declined' | 'timeout' | 'cancelled';

export interface Charge {
  requestId: string;
  amount: number;
  currency: string;
}

/** The terminal's own references of an approval (what a ZVT terminal reports in its status information). */
export interface TerminalRefs {
  receiptNo: string;
  trace: string;
  terminalId: string;
  cardType: string;
  maskedPan: string;
  receipt: string[];
}

export class PaymentSim {
  mode: PaymentMode = 'approve';
  /** In `approve` and `decline` mode: the prompts sent (as `evt/status`) before the result. */
  prompts: PaymentPrompt[] = [];
  /** What the next `cmd/endOfDay` answers: ok with the totals, or a failure with this result code. */
  endOfDayFails: number | null = null;
  /**
   * What the terminal approves for a charge in `approve` mode (default: exactly the charge). A
   * prepaid card with less on it approves less (a partial approval).
   */
  approves: (c: Charge) => { amount: number; currency?: string } = (c) => ({ amount: c.amount, currency: c.currency });
  /** Every charge received, in order; every result sent; every reversal done. */
  readonly charges: Charge[] = [];
  readonly results: { requestId: string; status: string; amount: number; currency?: string }[] = [];
  readonly reversals: { requestId: string; amount: number; currency: string; receiptNo?: string }[] = [];
  /** Every end of day answered (the exact event sent). */
  readonly endOfDays: Record<string, unknown>[] = [];
  /** When set, a `cmd/reverse` is refused: acked `ok: false` with this error, no money moves. */
  refuseReversals: string | null = null;
  /** Commands delivered again with a cmdId already handled (acked, not acted on). */
  redelivered = 0;
  readonly events = new EventEmitter();
  private client: MqttClient | null = null;
  private readonly final = new Map<string, { status: ResultStatus; amount: number; currency?: string; authCode?: string; refs?: TerminalRefs }>();
  /** Approved payments not reversed since the last end of day: the batch it closes. */
  private readonly batch = new Map<string, { amount: number; currency: string }>();
  private receiptSeq = 1;
  private traceSeq = 100;
  private readonly handled = new Set<string>();
  private auth = 1000;
  private hbTimer: NodeJS.Timeout | null = null;
  private readonly started = Date.now();

  /** `heartbeatMs` > 0: a heartbeat that often, as a real terminal checks in (else only the one at start). */
  constructor(private readonly o: { url: string; id: string; password: string; heartbeatMs?: number }) {}

  /** Points the terminal at another broker address (a restarted gateway listens on a new port). */
  set url(url: string) {
    this.o.url = url;
  }

  async start(): Promise<void> {
    const username = `payment/${this.o.id}`;
    const client = await mqtt.connectAsync(this.o.url, { username, password: this.o.password, reconnectPeriod: 0, clientId: `sim-payment-${this.o.id}` });
    this.client = client;
    client.on('error', () => undefined); // a killed gateway: the test starts the terminal again
    await client.subscribeAsync(`${topics.deviceBase('payment', this.o.id)}/cmd/#`, { qos: 1 });
    client.on('message', (topic, buf) => void this.onCommand(client, topic, JSON.parse(buf.toString('utf8')) as Record<string, unknown>).catch(() => undefined));
    // Listening now: a heartbeat tells the gateway.
    await this.heartbeat(client);
    // Without further check-ins the gateway lists the terminal as stale (both demo terminals were).
    if (this.hbTimer) clearInterval(this.hbTimer);
    if ((this.o.heartbeatMs ?? 0) > 0) this.hbTimer = setInterval(() => this.heartbeat(client).catch(() => undefined), this.o.heartbeatMs);
  }

  private async heartbeat(client: MqttClient): Promise<void> {
    const uptimeS = Math.round((Date.now() - this.started) / 1000);
    await client.publishAsync(topics.evt('payment', this.o.id, 'heartbeat'), JSON.stringify({ ts: new Date().toISOString(), uptimeS }), { qos: 1 });
  }

  async stop(): Promise<void> {
    if (this.hbTimer) clearInterval(this.hbTimer);
    this.hbTimer = null;
    const c = this.client;
    this.client = null;
    await c?.endAsync(true).catch(() => undefined);
  }

  /** The terminal took the money for `requestId` while nobody heard its result (a crash in between). */
  markApproved(requestId: string, amount: number): void {
    this.final.set(requestId, { status: 'approved', amount, currency: 'EUR', authCode: `A${this.auth++}` });
    this.charges.push({ requestId, amount, currency: 'EUR' });
  }

  /** What the terminal holds for a request: its final status, or undefined if it never saw it. */
  outcome(requestId: string): { status: string; amount: number; currency?: string } | undefined {
    return this.final.get(requestId);
  }

  /** The references an approval of `requestId` carried (its receipt number names it in a reversal). */
  refsOf(requestId: string): TerminalRefs | undefined {
    return this.final.get(requestId)?.refs;
  }

  /** Sends a prompt for a running charge as the terminal's display would show it. */
  async status(requestId: string, prompt: PaymentPrompt, code?: number, client = this.client): Promise<void> {
    const payload = { ts: new Date().toISOString(), requestId, prompt, ...(code !== undefined ? { code } : {}) };
    this.events.emit('status', payload);
    await client!.publishAsync(topics.evt('payment', this.o.id, 'status'), JSON.stringify(payload), { qos: 1 });
  }

  /**
   * Sends a result as the terminal would (also used to send one "late"); `recovered`: as learned
   * again from the terminal after a lost connection.
   */
  async result(requestId: string, status: ResultStatus, amount: number, currency?: string, client = this.client, extra: { recovered?: boolean } = {}): Promise<void> {
    const known = this.final.get(requestId);
    const authCode = status === 'approved' ? (known?.authCode ?? `A${this.auth++}`) : undefined;
    const cur = currency ?? known?.currency ?? this.charges.find((c) => c.requestId === requestId)?.currency;
    const refs = status === 'approved' ? (known?.refs ?? this.newRefs(amount, cur ?? 'EUR')) : undefined;
    this.final.set(requestId, { status, amount, ...(cur ? { currency: cur } : {}), ...(authCode ? { authCode } : {}), ...(refs ? { refs } : {}) });
    if (status === 'approved') this.batch.set(requestId, { amount, currency: cur ?? 'EUR' });
    const payload = {
      ts: new Date().toISOString(),
      requestId,
      status,
      amount,
      ...(cur ? { currency: cur } : {}),
      ...(authCode ? { authCode } : {}),
      resultCode: status === 'approved' ? 0 : status === 'declined' ? 5 : 0x6c,
      ...(refs ?? {}),
      ...(extra.recovered ? { recovered: true } : {}),
    };
    this.results.push({ requestId, status, amount, ...(cur ? { currency: cur } : {}) });
    this.events.emit('result', payload);
    await client!.publishAsync(topics.evt('payment', this.o.id, 'result'), JSON.stringify(payload), { qos: 1 });
  }

  private newRefs(amount: number, currency: string): TerminalRefs {
    const receiptNo = String(this.receiptSeq++).padStart(4, '0');
    const trace = String(this.traceSeq++).padStart(6, '0');
    const terminalId = '52500038';
    const sum = `${currency} ${(amount / 100).toFixed(2)}`;
    return { receiptNo, trace, terminalId, cardType: 'girocard', maskedPan: '************4771', receipt: ['KUNDENBELEG', `Terminal-ID ${terminalId}`, `Beleg-Nr. ${receiptNo}  Trace ${trace}`, 'girocard ************4771', `Betrag ${sum}`, 'Zahlung erfolgt'] };
  }

  private reverse(cmd: Record<string, unknown>): void {
    const requestId = String(cmd.requestId);
    const f = this.final.get(requestId);
    if (f?.status === 'approved') this.final.set(requestId, { ...f, status: 'cancelled' }); // the money went back
    this.batch.delete(requestId);
    const r = { requestId, amount: Number(cmd.amount), currency: String(cmd.currency), ...(typeof cmd.receiptNo === 'string' ? { receiptNo: cmd.receiptNo } : {}) };
    this.reversals.push(r);
    this.events.emit('reverse', r);
  }

  private async onCommand(client: MqttClient, topic: string, cmd: Record<string, unknown>): Promise<void> {
    const type = topic.split('/').pop();
    const cmdId = String(cmd.cmdId);
    const again = this.handled.has(cmdId);
    this.handled.add(cmdId);
    if (again) this.redelivered++;
    const refused = type === 'reverse' && this.refuseReversals !== null;
    // A reversal is acked once it is done (as a terminal's bridge does): a kill between the two
    // leaves it done, and the re-sent command is answered from memory.
    if (type === 'reverse' && !again && !refused) this.reverse(cmd);
    await client.publishAsync(topics.evt('payment', this.o.id, 'ack'), JSON.stringify({ ts: new Date().toISOString(), cmdId, ok: !refused, ...(refused ? { error: this.refuseReversals } : {}) }), { qos: 1 });
    if (again || refused) return;
    const requestId = String(cmd.requestId);
    if (type === 'charge') {
      // A real terminal is idempotent on requestId too: a new charge for a known request takes no
      // money twice; the known outcome is told again instead.
      const known = this.final.get(requestId);
      if (known) return this.result(requestId, known.status, known.amount, known.currency, client);
      if (this.charges.some((c) => c.requestId === requestId)) return;
      const c = { requestId, amount: Number(cmd.amount), currency: String(cmd.currency) };
      this.charges.push(c);
      this.events.emit('charge', c);
      if (this.mode !== 'silent') for (const p of this.prompts) await this.status(requestId, p, undefined, client);
      if (this.mode === 'approve') {
        const a = this.approves(c);
        await this.result(requestId, 'approved', a.amount, a.currency, client);
      } else if (this.mode === 'decline') await this.result(requestId, 'declined', c.amount, c.currency, client);
    } else if (type === 'cancel') {
      const f = this.final.get(requestId);
      const amount = f?.amount ?? this.charges.find((c) => c.requestId === requestId)?.amount ?? 0;
      if (f?.status === 'approved') await this.result(requestId, 'approved', amount, f.currency, client); // already taken: say so again
      else await this.result(requestId, 'cancelled', amount, undefined, client);
    } else if (type === 'endOfDay') {
      const payments = [...this.batch.values()];
      const ok = this.endOfDayFails === null;
      const totalAmount = payments.reduce((n, p) => n + p.amount, 0);
      const payload = ok
        ? { ts: new Date().toISOString(), cmdId, ok, resultCode: 0, totalAmount, currency: payments[0]?.currency ?? 'EUR', count: payments.length, receipt: ['KASSENSCHNITT', `Anzahl ${payments.length}`, `Summe ${(totalAmount / 100).toFixed(2)}`] }
        : { ts: new Date().toISOString(), cmdId, ok, resultCode: this.endOfDayFails!, error: 'end-of-day batch not possible' };
      if (ok) this.batch.clear();
      this.endOfDays.push(payload);
      this.events.emit('endOfDay', payload);
      await client.publishAsync(topics.evt('payment', this.o.id, 'endOfDay'), JSON.stringify(payload), { qos: 1 });
    }
  }
}
