/**
 * The feed worker thread (see feedCheck.ts for why): its own small program, built to
 * dist/feedWorker.js beside dist/storegw.js. It builds the verifier from `workerData` (store id,
 * HQ public keys), says ready, then answers each `CheckRequest` with the verdict and the prepared
 * table writes — or with the error, so the main thread can check that feed itself.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { checkFeed, createPriceFeedVerifier, type CheckReply, type CheckRequest, type FeedCheckData } from './feedCheck.js';

const port = parentPort;
if (!port) throw new Error('feedWorker: runs as a worker thread started by FeedChecker (feedCheck.ts)');
const verify = createPriceFeedVerifier(workerData as FeedCheckData);

port.on('message', (m: CheckRequest) => {
  let reply: CheckReply;
  try {
    const payload = Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength);
    reply = { id: m.id, result: checkFeed(verify, payload, m.ctx) };
  } catch (err) {
    reply = { id: m.id, error: (err as Error).message };
  }
  port.postMessage(reply);
});
port.postMessage({ ready: true } satisfies CheckReply);
