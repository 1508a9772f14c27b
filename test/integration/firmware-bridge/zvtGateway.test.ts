/**
 * A ZVT payment end to end, real parts only: the gateway's command service sends `charge` over
 * MQTT → the bridge (config parsed, drivers built by the factory, real TcpTransport) → the ZVT
 * driver → TCP → the simulated terminal; its answers come back as `status`, `result` and `ack`
 * events that the gateway validates and commits to its outbox.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { startGateway, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';
import { committedEvents, paymentOnline } from './zvtFixture.js';
import { parseBridgeConfig } from '../../../firmware-bridge/config.js';
import { createDrivers, type Transports } from '../../../firmware-bridge/driverFactory.js';
import { Bridge } from '../../../firmware-bridge/bridge.js';
import { TcpTransport } from '../../../firmware-bridge/transports/tcp.js';
import { ZvtSim } from '../../../firmware-bridge/devices/zvt/sim.js';

let gw: RunningGateway;
let tmp: { dir: string; remove: () => void };
let sim: ZvtSim;
let bridge: Bridge;
let events: ReturnType<typeof committedEvents>;
const committedEvent = (match: (type: string, d: Record<string, unknown>) => boolean) => events.payment(match);

/** Sends a command the way the kiosk does and waits for its ack. */
async function command(type: string, data: Record<string, unknown>): Promise<Record<string, unknown>> {
  const cmdId = await gw.gw.commands.send('payment', 'pt-1', type, data, { source: 'test' });
  return committedEvent((t, d) => t === 'ack' && d.cmdId === cmdId);
}

const result = (requestId: string) => committedEvent((t, d) => t === 'result' && d.requestId === requestId);

beforeAll(async () => {
  tmp = tempDir('sgw-zvt-e2e-');
  sim = new ZvtSim({ seed: 11 });
  await sim.start();
  gw = await startGateway({ devices: [{ kind: 'payment', id: 'pt-1', bridge: 'kb' }], bridges: ['kb'] });
  events = committedEvents(gw);
  const raw = {
    log: { level: 'silent' },
    mqtt: { url: gw.mqttUrl, username: 'bridge/kb', password: TEST_SECRET, reconnect: { initialMs: 50, maxMs: 500 } },
    portBackoff: { initialMs: 20, maxMs: 200 },
    devices: [
      {
        kind: 'payment',
        id: 'pt-1',
        protocol: 'zvt',
        tcp: { host: '127.0.0.1', port: sim.port },
        options: { stateDir: path.join(tmp.dir, 'state'), currency: 'EUR', t3Ms: 2000, t4Ms: 3000, statusIntervalMs: 200 },
      },
    ],
  };
  const parsed = parseBridgeConfig(stringify(raw));
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  const fail = (): never => {
    throw new Error('not used here');
  };
  const transports: Transports = { serial: fail, hid: fail, gpioIn: fail, gpioOut: fail, tcp: (o) => new TcpTransport(o) };
  const logger = pino({ level: 'silent' });
  bridge = new Bridge({ url: gw.mqttUrl, username: 'bridge/kb', password: TEST_SECRET, drivers: createDrivers(parsed.config, { transports, logger }), logger, reconnect: parsed.config.mqtt.reconnect });
  const up = paymentOnline(gw, 'pt-1', true);
  await bridge.start();
  await up;
}, 30_000);

afterAll(async () => {
  await bridge?.stop();
  await sim?.stop();
  await gw?.stop();
  tmp?.remove();
});

describe('ZVT payment: gateway ↔ bridge ↔ simulated terminal', () => {
  it('birth names the terminal; the idle Status Enquiry keeps asking it', async () => {
    expect(gw.gw.registry.get('payment', 'pt-1')!.birth).toMatchObject({ model: 'ZVT terminal', capabilities: ['charge', 'cancel', 'reverse', 'endOfDay'], bridge: 'kb' });
    if (!sim.books.commands.some((c) => c.type === 'statusEnquiry')) {
      await new Promise<void>((resolve) => sim.books.on('command', (c) => c.type === 'statusEnquiry' && resolve()));
    }
    expect(sim.books.commands.find((c) => c.type === 'statusEnquiry')).toMatchObject({ password: '000000', serviceByte: 2 });
  });

  it('a charge approved end to end: ack, prompts, result with the receipt details', async () => {
    expect(await command('charge', { requestId: 'g-ok', amount: 1999, currency: 'EUR' })).toMatchObject({ ok: true });
    const r = await result('g-ok');
    expect(r).toMatchObject({ status: 'approved', amount: 1999, currency: 'EUR', resultCode: 0, terminalId: '29001006', cardType: 'Debit Mastercard', maskedPan: '************4771', authCode: expect.stringMatching(/^[0-9]+$/) });
    expect(r.receipt).toEqual(expect.arrayContaining(['Kundenbeleg', 'Betrag EUR 19.99']));
    const prompts = events.all.filter((e) => e.type === 'status' && (JSON.parse(e.data) as { requestId: string }).requestId === 'g-ok');
    expect(prompts.map((e) => (JSON.parse(e.data) as { prompt: string }).prompt)).toEqual(['insertCard', 'pleaseWait']);
  });

  it('a decline (amount ending 13)', async () => {
    await command('charge', { requestId: 'g-dec', amount: 813, currency: 'EUR' });
    expect(await result('g-dec')).toMatchObject({ status: 'declined', resultCode: 5 });
  });

  it('a cancel while the terminal waits for the card', async () => {
    await command('charge', { requestId: 'g-can', amount: 2555, currency: 'EUR' });
    await committedEvent((t, d) => t === 'status' && d.requestId === 'g-can');
    expect(await command('cancel', { requestId: 'g-can' })).toMatchObject({ ok: true });
    expect(await result('g-can')).toMatchObject({ status: 'cancelled', resultCode: 0x6c });
  });

  it('dropped after the Status-Information, before the ack: not paid (the terminal reversed it)', async () => {
    const offline = paymentOnline(gw, 'pt-1', false);
    await command('charge', { requestId: 'g-drop1', amount: 3092, currency: 'EUR' });
    expect(await result('g-drop1')).toMatchObject({ status: 'declined', recovered: true, reversed: true });
    await offline;
    await paymentOnline(gw, 'pt-1', true);
    expect(sim.books.transactions.find((t) => t.kind === 'payment' && t.info.amount === 3092)).toMatchObject({ committed: false, reversed: true });
  });

  it('dropped after the ack: approved, recovered, with the receipt from the Repeat Receipt', async () => {
    await command('charge', { requestId: 'g-drop2', amount: 3093, currency: 'EUR' });
    const r = await result('g-drop2');
    expect(r).toMatchObject({ status: 'approved', recovered: true, amount: 3093 });
    expect(r.receipt).toContain('Kundenbeleg');
    expect(sim.books.transactions.find((t) => t.kind === 'payment' && t.info.amount === 3093)).toMatchObject({ committed: true, reversed: false });
  });

  it('a reversal by receipt number, then end-of-day over what stands', async () => {
    const paid = await result('g-ok');
    expect(await command('reverse', { requestId: 'g-ok', amount: 1999, currency: 'EUR', receiptNo: paid.receiptNo })).toMatchObject({ ok: true });
    expect(await committedEvent((t, d) => t === 'result' && d.requestId === 'g-ok' && d.status === 'cancelled')).toMatchObject({ resultCode: 0 });
    const ack = await command('endOfDay', {});
    expect(ack).toMatchObject({ ok: true });
    const eod = await committedEvent((t, d) => t === 'endOfDay' && d.cmdId === ack.cmdId);
    // Standing: 3093 (approved after the drop); 1999 was reversed, 3092 auto-reversed.
    expect(eod).toMatchObject({ ok: true, resultCode: 0, totalAmount: 3093, count: 1, currency: 'EUR' });
  });

  it('a currency the terminal was not registered for is refused, naming the field', async () => {
    expect(await command('charge', { requestId: 'g-usd', amount: 100, currency: 'USD' })).toMatchObject({ ok: false, error: expect.stringMatching(/^currency:/) });
  });
});
