/**
 * The sync report: built from the feed version gauges every feed subscriber keeps and the uplink's
 * status, checked against its wire schema, handed to the uplink as the retained `report/sync`.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../../../gateway/metrics.js';
import { SyncReporter } from '../../../../gateway/hq/syncReporter.js';
import { SyncReport } from '../../../../gateway/protocol/schemas/syncReport.js';
import { compile } from '../../../../gateway/protocol/validate.js';
import type { UplinkStatus } from '../../../../gateway/uplink/uplinkService.js';
import { tempDir } from '../../../helpers/tmp.js';

const NOW = Date.parse('2026-12-05T12:00:00.000Z');

describe('SyncReporter', () => {
  it('reports every feed and scope with its version and time, the backlog and the install id', async () => {
    const tmp = tempDir('sgw-sync-');
    const dir = tmp.dir;
    try {
      const metrics = new Metrics({ defaultMetrics: false });
      metrics.feedVersion.labels('prices', 'store').set(17);
      metrics.feedAppliedAt.labels('prices', 'store').set(NOW / 1000 - 60);
      metrics.feedVersion.labels('catalog', 'all').set(5); // applied before this start: no time
      const sent: Buffer[] = [];
      const status = { outbox: { total: 12 }, delivery: { lagS: 42.5, unackedBatches: 2, mode: 'ingest-ack' } } as unknown as UplinkStatus;
      const r = new SyncReporter({ storeId: 's-1', gatewayVersion: '9.9.9', dataDir: dir, metrics, uplink: { status: async () => status, report: (what, p) => void (what === 'sync' && sent.push(p)) }, log: pino({ level: 'silent' }), now: () => NOW, intervalMs: 60_000 });
      r.start();
      await r.stop();
      expect(sent).toHaveLength(1);
      const report = JSON.parse(sent[0].toString('utf8')) as unknown;
      expect(compile(SyncReport)(report)).toBe(true);
      expect(report).toEqual({
        ts: '2026-12-05T12:00:00.000Z',
        storeId: 's-1',
        gatewayVersion: '9.9.9',
        installId: expect.any(String),
        feeds: [
          { feed: 'catalog', scope: 'all', version: 5, appliedAt: null },
          { feed: 'prices', scope: 'store', version: 17, appliedAt: '2026-12-05T11:59:00.000Z' },
        ],
        outbox: { records: 12, oldestUnackedAgeS: 42.5, unackedBatches: 2, delivery: 'ingest-ack' },
      });
    } finally {
      tmp.remove();
    }
  });
});
