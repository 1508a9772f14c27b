import { describe, expect, it } from 'vitest';
import { LabelTracker } from '../../../../gateway/prices/labels.js';

const online = () => true;
function tracker(maxAttempts = 3) {
  return new LabelTracker({ ackTimeoutMs: 1000, maxAttempts, backoff: { initialMs: 100, maxMs: 1000, jitter: 0 }, random: () => 0 });
}
function sendDue(t: LabelTracker, now: number, prefix = 'c'): string[] {
  const ids: string[] = [];
  let n = 0;
  for (const [ap, list] of t.due(now, online)) {
    const cmdId = `${prefix}${n++}`;
    t.markSent(cmdId, ap, list.map((l) => ({ labelId: l.labelId, hash: l.target! })), now);
    ids.push(cmdId);
  }
  return ids;
}

describe('LabelTracker', () => {
  it('a new target is pending and stale until its ack; the same target again is never re-sent', () => {
    const t = tracker();
    expect(t.setTarget('L1', 'h1', 'ap-1', 0)).toBe(true);
    expect(t.counts()).toMatchObject({ total: 1, stale: 1, pending: 1 });
    const [cmd] = sendDue(t, 0);
    expect(t.counts()).toMatchObject({ stale: 1, sent: 1 });
    expect(t.onAck('ap-1', cmd, [{ labelId: 'L1', ok: true, shownHash: 'h1' }], null, 10)).toBe(1);
    expect(t.counts()).toMatchObject({ current: 1, stale: 0 });
    expect(t.setTarget('L1', 'h1', 'ap-1', 20)).toBe(false);
    expect(t.due(20, online).size).toBe(0);
    expect(t.list('current').map((l) => l.labelId)).toEqual(['L1']);
  });

  it('an ack for an older content does not make the label current', () => {
    const t = tracker();
    t.setTarget('L1', 'h1', 'ap-1', 0);
    const [c1] = sendDue(t, 0);
    t.setTarget('L1', 'h2', 'ap-1', 5);
    t.onAck('ap-1', c1, [{ labelId: 'L1', ok: true, shownHash: 'h1' }], null, 10);
    expect(t.list('stale').map((l) => l.labelId)).toEqual(['L1']);
    expect(t.labels.get('L1')).toMatchObject({ acked: 'h1', target: 'h2', state: 'pending' });
  });

  it('FIFO at the AP: an ack for a later command proves the earlier unanswered one lost', () => {
    const t = tracker();
    t.setTarget('A', 'ha', 'ap-1', 0);
    const [c1] = sendDue(t, 0, 'x');
    t.setTarget('B', 'hb', 'ap-1', 1);
    const [c2] = sendDue(t, 1, 'y');
    t.onAck('ap-1', c2, [{ labelId: 'B', ok: true, shownHash: 'hb' }], null, 50);
    expect(t.labels.get('A')).toMatchObject({ state: 'pending', err: expect.stringContaining('later command'), nextAt: 150 });
    expect(t.isOutstanding(c1)).toBe(false);
    expect(t.due(149, online).size).toBe(0);
    expect(t.due(150, online).get('ap-1')!.map((l) => l.labelId)).toEqual(['A']);
  });

  it('an AP that acks out of order (OpenEPaperLink): a later ack proves nothing; each command times out on its own', () => {
    const t = tracker();
    const ooo = (ap: string) => ap === 'ap-1';
    t.setTarget('A', 'ha', 'ap-1', 0);
    const [c1] = sendDue(t, 0, 'x');
    t.setTarget('B', 'hb', 'ap-1', 400);
    const [c2] = sendDue(t, 400, 'y');
    // B's tag checked in first: A is still on its way, not lost.
    expect(t.onAck('ap-1', c2, [{ labelId: 'B', ok: true, shownHash: 'hb' }], null, 500, true)).toBe(1);
    expect(t.labels.get('A')).toMatchObject({ state: 'sent', err: null });
    expect(t.isOutstanding(c1)).toBe(true);
    expect(t.onAck('ap-1', c1, [{ labelId: 'A', ok: true, shownHash: 'ha' }], null, 700, true)).toBe(1);
    expect(t.counts()).toMatchObject({ current: 2, stale: 0 });
    // A command of that AP is lost only ackTimeoutMs after it was sent, even while others are answered.
    t.setTarget('C', 'hc', 'ap-1', 1000);
    const [c3] = sendDue(t, 1000, 'z');
    t.setTarget('D', 'hd', 'ap-1', 1500);
    const [c4] = sendDue(t, 1500, 'w');
    expect(t.expire(1999, online, ooo)).toBe(0);
    expect(t.expire(2000, online, ooo)).toBe(1);
    expect(t.labels.get('C')).toMatchObject({ state: 'pending', err: 'no ack within 1000 ms' });
    expect(t.isOutstanding(c4)).toBe(true);
    expect(t.isOutstanding(c3)).toBe(false);
  });

  it('watchdog: a silent AP lost its oldest command; after maxAttempts the label is failed until the AP reconnects', () => {
    const t = tracker(2);
    t.setTarget('A', 'ha', 'ap-1', 0);
    sendDue(t, 0, 'a');
    expect(t.expire(999, online)).toBe(0);
    expect(t.expire(1000, online)).toBe(1);
    expect(t.labels.get('A')).toMatchObject({ state: 'pending', attempts: 1 });
    sendDue(t, 1100, 'b');
    expect(t.expire(1500, () => false)).toBe(0); // offline APs are not timed out
    expect(t.expire(2100, online)).toBe(1);
    expect(t.labels.get('A')).toMatchObject({ state: 'failed', attempts: 2 });
    expect(t.list('failed').map((l) => l.labelId)).toEqual(['A']);
    expect(t.due(9999, online).size).toBe(0);
    t.apOnline('ap-1', 3000);
    expect(t.labels.get('A')).toMatchObject({ state: 'pending', attempts: 0 });
  });

  it('an AP that reconnects gets its sent-but-unanswered labels again', () => {
    const t = tracker();
    t.setTarget('A', 'ha', 'ap-1', 0);
    t.setTarget('B', 'hb', 'ap-2', 0);
    sendDue(t, 0);
    t.apOnline('ap-1', 10);
    expect([...t.due(10, online).keys()]).toEqual(['ap-1']);
    expect(t.labels.get('B')!.state).toBe('sent');
  });

  it('a refused label is retried with backoff; an ack without labels covers the whole command', () => {
    const t = tracker();
    t.setTarget('A', 'ha', 'ap-1', 0);
    t.setTarget('B', 'hb', 'ap-1', 0);
    const [c] = sendDue(t, 0);
    t.onAck('ap-1', c, [{ labelId: 'A', ok: false, error: 'no answer' }], null, 10);
    expect(t.labels.get('A')).toMatchObject({ state: 'pending', err: 'no answer', nextAt: 110 });
    t.onAck('ap-1', c, null, { ok: true }, 20);
    expect(t.labels.get('B')).toMatchObject({ state: 'acked', acked: 'hb' });
    expect(t.outstandingCommands()).toBe(0);
  });

  it('status: the AP that hears a label becomes its AP, and a label already showing its target is current', () => {
    const t = tracker();
    t.setTarget('A', 'ha', 'ap-1', 0);
    t.onStatus('ap-7', [{ labelId: 'A', shownHash: 'ha' }]);
    expect(t.labels.get('A')).toMatchObject({ ap: 'ap-7', state: 'acked' });
    expect(LabelTracker.apOf(t.labels.get('A')!)).toBe('ap-7');
  });

  it('restores from SQLite rows: sent becomes pending (its command died with the process)', () => {
    const t = tracker();
    t.restore({ labelId: 'A', ap: 'ap-1', target: 'h', acked: null, state: 1, attempts: 1, nextAt: 0, err: null });
    expect(t.labels.get('A')!.state).toBe('pending');
    expect(t.setTarget('A', 'h', 'ap-1', 0)).toBe(false);
    expect(t.takeDirty().rows).toEqual([]);
    t.setTarget('A', 'h2', 'ap-1', 5);
    expect(t.takeDirty().rows).toEqual([{ labelId: 'A', ap: 'ap-1', target: 'h2', acked: null, state: 0, attempts: 0, nextAt: 5, err: null }]);
  });
});

describe('LabelTracker counts', () => {
  it('incremental counts always equal a full scan (random operations)', async () => {
    const fc = (await import('fast-check')).default;
    const op = fc.oneof(
      fc.record({ k: fc.constant('target' as const), l: fc.integer({ min: 0, max: 5 }), h: fc.option(fc.integer({ min: 0, max: 2 })) }),
      fc.record({ k: fc.constant('send' as const) }),
      fc.record({ k: fc.constant('ack' as const), l: fc.integer({ min: 0, max: 5 }), ok: fc.boolean(), h: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ k: fc.constant('status' as const), l: fc.integer({ min: 0, max: 5 }), h: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ k: fc.constant('expire' as const) }),
      fc.record({ k: fc.constant('online' as const) }),
      fc.record({ k: fc.constant('remove' as const), l: fc.integer({ min: 0, max: 5 }) }),
      fc.record({ k: fc.constant('resend' as const), l: fc.integer({ min: 0, max: 5 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const t = tracker(2);
        let now = 0;
        let c = 0;
        const cmds: string[] = [];
        for (const o of ops) {
          now += 300;
          if (o.k === 'target') t.setTarget(`L${o.l}`, o.h === null ? null : `h${o.h}`, 'ap-1', now);
          else if (o.k === 'send') cmds.push(...sendDue(t, now + 5000, `c${c++}-`));
          else if (o.k === 'ack' && cmds.length > 0) t.onAck('ap-1', cmds[o.l % cmds.length], [{ labelId: `L${o.l}`, ok: o.ok, shownHash: `h${o.h}` }], null, now);
          else if (o.k === 'status') t.onStatus('ap-1', [{ labelId: `L${o.l}`, shownHash: `h${o.h}` }]);
          else if (o.k === 'expire') t.expire(now + 5000, online);
          else if (o.k === 'online') t.apOnline('ap-1', now);
          else if (o.k === 'remove') t.remove(`L${o.l}`);
          else if (o.k === 'resend') t.resend(`L${o.l}`, now);
          expect(t.counts()).toEqual(t.countsByScan());
        }
      }),
      { numRuns: 300 },
    );
  });
});
