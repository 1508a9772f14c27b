/**
 * The gateway killed with SIGKILL at the step boundaries of a sale (scan, pay sent,
 * approved, recorded in the ledger, forwarded to the outbox, session saved, thank-you). The real
 * gateway process halts itself at the named step (STOREGW_TEST_HALT_AT: SIGSTOP right after a
 * "test halt" log line) and the test SIGKILLs it there: no timers, no races. After every restart
 * the kiosk reaches "thank you" (never stuck), and over the whole run, on HQ's copy plus what is
 * left in the outbox: exactly one sale per payment the terminal approved, none without one, at most
 * one `result` record per payment request. Then a partial approval through the same process: the
 * payment is reversed, an attendant asked, no sale recorded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { G } from './kioskFixture.js';
import { countRecords, crashAt, expectExactSales, Life, setUpStore, STEPS, tearDownStore, terminal } from './saleCrashFixture.js';

// Four of the seven steps by default, one per kind of recovery (before the terminal has the charge,
// approved but not in the ledger, in the ledger, session saved), to keep the suite inside its CI
// budget; STOREGW_TEST_ALL_STEPS=1 kills at all seven. kioskSaleSoak.test.ts adds random ones.
const RUN: readonly (typeof STEPS)[number][] = process.env.STOREGW_TEST_ALL_STEPS === '1' ? STEPS : ['paySent', 'approved', 'recorded', 'sessionSaved'];

beforeAll(() => setUpStore());
afterAll(tearDownStore);

describe('a sale killed at every step boundary', () => {
  for (const step of RUN) {
    it(`killed at "${step}": after the restart the kiosk finishes, one sale per approved payment`, async () => {
      expect(await crashAt(step)).toMatch(/^[0-9a-f-]{36}$/);
      await expectExactSales();
      expect(terminal.reversals).toEqual([]);
    });
  }

  it('a partial approval (less than the charge) is reversed: an attendant is asked, the shopper told, no sale', async () => {
    terminal.approves = (c) => ({ amount: c.amount - 100, currency: c.currency });
    const life = await Life.start();
    try {
      if ((await life.page.next((m) => m.type === 'cart')).phase === 'done') {
        life.page.send({ type: 'cancel' }); // the next customer
        await life.page.next((m) => m.type === 'cart' && m.phase === 'idle');
      }
      await life.dev.scan('sc-1', G.milk);
      await life.page.next((m) => m.type === 'cart' && m.lines.length > 0 && m.phase === 'shopping');
      const reversed = new Promise<{ requestId: string; amount: number; receiptNo?: string }>((r) => terminal.events.once('reverse', r));
      life.page.send({ type: 'pay' });
      const v = await life.page.next((m) => m.type === 'cart' && m.notice?.code === 'payment_mismatch');
      expect(v.phase).toBe('shopping');
      expect(v.requests).toEqual([expect.objectContaining({ kind: 'override', item: expect.stringContaining('payment mismatch') })]);
      const r = await reversed;
      const charge = terminal.charges.find((c) => c.requestId === r.requestId)!;
      // The reversal names the terminal's receipt number of the approval, so it gives back exactly that payment.
      expect(r).toEqual({ requestId: charge.requestId, amount: charge.amount - 100, currency: 'EUR', receiptNo: expect.stringMatching(/^[0-9]{1,8}$/) });
      const sales = (await countRecords()).filter((x) => x.kind === 'kiosk' && x.type === 'transaction' && (x.data.payment as { requestId: string }).requestId === r.requestId);
      expect(sales).toEqual([]);
    } finally {
      terminal.approves = (c) => ({ amount: c.amount, currency: c.currency });
      await life.stop();
    }
    await expectExactSales();
  });
});
