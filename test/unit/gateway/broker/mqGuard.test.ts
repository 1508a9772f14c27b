/**
 * The mqemitter recursion crash (upstream mcollina/mqemitter#204) reproduced on the library as
 * aedes uses it, and the guard that keeps the gateway alive. The unguarded run happens in a child
 * process, because the RangeError is thrown from a timer and would take this test runner down.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { guardedEmitter } from '../../../../gateway/broker/mqGuard.js';

const BACKLOG = 20_000;

/** 100 slow deliveries fill the concurrency; a backlog of messages nobody listens to queues behind them. */
const SCENARIO = `
  const mq = makeEmitter();
  let done = 0;
  mq.on('slow/topic', (msg, cb) => setImmediate(cb));
  for (let i = 0; i < 100; i++) mq.emit({ topic: 'slow/topic' });
  for (let i = 0; i < ${BACKLOG}; i++) mq.emit({ topic: 'nobody/listens' }, () => { done++; });
`;

describe('mqemitter backlog recursion', () => {
  it('crashes plain mqemitter with "Maximum call stack size exceeded" (the upstream bug is real)', () => {
    const script = `
      import MQEmitter from 'mqemitter';
      const makeEmitter = () => MQEmitter({ concurrency: 100 });
      ${SCENARIO}
      setTimeout(() => { console.log('survived', done); }, 200);
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd(), encoding: 'utf8', timeout: 30_000 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('Maximum call stack size exceeded');
  });

  it('survives with the guard, and every queued message is still delivered', async () => {
    const mq = guardedEmitter({ concurrency: 100 });
    let done = 0;
    mq.on('slow/topic', (_msg: unknown, cb: () => void) => setImmediate(cb));
    for (let i = 0; i < 100; i++) mq.emit({ topic: 'slow/topic' });
    const all = new Promise<void>((resolve) => {
      for (let i = 0; i < BACKLOG; i++)
        mq.emit({ topic: 'nobody/listens' }, () => {
          if (++done === BACKLOG) resolve();
        });
    });
    await all;
    expect(done).toBe(BACKLOG);
    expect((mq as unknown as { length: number }).length).toBe(0);
  });

  it('pins mqemitter exactly (the guard patches its private `_do`), in package.json and the lock alike', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> };
    const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, { version?: string; dependencies?: Record<string, string> }> };
    const spec = pkg.dependencies.mqemitter;
    expect(spec).toMatch(/^\d+\.\d+\.\d+$/);
    expect(lock.packages[''].dependencies?.mqemitter).toBe(spec);
    expect(lock.packages['node_modules/mqemitter'].version).toBe(spec);
  });
});
