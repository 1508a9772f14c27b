/**
 * Text with `$` patterns is stored exactly as acknowledged. `String.prototype.replace` gives
 * `$&`, `$$`, `` $` `` and `$'` a meaning in its replacement string; SQL built that way stored
 * `$&` altered and never acknowledged `` $` ``. Values are bound now, never spliced into SQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connectDevice, startGateway, ts, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';

let g: RunningGateway;
let scanner: MqttClient;

beforeAll(async () => {
  g = await startGateway({ devices: [{ kind: 'scanner', id: 'scan-1' }] });
  scanner = await connectDevice(g.mqttUrl, 'scanner/scan-1', TEST_SECRET);
});
afterAll(async () => {
  await scanner.endAsync(true);
  await g.stop();
});

/** A PUBACK within `ms`, or a failure that says it never came. */
function acked(p: Promise<unknown>, what: string, ms = 8_000): Promise<unknown> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise((_, reject) => (t = setTimeout(() => reject(new Error(`${what}: no PUBACK in ${ms} ms`)), ms)))]).finally(() => clearTimeout(t));
}

const PATTERNS = ['a$&b', 'a$$b', 'a$`b', "a$'b", "$'; DROP TABLE events; --", '$1 $<name> \\\' "'];

describe('values with $ patterns are stored exactly', () => {
  it.each(PATTERNS)('an event with %j comes back identical', async (code) => {
    const from = g.gw.ingest.lastSeq + 1;
    await acked(scanner.publishAsync('store/v1/dev/scanner/scan-1/evt/scan', JSON.stringify({ ts: ts(), code }), { qos: 1 }), code);
    const recs = await g.gw.outbox.read(from, 10);
    expect(recs.map((r) => r.data.code)).toEqual([code]);
  });

  it.each(PATTERNS)('a dead letter with %j is stored verbatim', async (code) => {
    // One breaks the schema (ts is not a date-time), one is not JSON at all.
    for (const p of [`{"ts": 12, "code": ${JSON.stringify(code)}}`, `not json ${code}`]) {
      await acked(scanner.publishAsync('store/v1/dev/scanner/scan-1/evt/scan', p, { qos: 1 }), p);
      const dead = await g.gw.outbox.recentDeadLetters('scan-1', 1);
      expect(dead[0].payload).toBe(p);
    }
  });

  it('a dead letter longer than 4 KiB keeps whole characters only', async () => {
    const p = `{"ts": 12, "code": "${'a'.repeat(4074)}😀😀"}`; // the first emoji straddles byte 4096
    await acked(scanner.publishAsync('store/v1/dev/scanner/scan-1/evt/scan', p, { qos: 1 }), 'long');
    const dead = await g.gw.outbox.recentDeadLetters('scan-1', 1);
    expect(dead[0].payload).toBe(p.slice(0, p.indexOf('😀')));
  });

  it('text with an unpaired surrogate is refused naming the field, kept verbatim as a dead letter', async () => {
    const p = JSON.stringify({ ts: ts(), code: 'JAM', severity: 'warning', message: 'ok \ud800 then $&' });
    await acked(scanner.publishAsync('store/v1/dev/scanner/scan-1/evt/alert', p, { qos: 1 }), 'lone surrogate');
    const dead = await g.gw.outbox.recentDeadLetters('scan-1', 1);
    expect(dead[0].payload).toBe(p);
    expect(dead[0].reason).toBe('data.message: must be Unicode text (holds an unpaired UTF-16 surrogate)');
  });
});
