/**
 * Two real gateways configured with one storeId against one real Mosquitto as HQ: they take the
 * HQ session from each other (one client id), each sees the other's install id in the retained
 * status, and the one that sees it on a second connect stops its uplink, raises the critical
 * DUPLICATE_STORE_ID alert naming both install ids, and shows it on /healthz and /metrics.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metric, startGateway, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';

let hq: Mosquitto;
const gws: RunningGateway[] = [];
const alerts: { gw: number; data: Record<string, any> }[] = [];
let onAlert: (() => void) | null = null;

function config(url: string) {
  return {
    hq: { url },
    prices: { enabled: false }, // the feed intake needs HQ keys; not under test here
    uplink: { batchMaxAgeMs: 20, backoffInitialMs: 50, backoffMaxMs: 300, checkIntervalMs: 60_000 },
  };
}

beforeAll(async () => {
  hq = await startMosquitto();
  // Both with the harness's storeId, each with its own data folder: two boxes, one config.
  for (let i = 0; i < 2; i++) {
    const gw = await startGateway({ extra: config(hq.url) });
    gw.gw.onEvent((e) => {
      if (e.type !== 'alert' || !e.data.includes('DUPLICATE_STORE_ID')) return;
      alerts.push({ gw: i, data: JSON.parse(e.data) as Record<string, any> });
      onAlert?.();
    });
    gws.push(gw);
  }
});
afterAll(async () => {
  for (const g of gws) await g.stop();
  await hq.stop();
});

const installId = (g: RunningGateway) => readFileSync(path.join(g.dataDir, 'install-id'), 'utf8').trim();

describe('two gateways with one storeId', () => {
  it('are detected: one stops its uplink and raises DUPLICATE_STORE_ID naming both install ids', async () => {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no DUPLICATE_STORE_ID alert within 15 s')), 15_000);
      onAlert = () => (clearTimeout(t), resolve());
      if (alerts.length > 0) onAlert();
    });
    const { gw: i, data } = alerts[0]!;
    const me = gws[i]!;
    const other = gws[1 - i]!;
    expect(installId(me)).not.toBe(installId(other));
    expect(data).toMatchObject({ code: 'DUPLICATE_STORE_ID', severity: 'critical', duplicateStoreId: { storeId: 'test-store', installId: installId(me), otherInstallId: installId(other) } });

    const state = me.gw.uplink.uplink!.state;
    expect(state.connected).toBe(false);
    expect(state.duplicateStoreId).toMatchObject({ installId: installId(me), otherInstallId: installId(other) });
    const health = (await (await fetch(`${me.httpUrl}/healthz`)).json()) as { checks: Record<string, any> };
    expect(health.checks.duplicateStoreId).toMatchObject({ storeId: 'test-store', installId: installId(me), otherInstallId: installId(other) });
    expect(await metric(me.httpUrl, 'storegw_uplink_duplicate_store_id')).toBe(1);
    // Logged as an error, once, with both ids.
    expect(me.logs.some((l) => l.msg === 'another gateway uses this storeId: uplink stopped (give each box its own storeId, then restart)')).toBe(true);
  });
});
