/** The Stock view's chart: on hand over time for one item, a step line from its last movements (stockSeries.ts). */
import type { StockMovementView } from '../../../gateway/protocol/schemas/api/index.js';
import { useI18n } from '../i18n.js';
import { onHandSeries } from '../stockSeries.js';

export function OnHandChart({ onHand, movements }: { onHand: number; movements: StockMovementView[] }) {
  const { t, f } = useI18n();
  const pts = onHandSeries(onHand, movements.filter((m) => m.uom === 'unit'), Date.now());
  const W = 720;
  const H = 180;
  const pad = 28;
  const t0 = pts[0]!.t;
  const t1 = Math.max(t0 + 1, pts[pts.length - 1]!.t);
  const lo = Math.min(0, ...pts.map((p) => p.level));
  const hi = Math.max(1, ...pts.map((p) => p.level));
  const x = (v: number) => pad + ((v - t0) / (t1 - t0)) * (W - pad * 2);
  const y = (v: number) => H - pad - ((v - lo) / (hi - lo)) * (H - pad * 2);
  // A step line: the level holds until the next movement changes it.
  const d = pts.map((p, i) => (i === 0 ? `M${x(p.t)},${y(p.level)}` : `H${x(p.t)}V${y(p.level)}`)).join('');
  return (
    <svg class="ops-chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={t.shelfStock.chartLabel} data-testid="stock-chart" data-points={pts.length}>
      <line x1={pad} y1={y(0)} x2={W - pad} y2={y(0)} class="axis" />
      <text x={4} y={y(hi) + 4} class="tick">
        {f.num(hi)}
      </text>
      <text x={4} y={y(lo) + 4} class="tick">
        {f.num(lo)}
      </text>
      <text x={pad} y={H - 6} class="tick">
        {f.clock(t0)}
      </text>
      <text x={W - pad} y={H - 6} class="tick" text-anchor="end">
        {f.clock(t1)}
      </text>
      <path d={d} class="level" />
      {pts.map((p) => (
        <circle cx={x(p.t)} cy={y(p.level)} r={3} class="level-dot">
          <title>{`${f.clock(p.t)} ${t.stock.onHand} ${p.level}`}</title>
        </circle>
      ))}
    </svg>
  );
}
