/** HQ_BATCH_UNACKED: raised once per batch, at exactly the configured number of sends, naming it. */
import { describe, expect, it } from 'vitest';
import { stuckBatchAlert } from '../../../../gateway/uplink/batcher.js';

const batch = { batchId: 'b-42', seqFrom: 100, seqTo: 149, records: 50 };
const d = { stuckAttempts: 5, maxUnacked: 8 };

describe('stuck batch alert', () => {
  it('is raised at exactly the configured attempt, not before, not again after', () => {
    expect([1, 2, 3, 4, 6, 7, 50].map((n) => stuckBatchAlert(batch, n, d))).toEqual([null, null, null, null, null, null, null]);
    const a = stuckBatchAlert(batch, 5, d)!;
    expect(a.message).toBe("batch b-42 (records 100–149, 50) sent 5 times without HQ's acknowledgement: HQ's ingest may be refusing it (see its rejected batches); 8 such batches stop delivery to HQ");
    expect(a.facts).toEqual({ unacked: { batchId: 'b-42', seqFrom: 100, seqTo: 149, records: 50, attempts: 5 } });
  });
});
