import { Refusals } from '../../protocol/schemas/api/common.js';
import { UplinkStatusSchema } from '../../protocol/schemas/api/uplink.js';
import { requireRole } from '../auth.js';
import type { TypedRoutes } from '../typeProvider.js';
import type { UplinkStatus } from '../../uplink/uplinkService.js';

export interface UplinkRouteDeps {
  status: () => Promise<UplinkStatus>;
}

/**
 * `GET /api/uplink` (viewer): the HQ link, the outbox backlog per class and its oldest age, the
 * quota (used, limit, days of outage left, evictions, the exact-records alert), compaction totals
 * and ratio, recent clock jumps — the same facts as the uplink metrics, for the ops page.
 */
export const uplinkRoutes: TypedRoutes<UplinkRouteDeps> = async (app, deps) => {
  app.get('/api/uplink', { preHandler: requireRole('viewer'), schema: { response: { 200: UplinkStatusSchema, ...Refusals } } }, async () => deps.status());
};
