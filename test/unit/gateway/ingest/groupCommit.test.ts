import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../../../../gateway/ingest/groupCommit.js';

/** A commit function whose transactions the test finishes by hand. */
function manualCommit<T>() {
  const calls: { items: T[]; resolve: () => void; reject: (e: Error) => void }[] = [];
  const commit = (items: T[]) =>
    new Promise<void>((resolve, reject) => {
      calls.push({ items: [...items], resolve, reject });
    });
  return { calls, commit };
}
/** Lets the promise callbacks of a settled commit run. */
const settle = () => new Promise<void>((r) => setImmediate(r));

function recorder() {
  const results = new Map<string, Error | null>();
  const done = (id: string) => (err: Error | null) => {
    expect(results.has(id), `${id} settled twice`).toBe(false);
    results.set(id, err);
  };
  return { results, done };
}

describe('GroupCommit', () => {
  it('a lone item commits at once, alone', async () => {
    const m = manualCommit<string>();
    const gc = new GroupCommit(m.commit, 100);
    const r = recorder();
    gc.add('a', r.done('a'));
    expect(m.calls.map((c) => c.items)).toEqual([['a']]);
    expect(r.results.size).toBe(0); // not before the commit finished
    m.calls[0].resolve();
    await settle();
    expect(r.results.get('a')).toBeNull();
    expect(gc.stats).toMatchObject({ commits: 1, items: 1, lastBatch: 1, inFlight: false, queued: 0 });
  });

  it('items that arrive while a commit is in flight go together in the next one', async () => {
    const m = manualCommit<string>();
    const gc = new GroupCommit(m.commit, 100);
    const r = recorder();
    gc.add('a', r.done('a'));
    for (const id of ['b', 'c', 'd']) gc.add(id, r.done(id));
    expect(m.calls).toHaveLength(1);
    expect(gc.stats).toMatchObject({ inFlight: true, queued: 3 });
    m.calls[0].resolve();
    await settle();
    expect(m.calls.map((c) => c.items)).toEqual([['a'], ['b', 'c', 'd']]);
    expect([...r.results.keys()]).toEqual(['a']);
    m.calls[1].resolve();
    await settle();
    expect([...r.results.entries()]).toEqual([['a', null], ['b', null], ['c', null], ['d', null]]);
    expect(gc.stats).toMatchObject({ commits: 2, items: 4, lastBatch: 3 });
  });

  it('a batch never exceeds maxBatch; the rest follows in order', async () => {
    const m = manualCommit<number>();
    const gc = new GroupCommit(m.commit, 3);
    const r = recorder();
    for (let i = 0; i < 8; i++) gc.add(i, r.done(String(i)));
    for (let k = 0; k < 4 && m.calls[k]; k++) {
      m.calls[k].resolve();
      await settle();
    }
    expect(m.calls.map((c) => c.items)).toEqual([[0], [1, 2, 3], [4, 5, 6], [7]]);
    expect(r.results.size).toBe(8);
  });

  it("a failed commit reaches exactly that batch's callbacks, and the next batch still commits", async () => {
    const m = manualCommit<string>();
    const gc = new GroupCommit(m.commit, 100);
    const r = recorder();
    gc.add('a', r.done('a'));
    gc.add('b', r.done('b'));
    gc.add('c', r.done('c'));
    m.calls[0].resolve(); // ['a']
    await settle();
    gc.add('d', r.done('d')); // queued behind ['b','c']
    const boom = new Error('disk I/O error');
    m.calls[1].reject(boom); // ['b','c']
    await settle();
    expect(m.calls.map((c) => c.items)).toEqual([['a'], ['b', 'c'], ['d']]);
    expect(r.results.get('a')).toBeNull();
    expect(r.results.get('b')).toBe(boom);
    expect(r.results.get('c')).toBe(boom);
    expect(r.results.has('d')).toBe(false);
    m.calls[2].resolve();
    await settle();
    expect(r.results.get('d')).toBeNull();
    expect(gc.stats.commits).toBe(2); // the failed one is not counted
  });

  it('a throwing callback does not keep the others from hearing about their commit', async () => {
    const m = manualCommit<string>();
    const gc = new GroupCommit(m.commit, 100);
    const errors: Error[] = [];
    gc.onCallbackError = (e) => errors.push(e);
    const r = recorder();
    gc.add('first', r.done('first'));
    gc.add('x', () => {
      throw new Error('observer blew up');
    });
    gc.add('y', r.done('y'));
    m.calls[0].resolve();
    await settle();
    m.calls[1].resolve();
    await settle();
    expect(r.results.get('y')).toBeNull();
    expect(errors.map((e) => e.message)).toEqual(['observer blew up']);
    // and the pipeline keeps going
    gc.add('z', r.done('z'));
    m.calls[2].resolve();
    await settle();
    expect(r.results.get('z')).toBeNull();
  });

  it('a callback that adds an item (re-entry) gets it committed in the next batch', async () => {
    const m = manualCommit<string>();
    const gc = new GroupCommit(m.commit, 100);
    const r = recorder();
    gc.add('a', (err) => {
      r.done('a')(err);
      gc.add('a2', r.done('a2'));
    });
    m.calls[0].resolve();
    await settle();
    expect(m.calls.map((c) => c.items)).toEqual([['a'], ['a2']]);
    m.calls[1].resolve();
    await settle();
    expect(r.results.get('a2')).toBeNull();
  });

  it('onCommitted reports the batch size and the duration from the injected clock', async () => {
    const m = manualCommit<string>();
    let t = 100;
    const seen: [number, number][] = [];
    const gc = new GroupCommit(m.commit, 100, (n, ms) => seen.push([n, ms]), () => t);
    gc.add('a', () => undefined);
    gc.add('b', () => undefined);
    gc.add('c', () => undefined);
    t = 107;
    m.calls[0].resolve();
    await settle();
    t = 130;
    m.calls[1].resolve();
    await settle();
    expect(seen).toEqual([
      [1, 7],
      [2, 23],
    ]);
  });

  it('drain resolves once nothing is queued or in flight; at once when idle', async () => {
    const m = manualCommit<string>();
    const gc = new GroupCommit(m.commit, 100);
    await gc.drain(); // idle: must not hang
    gc.add('a', () => undefined);
    gc.add('b', () => undefined);
    let drained = false;
    const d = gc.drain().then(() => (drained = true));
    m.calls[0].resolve();
    await settle();
    expect(drained).toBe(false); // ['b'] is in flight now
    m.calls[1].resolve();
    await d;
    expect(drained).toBe(true);
  });

  it('close refuses new items and lets queued ones commit', async () => {
    const m = manualCommit<string>();
    const gc = new GroupCommit(m.commit, 100);
    const r = recorder();
    gc.add('a', r.done('a'));
    gc.add('b', r.done('b'));
    const closed = gc.close();
    gc.add('late', r.done('late'));
    expect(r.results.get('late')?.message).toBe('group commit is closed');
    m.calls[0].resolve();
    await settle();
    m.calls[1].resolve();
    await closed;
    expect(r.results.get('a')).toBeNull();
    expect(r.results.get('b')).toBeNull();
    expect(m.calls.flatMap((c) => c.items)).toEqual(['a', 'b']);
  });

  it('settles a big transaction in slices with loop turns between, in order across transactions, and drain waits for the last', async () => {
    const m = manualCommit<number>();
    const gc = new GroupCommit(m.commit, 100, undefined, undefined, 2);
    const order: string[] = [];
    gc.add(0, () => order.push('cb0')); // commits alone
    for (let i = 1; i <= 5; i++) gc.add(i, () => order.push(`cb${i}`)); // the second transaction
    m.calls[0].resolve();
    await Promise.resolve();
    await Promise.resolve();
    // cb0 ran; the second transaction (1..5) is now in flight.
    expect(order).toEqual(['cb0']);
    expect(m.calls[1].items).toEqual([1, 2, 3, 4, 5]);
    let drained = false;
    void gc.drain().then(() => (drained = true));
    m.calls[1].resolve();
    await Promise.resolve();
    await Promise.resolve();
    // Queued behind the pump's own next slice: it runs after slice 2 and before slice 3, which
    // shows the loop turns between slices (all in one tick, it would come last).
    setImmediate(() => order.push('turn'));
    expect(order).toEqual(['cb0', 'cb1', 'cb2']); // one slice at once
    expect(drained).toBe(false);
    await gc.drain();
    expect(order).toEqual(['cb0', 'cb1', 'cb2', 'cb3', 'cb4', 'turn', 'cb5']);
    expect(drained).toBe(true);
  });

  it('a group (addGroup) commits in one transaction: not split from an idle start, nor at maxBatch', async () => {
    const m = manualCommit<string>();
    const gc = new GroupCommit(m.commit, 3);
    const r = recorder();
    // Idle: add() would commit the first item alone; the group's items stay together.
    gc.addGroup(['sale', 'm1'], [r.done('sale'), r.done('m1')]);
    gc.add('x', r.done('x'));
    gc.add('y', r.done('y'));
    gc.addGroup(['sale2', 'm2', 'm3'], [r.done('sale2'), r.done('m2'), r.done('m3')]);
    for (let k = 0; k < 4 && m.calls[k]; k++) {
      m.calls[k].resolve();
      await settle();
    }
    // maxBatch 3 would cut after 'sale2'; the batch grows to keep the group whole.
    expect(m.calls.map((c) => c.items)).toEqual([['sale', 'm1'], ['x', 'y', 'sale2', 'm2', 'm3']]);
    expect(r.results.size).toBe(7);
  });

  it('a failed group commit fails every item of the group', async () => {
    const m = manualCommit<string>();
    const gc = new GroupCommit(m.commit, 100);
    const r = recorder();
    gc.addGroup(['sale', 'm1'], [r.done('sale'), r.done('m1')]);
    m.calls[0].reject(new Error('disk full'));
    await settle();
    expect(r.results.get('sale')?.message).toBe('disk full');
    expect(r.results.get('m1')?.message).toBe('disk full');
  });

  it('refuses a settle slice that is not a positive integer', () => {
    expect(() => new GroupCommit(async () => {}, 10, undefined, undefined, 0)).toThrow(/settleSlice/);
  });
});

