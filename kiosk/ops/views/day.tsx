/**
 * The day's numbers (gateway/README.md §Retail rules): today in the store's time zone, live over SSE, and per hour as
 * an SVG chart; an earlier day can be picked (read once from /api/kpi?day=).
 */
import { useEffect, useState } from 'preact/hooks';
import type { KpiDay } from '../../../gateway/protocol/schemas/api/index.js';
import { get } from '../api.js';
import { useI18n } from '../i18n.js';
import { MemberNumbers } from './dayMembers.js';
import { HourChart } from './hourChart.js';

export function DayView({ kpi: today }: { kpi: KpiDay | null }) {
  const { t: s, f } = useI18n();
  const { money, percent, num } = f;
  const [picked, setPicked] = useState<string | null>(null);
  const [past, setPast] = useState<KpiDay | null>(null);
  useEffect(() => {
    if (!picked || picked === today?.day) return setPast(null);
    void get<KpiDay>(`/api/kpi?day=${picked}`).then((r) => setPast(r.ok ? r.body : null));
  }, [picked]);
  const kpi = past ?? today;
  if (!kpi) return <p>{s.dayLoading}</p>;
  const t = kpi.totals;
  const k = s.kpis;
  const tiles: [string, string, string][] = [
    ['visitors', k.visitors, num(t.visitors)],
    ['transactions', k.transactions, num(t.transactions)],
    ['conversion', k.conversion, percent(t.conversion)],
    ['averageBasket', k.averageBasket, money(t.averageBasket, kpi.currency)],
    ['repeatRate', k.repeatRate, percent(t.repeatRate)],
    ['sales', k.sales, money(t.sales, kpi.currency)],
  ];
  return (
    <section>
      <h2>
        {s.dayTitle} <small>{kpi.day} ({kpi.timezone})</small>
      </h2>
      <label class="ops-filters">
        {s.day}
        <input type="date" name="day" value={kpi.day} max={today?.day} onChange={(e) => setPicked((e.target as HTMLInputElement).value || null)} />
        {past && <button onClick={() => setPicked(null)}>{s.backToToday}</button>}
      </label>
      <div class="ops-tiles">
        {tiles.map(([key, label, value]) => (
          <div class="ops-tile" data-kpi={key}>
            <span class="label">{label}</span>
            <span class="value">{value}</span>
          </div>
        ))}
      </div>
      <h3>{s.perHour}</h3>
      <HourChart kpi={kpi} />
      <table class="ops-table hours" aria-label={s.perHour}>
        <thead>
          <tr>
            <th>{s.hour}</th>
            <th>{k.visitors}</th>
            <th>{k.transactions}</th>
            <th>{k.conversion}</th>
            <th>{k.averageBasket}</th>
            <th>{k.sales}</th>
          </tr>
        </thead>
        <tbody>
          {kpi.hours
            .filter((h) => h.visitors > 0 || h.transactions > 0)
            .map((h) => (
              <tr data-hour={h.hour}>
                <td>{String(h.hour).padStart(2, '0')}:00</td>
                <td data-col="visitors">{num(h.visitors)}</td>
                <td data-col="transactions">{num(h.transactions)}</td>
                <td data-col="conversion">{percent(h.conversion)}</td>
                <td data-col="averageBasket">{money(h.averageBasket, kpi.currency)}</td>
                <td data-col="sales">{money(h.sales, kpi.currency)}</td>
              </tr>
            ))}
        </tbody>
      </table>
      <MemberNumbers kpi={kpi} />
    </section>
  );
}
