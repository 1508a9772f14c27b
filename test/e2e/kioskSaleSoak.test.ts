/**
 * Issue 14, the randomized soak: seeded random kill points (a sale step, on the first or second
 * sale of a gateway life) across several sales, each a SIGKILL where the real gateway process
 * halted itself, then a restart that must finish the sale. Over the run: exactly one sale per
 * approved payment, none without one, at most one `result` record per payment request.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crashAt, expectExactSales, setUpStore, STEPS, tearDownStore, terminal } from './saleCrashFixture.js';

const SEED = 1414;
// Every step is killed once in kioskSaleCrash.test.ts; this soak adds random (step, nth sale)
// pairs. Four by default keeps the suite inside its CI budget; STOREGW_TEST_SOAK_RUNS=N runs more.
const RUNS = Number(process.env.STOREGW_TEST_SOAK_RUNS ?? 4);

beforeAll(() => setUpStore());
afterAll(tearDownStore);

describe('kiosk sales under random SIGKILLs', () => {
  it('a seeded soak: random kill points across several sales', async () => {
    const plans = fc.sample(fc.record({ step: fc.constantFrom(...STEPS), nth: fc.integer({ min: 1, max: 2 }) }), { seed: SEED, numRuns: RUNS });
    for (const p of plans) await crashAt(p.step, p.nth);
    await expectExactSales();
    expect(terminal.reversals).toEqual([]);
    expect(terminal.charges.length).toBeGreaterThanOrEqual(plans.length);
  });
});
