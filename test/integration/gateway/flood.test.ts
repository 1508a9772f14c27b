/**
 * A known aedes failure does not take the gateway down: a stuck subscriber, several clients
 * flooding QoS 0 events, then every one of them killed with a backlog queued. The gateway (a real
 * child process here, so a crash would be visible as an exit) keeps serving. The recursion itself
 * (upstream mqemitter#204) is reproduced deterministically in test/unit/gateway/broker/mqGuard.test.ts;
 * this end-to-end shape did not crash bare aedes on this machine, so it proves survival, not the bug.
 */
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connectDevice, spawnGateway, writeConfigFile, TEST_SECRET, type TestDevice } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';

const tmp = tempDir('sgw-flood-');
afterAll(() => tmp.remove());

const FLOODERS: TestDevice[] = Array.from({ length: 8 }, (_, i) => ({ kind: 'rfid', id: `flood-${i}` }));
const PAD = 'x'.repeat(30_000);

describe('QoS 0 flood with a stuck subscriber, then everyone killed', () => {
  it('keeps the gateway alive and serving', async () => {
    const file = await writeConfigFile(tmp.dir, {
      dataDir: path.join(tmp.dir, 'data'),
      devices: [{ kind: 'footfall', id: 'door-1' }, { kind: 'footfall', id: 'door-2' }, ...FLOODERS],
      serviceUsers: [{ username: 'slow-reader', read: ['store/v1/dev/footfall/+/evt/#'] }],
    });
    const gw = await spawnGateway(file);
    const exited = new Promise<string>((r) => gw.proc.once('exit', (code, sig) => r(`exited ${code ?? sig}`)));
    try {
      // 1. A reader that stops reading: its socket fills and the bus's deliveries to it hang.
      const reader = await connectDevice(`mqtt://127.0.0.1:${gw.mqttPort}`, 'slow-reader', TEST_SECRET);
      await reader.subscribeAsync('store/v1/dev/footfall/+/evt/#', { qos: 0 });
      (reader as unknown as { stream: net.Socket }).stream.pause();
      const door = await connectDevice(`mqtt://127.0.0.1:${gw.mqttPort}`, 'footfall/door-1', TEST_SECRET);
      for (let i = 0; i < 600; i++) door.publish('store/v1/dev/footfall/door-1/evt/count', JSON.stringify({ ts: new Date().toISOString(), in: 1, out: 0, pad: PAD }), { qos: 0 });
      await door.publishAsync('store/v1/dev/footfall/door-1/evt/count', JSON.stringify({ ts: new Date().toISOString(), in: 1, out: 0 }), { qos: 1 });

      // 2. Flooders: QoS 0 events as fast as mqtt.js can write them.
      const flooders: MqttClient[] = await Promise.all(FLOODERS.map((d) => connectDevice(`mqtt://127.0.0.1:${gw.mqttPort}`, `rfid/${d.id}`, TEST_SECRET)));
      const payload = JSON.stringify({ ts: new Date().toISOString(), epc: '3074257BF7194E4000001A85', antenna: 1, rssi: -50 });
      for (let round = 0; round < 20; round++) {
        for (const [i, f] of flooders.entries()) for (let k = 0; k < 500; k++) f.publish(`store/v1/dev/rfid/flood-${i}/evt/read`, payload, { qos: 0 });
        await new Promise((r) => setImmediate(r));
      }
      // A QoS 1 marker after the flood: once acknowledged, the whole flood before it was ingested.
      await Promise.all(flooders.map((f, i) => f.publishAsync(`store/v1/dev/rfid/flood-${i}/evt/read`, payload, { qos: 1 })));

      // 3. Kill everyone abruptly, the stuck reader last.
      for (const f of flooders) f.end(true);
      door.end(true);
      (reader as unknown as { stream: net.Socket }).stream.destroy();
      reader.end(true);

      // 4. The gateway still serves: a fresh device gets its PUBACK (events committed, counted).
      const fresh = await connectDevice(`mqtt://127.0.0.1:${gw.mqttPort}`, 'footfall/door-2', TEST_SECRET);
      for (let i = 0; i < 5; i++) await fresh.publishAsync('store/v1/dev/footfall/door-2/evt/count', JSON.stringify({ ts: new Date().toISOString(), in: 1, out: 1 }), { qos: 1 });
      await fresh.endAsync();
      const health = await fetch(`http://127.0.0.1:${gw.httpPort}/healthz`);
      expect(health.status).toBe(200);
      const race = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('alive'), 500))]);
      expect(race).toBe('alive');
      expect(gw.output.join('\n')).not.toContain('Maximum call stack size exceeded');
    } finally {
      await gw.kill('SIGKILL');
    }
  }, 120_000);
});
