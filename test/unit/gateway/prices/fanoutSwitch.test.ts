/**
 * The label switch of EslFanout.evaluate: contents and targets are planned in time slices, then
 * applied in one synchronous step (`LabelTracker.setTargets`). These tests hold it to the
 * invariant — every label's target is the content hash under the catalog `currentCatalog` says,
 * at every turn of the event loop an observer gets during an evaluation, acks included — and hold
 * `setTargets` to giving exactly what `setTarget` per label gives.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../../gateway/log.js';
import { buildCatalog, labelContentAt, type Catalog, type ScopedRows } from '../../../../gateway/prices/catalog.js';
import { EslFanout } from '../../../../gateway/prices/fanout.js';
import { LabelTracker } from '../../../../gateway/prices/labels.js';

const NOW = Date.parse('2026-03-01T08:00:00Z');
const tracker = () => new LabelTracker({ ackTimeoutMs: 1000, maxAttempts: 3, backoff: { initialMs: 100, maxMs: 1000, jitter: 0 }, random: () => 0 });

function catalog(labels: number, price: (i: number) => number, unbound = new Set<number>()): Catalog {
  const rows: ScopedRows = { items: [], prices: [], promotions: [], members: [], bindings: [] };
  for (let i = 0; i < labels; i++) {
    const gtin = String(2_000_000_000_000 + i);
    rows.items.push({ scope: 'all', item: { gtin, name: `Item ${i}`, unit: 'each' } });
    rows.prices.push({ scope: 'all', row: { gtin, price: price(i), currency: 'EUR' } });
    if (!unbound.has(i)) rows.bindings.push({ scope: 'store', labelId: `L${i}`, gtin, ap: `ap-${i % 4}` });
  }
  return buildCatalog(rows);
}

function hashes(cat: Catalog): Map<string, string | null> {
  const m = new Map<string, string | null>();
  for (const id of cat.bindings.keys()) m.set(id, labelContentAt(cat, id, NOW)?.contentHash ?? null);
  return m;
}

/** A tracker's whole observable state, to compare two of them. */
function state(t: LabelTracker) {
  return { labels: [...t.labels.values()].map((l) => ({ ...l })).sort((a, b) => a.labelId.localeCompare(b.labelId)), counts: t.counts(), dirty: [...t.dirty].sort(), removed: [...t.removed].sort() };
}

describe('LabelTracker.setTargets', () => {
  it('gives exactly what setTarget per label (and remove) gives, after any history', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 20; round++) {
      const a = tracker();
      const b = tracker();
      // The same history on both: targets, sends, acks of old and new content.
      for (let i = 0; i < 200; i++) {
        const id = `L${Math.floor(rnd() * 60)}`;
        const h = `h${Math.floor(rnd() * 4)}`;
        for (const t of [a, b]) t.setTarget(id, h, `ap-${i % 3}`, i);
      }
      for (const t of [a, b]) {
        let n = 0;
        for (const [ap, list] of t.due(1000, () => true)) t.markSent(`c${n++}`, ap, list.map((l) => ({ labelId: l.labelId, hash: l.target! })), 1000);
        t.onAck('ap-1', 'c0', null, { ok: true }, 1001);
      }
      // The next evaluation: some labels change, some do not, some go, some are new.
      const next = new Map<string, [string | null, string | null]>();
      for (let i = 0; i < 70; i++) if (rnd() < 0.8) next.set(`L${i}`, [rnd() < 0.1 ? null : `h${Math.floor(rnd() * 4)}`, rnd() < 0.5 ? 'ap-1' : 'ap-2']);
      const plan = a.newPlan();
      for (const [id, [h, ap]] of next) a.planTarget(plan, id, h, ap);
      for (const id of a.labels.keys()) if (!next.has(id)) a.planRemoval(plan, id);
      const viaPlan = a.setTargets(plan, 2000);
      let viaEach = 0;
      for (const [id, [h, ap]] of next) if (b.setTarget(id, h, ap, 2000)) viaEach++;
      for (const id of [...b.labels.keys()]) if (!next.has(id)) b.remove(id);
      expect(viaPlan).toBe(viaEach);
      expect(state(a)).toEqual(state(b));
      expect(a.counts()).toEqual(a.countsByScan());
    }
  });

  it('refuses a plan made before a label was added, removed or retargeted, and changes nothing', () => {
    const t = tracker();
    t.setTarget('L1', 'h1', 'ap-1', 0);
    t.setTarget('L2', 'h1', 'ap-1', 0);
    for (const change of [() => t.setTarget('L1', 'h9', 'ap-1', 1), () => t.setTarget('L3', 'h1', 'ap-1', 1), () => t.remove('L3'), () => t.setTarget('L2', 'h1', 'ap-2', 1)]) {
      const plan = t.newPlan();
      t.planTarget(plan, 'L1', 'h2', 'ap-1');
      change();
      const before = state(t);
      expect(t.setTargets(plan, 2)).toBeNull();
      expect(state(t)).toEqual(before);
    }
    // Acks, sends and status reports do not touch targets: a plan stays good across them.
    const plan = t.newPlan();
    t.planTarget(plan, 'L1', 'h2', 'ap-1');
    t.markSent('c1', 'ap-1', [{ labelId: 'L1', hash: 'h9' }], 3);
    t.onAck('ap-1', 'c1', null, { ok: true }, 4);
    t.onStatus('ap-1', [{ labelId: 'L2', shownHash: 'h1' }]);
    expect(t.setTargets(plan, 5)).toBe(1);
    expect(t.labels.get('L1')).toMatchObject({ target: 'h2', acked: 'h9', state: 'pending' });
  });
});

describe('EslFanout.evaluate', () => {
  it('yields while it plans, and at every turn each label is targeted for the catalog in use (acks arriving meanwhile)', async () => {
    const N = 20_000;
    const log = createLogger({ level: 'silent' });
    const sent: { ap: string; p: string }[] = [];
    const fan = new EslFanout({ tracker: { ackTimeoutMs: 60_000, maxAttempts: 5 }, maxLabelsPerCommand: 500, publish: async (ap, p) => void sent.push({ ap, p }), online: () => true, log, cmdPrefix: 't' });
    // A: the first catalog. B: every price changes, label L5 loses its binding, and half of the
    // labels keep A's content (unchanged price) so the plan skips them.
    const catA = catalog(N, (i) => 100 + i);
    const catB = catalog(N, (i) => (i % 2 === 0 ? 100 + i : 200 + i), new Set([5]));
    const hA = hashes(catA);
    const hB = hashes(catB);
    expect(await fan.evaluate(catA, NOW)).toBe(N);
    await fan.dispatch(NOW);
    const cmds = sent.map(({ ap, p }) => ({ ap, ...(JSON.parse(p) as { cmdId: string; labels: { labelId: string; contentHash: string }[] }) }));
    expect(cmds.reduce((n, c) => n + c.labels.length, 0)).toBe(N);

    // An observer on every turn of the event loop while B is evaluated; half the acks for A's
    // commands arrive during the evaluation.
    let turns = 0;
    let sawA = 0;
    let sawB = 0;
    const problems: string[] = [];
    let running = true;
    const observe = () => {
      if (!running) return;
      turns++;
      const cat = fan.currentCatalog;
      const want = cat === catA ? hA : cat === catB ? hB : null;
      if (want === null) problems.push('currentCatalog is neither A nor B');
      else {
        if (cat === catA) sawA++;
        else sawB++;
        for (const l of fan.tracker.labels.values()) {
          if (want.get(l.labelId) !== l.target) {
            problems.push(`${l.labelId}: target ${l.target} is not its content under ${cat === catA ? 'A' : 'B'}`);
            break;
          }
        }
        if (fan.tracker.labels.size !== cat!.bindings.size) problems.push(`tracker has ${fan.tracker.labels.size} labels, catalog ${cat!.bindings.size}`);
      }
      const c = cmds.shift();
      if (c && turns % 2 === 0) fan.tracker.onAck(c.ap, c.cmdId, c.labels.map((l) => ({ labelId: l.labelId, ok: true, shownHash: l.contentHash })), null, NOW + turns);
      setImmediate(observe);
    };
    setImmediate(observe);
    const changed = await fan.evaluate(catB, NOW + 1);
    running = false;

    expect(problems).toEqual([]);
    // It did yield (several turns saw A), and the switch was one step (B seen only after it).
    expect(sawA).toBeGreaterThan(3);
    expect(sawB).toBe(0);
    expect(fan.currentCatalog).toBe(catB);
    expect(changed).toBe(N / 2 - 1); // the odd labels, L5 not among them (unbound, removed)
    expect(fan.tracker.labels.has('L5')).toBe(false);
    for (const l of fan.tracker.labels.values()) expect(l.target).toBe(hB.get(l.labelId));
    expect(fan.tracker.counts()).toEqual(fan.tracker.countsByScan());
    // An even label whose A ack arrived is current under B (same content); an odd one is stale.
    const acked = [...fan.tracker.labels.values()].filter((l) => l.acked !== null);
    expect(acked.length).toBeGreaterThan(0);
    for (const l of acked) expect(LabelTracker.isStale(l)).toBe(Number(l.labelId.slice(1)) % 2 === 1);
  });
});
