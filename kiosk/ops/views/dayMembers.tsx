/**
 * What members make visible on the day's page: member share of sales, points issued and spent,
 * coupon redemptions (tiles, and per hour in the day chart's bars), and the repeat rate by tier
 * (members with two or more transactions that day / members seen, by keyed member hash).
 */
import type { KpiDay } from '../../../gateway/protocol/schemas/api/index.js';
import { useI18n } from '../i18n.js';
import { HourChart } from './hourChart.js';

export function MemberNumbers({ kpi }: { kpi: KpiDay }) {
  const { t: s, f } = useI18n();
  const k = s.memberKpis;
  const t = kpi.totals;
  const tiles: [string, string, string][] = [
    ['memberShare', k.memberShare, f.percent(t.memberShare)],
    ['pointsIssued', k.pointsIssued, f.num(t.pointsIssued)],
    ['pointsSpent', k.pointsSpent, f.num(t.pointsSpent)],
    ['couponRedemptions', k.couponRedemptions, f.num(t.couponRedemptions)],
  ];
  return (
    <>
      <h3>{s.membersTitle}</h3>
      <div class="ops-tiles">
        {tiles.map(([key, label, value]) => (
          <div class="ops-tile" data-member-kpi={key}>
            <span class="label">{label}</span>
            <span class="value">{value}</span>
          </div>
        ))}
      </div>
      {/* Each chart gets a visible title: the aria-label alone told only screen readers what it showed. */}
      <figure class="ops-figure">
        <figcaption>{s.pointsChartLabel}</figcaption>
        <HourChart kpi={kpi} wide="pointsIssued" narrow="pointsSpent" label={s.pointsChartLabel} />
      </figure>
      <figure class="ops-figure">
        <figcaption>{s.couponChartLabel}</figcaption>
        <HourChart kpi={kpi} wide="couponRedemptions" narrow="couponRedemptions" label={s.couponChartLabel} />
      </figure>
      <figure class="ops-figure">
        <figcaption>{s.tierChartLabel}</figcaption>
        <TierChart kpi={kpi} />
      </figure>
    </>
  );
}

/** Repeat rate per tier as horizontal bars (0..100 %), with the counts behind each. */
function TierChart({ kpi }: { kpi: KpiDay }) {
  const { t: s, f } = useI18n();
  const W = 720;
  const row = 28;
  const left = 120;
  const H = Math.max(1, kpi.tiers.length) * row + 8;
  if (kpi.tiers.length === 0) return <p data-tiers="none">{s.noMemberSales}</p>;
  return (
    <svg class="ops-chart tiers" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={s.tierChartLabel}>
      {kpi.tiers.map((r, i) => {
        const y = 4 + i * row;
        const name = r.tier === '' ? s.noTier : r.tier;
        return (
          <g data-tier={r.tier} data-repeat={`${r.repeatMembers}/${r.members}`}>
            <text x={4} y={y + row / 2 + 4} class="tick">
              {name}
            </text>
            <rect x={left} y={y + 4} width={(W - left - 140) * r.repeatRate} height={row - 8} class="transactions">
              <title>{`${name}: ${r.repeatMembers} / ${r.members}`}</title>
            </rect>
            <text x={W - 130} y={y + row / 2 + 4} class="tick">
              {`${f.percent(r.repeatRate)} (${r.repeatMembers}/${r.members})`}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
