/**
 * Exactly once through crashes: while two stores stream 200 batches, an ingest worker is killed
 * with SIGKILL (the supervisor starts it again), PostgreSQL stops hard (`-m immediate`, a crash:
 * WAL replay on start) and Mosquitto is SIGKILLed and started again. The publisher re-sends any
 * batch not acked within a timeout, as a gateway does. At the end every (store, seq) is stored
 * once and every batch was acked.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeBatch, record, startIngestStack, StorePublisher, type IngestStack, type TestBatch } from './ingestStack.js';

let stack: IngestStack;
let pub: StorePublisher;

beforeAll(async () => {
  stack = await startIngestStack({ workers: 3, persistence: true, ownCluster: true });
  pub = await StorePublisher.connect(stack.mosq.url, stack.signer);
});
afterAll(async () => {
  await pub?.close();
  await stack?.stop();
});

const RECORDS = 10;
const PER_STORE = 100;
// Batches lost to a kill are only re-sent after this: the test waits it out after each kill. A
// re-send of a batch that was merely slow is a duplicate, which HQ counts and does not store.
const RESEND_MS = 1500;
const WINDOW = 12;

it('stores each record exactly once and acks every batch through worker, PostgreSQL and broker kills', async () => {
  const batches: TestBatch[] = [];
  for (let b = 0; b < PER_STORE; b++) {
    for (const storeId of ['kill-a', 'kill-b']) batches.push(makeBatch(storeId, Array.from({ length: RECORDS }, (_, i) => record(1 + b * RECORDS + i))));
  }
  const acked = new Set<string>();
  const sentAt = new Map<string, number>();
  let next = 0;
  let done!: () => void;
  const allAcked = new Promise<void>((r) => (done = r));
  const key = (b: TestBatch): string => `${b.storeId}/${b.batchId}`;
  const send = (b: TestBatch): void => {
    sentAt.set(key(b), Date.now());
    // Publishing while the broker is down queues in mqtt.js; a lost one is covered by the re-send.
    pub.publish(b).catch(() => undefined);
  };
  const fill = (): void => {
    while (next < batches.length && sentAt.size - acked.size < WINDOW) send(batches[next++]);
  };
  const byKey = new Map(batches.map((b) => [key(b), b]));
  const onAck = (): void => {
    for (const a of pub.acks.splice(0)) {
      const b = byKey.get(`${a.storeId}/${a.body.batchId}`);
      if (!b || a.body.digest !== b.digest) continue;
      acked.add(key(b));
    }
    if (acked.size === batches.length) done();
    fill();
  };
  pub.client.on('message', () => queueMicrotask(onAck));
  // The gateway's re-send: any batch sent and not acked within RESEND_MS goes again.
  const resender = setInterval(() => {
    const now = Date.now();
    for (const [k, t] of sentAt) {
      if (!acked.has(k) && now - t > RESEND_MS) {
        send(byKey.get(k)!);
      }
    }
  }, 250);
  const ackedAtLeast = (n: number): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (acked.size >= n) {
          pub.client.off('message', tick);
          resolve();
        }
      };
      const tick = (): void => queueMicrotask(check);
      pub.client.on('message', tick);
      check();
    });

  fill();

  // 1. SIGKILL a worker mid-stream; the supervisor forks the slot again.
  await ackedAtLeast(30);
  const started = stack.lines.filter((l) => l.msg === 'worker started');
  const victim = started[1];
  const from = stack.lines.length;
  process.kill(victim.workerPid as number, 'SIGKILL');
  const restarted = await stack.waitLine((l) => l.msg === 'worker started' && l.worker === victim.worker, from);
  expect(restarted.workerPid).not.toBe(victim.workerPid);

  // 2. PostgreSQL crashes and comes back (WAL replay).
  await ackedAtLeast(80);
  await stack.pg.restart({ immediate: true });

  // 3. The broker is killed hard and started again on its persistence file.
  await ackedAtLeast(130);
  await stack.mosq.kill();
  await stack.mosq.start();

  await allAcked;
  clearInterval(resender);

  const rows = (
    await stack.db.query<{ store_id: string; n: string; lo: string; hi: string }>(
      'SELECT store_id, count(*) AS n, min(seq) AS lo, max(seq) AS hi FROM records GROUP BY store_id ORDER BY store_id',
    )
  ).rows;
  expect(rows).toEqual([
    { store_id: 'kill-a', n: String(PER_STORE * RECORDS), lo: '1', hi: String(PER_STORE * RECORDS) },
    { store_id: 'kill-b', n: String(PER_STORE * RECORDS), lo: '1', hi: String(PER_STORE * RECORDS) },
  ]);
  // Every copy that arrived again was the same content: nothing is a conflict, and each batch that
  // was stored more than once was counted as duplicates.
  const c = (await stack.db.query<{ conflicts: string; stored: string }>('SELECT sum(conflicts) AS conflicts, sum(stored) AS stored FROM batches')).rows[0];
  expect(c).toEqual({ conflicts: '0', stored: String(2 * PER_STORE * RECORDS) });
  expect(pub.refused).toEqual([]);
  // The one worker we killed died; the PostgreSQL and broker crashes killed none.
  expect(stack.lines.filter((l) => l.msg === 'worker died, restarting').map((l) => l.workerPid)).toEqual([victim.workerPid]);
  expect(await stack.metric('storegw_hq_ingest_worker_restarts_total')).toBe(1);
}, 120_000);
