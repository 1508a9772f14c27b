/**
 * Exact records the gateway writes about itself: what the quota evicted, a clock jump,
 * a record HQ will not take. They go through ingest like any device event, so they get a seq from
 * the one counter, the same durable commit, and reach HQ in order with the sales around them.
 *
 * Convention: deviceId `storegw`, type `alert` (exact for every kind; `data` is the Alert schema
 * `{ts, code, severity, message}` plus the facts as extra fields), and kind `light`. No kind in
 * the topic contract names the gateway itself; `light` is chosen because a light tower sends no
 * events of its own, so no per-kind statistic counts these by mistake. A `gateway` kind in
 * gateway/protocol/topics.ts would be the clean fix (proposed, not done: the contract is not ours).
 */
import type { DeviceEntry } from '../devices/registry.js';
import type { Ingest } from '../ingest/ingest.js';
import type { DeviceKind } from '../protocol/topics.js';
import { topics } from '../protocol/topics.js';
import { SELF_DEVICE_ID, SELF_KIND } from '../protocol/gatewayRecords.js';

export { SELF_DEVICE_ID, SELF_KIND };

export type SelfCode = 'OUTBOX_EVICTED' | 'CLOCK_JUMP' | 'CLOCK_BEHIND_AT_BOOT' | 'UPLINK_UNSENDABLE' | 'FEED_REJECTED' | 'FEED_STORE_FAILED' | 'FORGED_RECORD' | 'DUPLICATE_STORE_ID' | 'HQ_BATCH_UNACKED';

/** Appends gateway-internal exact records; resolves with the seq once committed. */
export class SelfRecords {
  private readonly device: DeviceEntry = {
    kind: SELF_KIND,
    id: SELF_DEVICE_ID,
    source: 'config',
    secretHash: null,
    bridge: null,
    location: 'the gateway itself',
    disabled: false,
    online: true,
    via: null,
    connectedAt: null,
    lastSeen: null,
    birth: null,
    lastEvents: {},
    events: 0,
    rejects: {},
    lastReject: null,
  };

  constructor(
    private readonly ingest: Ingest,
    private readonly now: () => number,
  ) {}

  record(code: SelfCode, severity: 'info' | 'warning' | 'critical', message: string, facts: Record<string, unknown>): Promise<number> {
    const payload = Buffer.from(JSON.stringify({ ts: new Date(this.now()).toISOString(), code, severity, message: message.slice(0, 1024), ...facts }), 'utf8');
    const topic = topics.evt(SELF_KIND, SELF_DEVICE_ID, 'alert');
    return new Promise((resolve, reject) => {
      const before = this.ingest.lastSeq;
      this.ingest.handle(this.device, 'alert', topic, payload, (err, rejected) => {
        if (err) reject(err);
        else if (rejected) reject(new Error(`a self record ${code} failed its own schema`));
        else resolve(before + 1);
      });
    });
  }
}
