/**
 * `storegw-hq ingest --config FILE`: the reference ingest (hq/README.md). The composition root of
 * both roles: without `--worker` it is the supervisor, with `--worker N` (set by the supervisor
 * only) it is worker slot N.
 */
import { parseArgs } from 'node:util';
import { pino, type Logger, type LevelWithSilent } from 'pino';
import type { HqCommand, HqIo } from '../main.js';
import { loadIngestConfigFor, redactUrl } from './config.js';
import { IngestMetrics, isWorkerEvent } from './metrics.js';
import { Supervisor } from './supervisor.js';
import { IngestWorker } from './worker.js';

function createLog(level: LevelWithSilent, base: Record<string, unknown>): Logger {
  return pino(
    {
      name: 'storegw-hq-ingest',
      level,
      base: { pid: process.pid, ...base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ dest: 1, sync: true }),
  );
}

/**
 * Resolves on the first SIGTERM or SIGINT. The handlers stay: a second signal (Ctrl-C reaches the
 * supervisor and its workers alike) must not kill a worker halfway through its clean stop.
 */
function stopSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.on('SIGTERM', () => resolve('SIGTERM'));
    process.on('SIGINT', () => resolve('SIGINT'));
  });
}

async function run(args: string[], io: HqIo): Promise<number> {
  let values: { config?: string; worker?: string };
  try {
    ({ values } = parseArgs({ args, options: { config: { type: 'string' }, worker: { type: 'string' } }, strict: true }));
  } catch (err) {
    io.err(`storegw-hq ingest: ${(err as Error).message}\nusage: storegw-hq ingest --config FILE\n`);
    return 2;
  }
  if (!values.config) {
    io.err('storegw-hq ingest: --config FILE is required\n');
    return 2;
  }
  const config = loadIngestConfigFor('ingest', values.config, io.err);
  if (!config) return 2;
  // Files the ingest creates (none today besides logs through the journal) are its user's alone.
  process.umask(0o077);

  if (values.worker !== undefined) {
    const slot = Number(values.worker);
    const log = createLog(config.log.level, { worker: slot });
    const worker = new IngestWorker({ config, slot, log, onEvent: config.metrics ? (e) => process.send?.(e) : undefined });
    // The supervisor gone (killed hard): a worker without it must not live on unsupervised.
    const orphaned = (): void => void process.kill(process.pid, 'SIGTERM');
    process.on('disconnect', orphaned);
    const stopped = stopSignal();
    const started = worker.start();
    // A stop while still starting (the database away, say) must not wait for the start to finish.
    const sig = await Promise.race([stopped, started.then(() => stopped)]);
    log.info({ signal: sig, counts: worker.counts }, 'worker stopping');
    await worker.stop();
    await started.catch(() => undefined);
    // The IPC channel to the supervisor would keep this process alive after everything closed.
    process.off('disconnect', orphaned);
    process.disconnect?.();
    return 0;
  }

  const log = createLog(config.log.level, { role: 'supervisor' });
  const metrics = config.metrics ? new IngestMetrics() : undefined;
  if (metrics && config.metrics) {
    const at = config.metrics.listen.lastIndexOf(':');
    const port = await metrics.listen(config.metrics.listen.slice(0, at), Number(config.metrics.listen.slice(at + 1)));
    log.info({ port }, 'metrics listening');
  }
  const supervisor = new Supervisor({
    onMessage: (_slot, m) => {
      if (isWorkerEvent(m)) metrics?.observe(m);
    },
    onRestart: () => metrics?.restarts.inc(),
    workers: config.workers,
    workerArgs: (slot) => ({ module: process.argv[1], args: ['ingest', '--config', values.config!, '--worker', String(slot)] }),
    log,
  });
  const stopped = stopSignal();
  supervisor.start();
  log.info({ workers: config.workers, shareGroup: config.shareGroup, broker: redactUrl(config.mqtt.url) }, 'ingest started');
  const sig = await stopped;
  log.info({ signal: sig }, 'ingest stopping');
  await supervisor.stop();
  await metrics?.close();
  log.info({ restarts: supervisor.restarts }, 'ingest stopped');
  return 0;
}

const command: HqCommand = {
  summary: 'the reference ingest: store batches from HQ\'s MQTT broker into PostgreSQL, ack after commit',
  run,
};
export default command;
