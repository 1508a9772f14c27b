/** Shelf: labels by state per access point (from the prices API), refreshed every few seconds; flash and re-send. */
import { useEffect, useState } from 'preact/hooks';
import type { LabelListBody, LabelView } from '../../../gateway/protocol/schemas/api/index.js';
import { can, type Me } from '../app.js';
import { get, post, unavailable } from '../api.js';
import { useI18n } from '../i18n.js';

const STATES = ['current', 'pending', 'failed', 'stale'] as const;
type LabelState = (typeof STATES)[number];

type LabelRow = LabelView;

type Loaded = { kind: 'loading' } | { kind: 'na' } | { kind: 'error'; message: string } | { kind: 'ok'; byState: Record<LabelState, { total: number; labels: LabelRow[] }> };

export function ShelfView({ me }: { me: Me }) {
  const { t, f } = useI18n();
  const [data, setData] = useState<Loaded>({ kind: 'loading' });
  const [note, setNote] = useState<string | null>(null);
  const [n, reload] = useState(0);

  useEffect(() => {
    let gone = false;
    const load = async () => {
      const rs = await Promise.all(STATES.map((s) => get<LabelListBody>(`/api/labels?state=${s}&limit=5000`)));
      if (gone) return;
      if (rs.some((r) => unavailable(r))) return setData({ kind: 'na' });
      const bad = rs.find((r) => !r.ok);
      if (bad && !bad.ok) return setData({ kind: 'error', message: bad.message });
      setData({ kind: 'ok', byState: Object.fromEntries(STATES.map((s, i) => [s, (rs[i] as { body: { total: number; labels: LabelRow[] } }).body])) as never });
    };
    void load();
    const t = setInterval(load, 2000);
    return () => {
      gone = true;
      clearInterval(t);
    };
  }, [n]);

  if (data.kind === 'loading') return <p>{t.labelsLoading}</p>;
  if (data.kind === 'na')
    return (
      <section>
        <h2>{t.shelf}</h2>
        <p class="ops-na" data-panel="labels">
          {t.notAvailable('label')}
        </p>
      </section>
    );
  if (data.kind === 'error') return <p class="ops-error">{data.message}</p>;

  const aps = new Map<string, Record<LabelState, number>>();
  for (const s of STATES) {
    for (const l of data.byState[s].labels) {
      const ap = l.ap ?? t.noAp;
      const row = aps.get(ap) ?? { current: 0, pending: 0, failed: 0, stale: 0 };
      row[s]++;
      aps.set(ap, row);
    }
  }
  const needsWork = [...data.byState.failed.labels, ...data.byState.stale.labels.filter((l) => l.state !== 'failed')];
  const act = async (l: LabelRow, what: 'flash' | 'resend') => {
    const r = await post(`/api/labels/${encodeURIComponent(l.labelId)}/${what}`, {});
    setNote(r.ok ? (what === 'flash' ? t.flashing(l.labelId) : t.resent(l.labelId)) : `${l.labelId}: ${r.message}`);
    reload((x) => x + 1);
  };
  return (
    <section>
      <h2>{t.shelf}</h2>
      <p class="ops-summary">
        {STATES.map((s) => (
          <span class={`badge label-${s}`} data-labels={s}>
            {data.byState[s].total} {t.labelStates[s]}
          </span>
        ))}
      </p>
      <table class="ops-table" aria-label={t.labelsPerAp}>
        <thead>
          <tr>
            <th>{t.accessPoint}</th>
            {STATES.map((s) => (
              <th>{t.labelStates[s]}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {[...aps.entries()].sort().map(([ap, c]) => (
            <tr key={ap} data-ap={ap}>
              <td>{ap}</td>
              {STATES.map((s) => (
                <td data-state={s}>{c[s]}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <h3>{t.labelsAttention}</h3>
      {note && <p role="status">{note}</p>}
      {needsWork.length === 0 ? (
        <p>{t.allLabelsCurrent}</p>
      ) : (
        <table class="ops-table" aria-label={t.labelsAttention}>
          <thead>
            <tr>
              <th>{t.label}</th>
              <th>GTIN</th>
              <th>{t.accessPoint}</th>
              <th>{t.state}</th>
              <th>{t.attemptsCol}</th>
              <th>{t.error}</th>
              {can(me, 'attendant') && <th />}
            </tr>
          </thead>
          <tbody>
            {needsWork.slice(0, 200).map((l) => (
              <tr key={l.labelId} data-label={l.labelId}>
                <td>{l.labelId}</td>
                <td>{l.gtin ?? '–'}</td>
                <td>{l.ap ?? '–'}</td>
                <td>{t.labelStates[l.state] ?? l.state}</td>
                <td>{f.num(l.attempts)}</td>
                <td>{l.error ?? ''}</td>
                {can(me, 'attendant') && (
                  <td>
                    <button onClick={() => act(l, 'flash')}>{t.flash}</button> <button onClick={() => act(l, 'resend')}>{t.resend}</button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
