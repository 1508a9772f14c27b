/** The day page's per-hour bar chart (SVG, 24 local hours). */
import type { KpiDay } from '../../../gateway/protocol/schemas/api/index.js';
import { useI18n } from '../i18n.js';

type HourCount = 'visitors' | 'transactions' | 'couponRedemptions' | 'pointsIssued' | 'pointsSpent';

/**
 * Two counts per local hour on one shared scale, a wide light bar behind a narrow dark one: by
 * default visitors and transactions, so the gap is the conversion.
 */
export function HourChart({ kpi, wide = 'visitors', narrow = 'transactions', label }: { kpi: KpiDay; wide?: HourCount; narrow?: HourCount; label?: string }) {
  const { t } = useI18n();
  const names: Record<HourCount, string> = { ...t.kpis, ...t.memberKpis };
  const W = 720;
  const H = 200;
  const pad = 24;
  const max = Math.max(1, ...kpi.hours.map((h) => Math.max(h[wide], h[narrow])));
  const bw = (W - pad * 2) / 24;
  const y = (v: number) => H - pad - (v / max) * (H - pad * 2);
  return (
    <svg class="ops-chart" data-chart={`${wide}-${narrow}`} viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label ?? t.chartLabel}>
      <line x1={pad} y1={H - pad} x2={W - pad} y2={H - pad} class="axis" />
      <text x={pad} y={14} class="tick">
        {max}
      </text>
      {kpi.hours.map((h) => {
        const x = pad + h.hour * bw;
        return (
          <g data-hour={h.hour}>
            <rect x={x + 2} y={y(h[wide])} width={bw - 4} height={H - pad - y(h[wide])} class="visitors">
              <title>{`${h.hour}:00 ${names[wide]} ${h[wide]}`}</title>
            </rect>
            <rect x={x + bw / 4} y={y(h[narrow])} width={bw / 2} height={H - pad - y(h[narrow])} class="transactions">
              <title>{`${h.hour}:00 ${names[narrow]} ${h[narrow]}`}</title>
            </rect>
            {h.hour % 3 === 0 && (
              <text x={x + bw / 2} y={H - 8} class="tick" text-anchor="middle">
                {h.hour}
              </text>
            )}
          </g>
        );
      })}
    </svg>
  );
}
