/** Shelf: labels by state per access point (from the prices API), refreshed every few seconds; flash and re-send. */
import { useEffect, useState } from 'preact/hooks';
import { can, type Me } from '../app.js';
import { get, post, unavailable } from '../api.js';

const STATES = ['current', 'pending', 'failed', 'stale'] as const;
type LabelState = (typeof STATES)[number];

interface LabelRow {
  labelId: string;
  gtin: string | null;
  ap: string | null;
  state: string;
  stale: boolean;
  attempts: number;
  error: string | null;
}

type Loaded = { kind: 'loading' } | { kind: 'na' } | { kind: 'error'; message: string } | { kind: 'ok'; byState: Record<LabelState, { total: number; labels: LabelRow[] }> };

export function ShelfView({ me }: { me: Me }) {
  const [data, setData] = useState<Loaded>({ kind: 'loading' });
  const [note, setNote] = useState<string | null>(null);
  const [n, reload] = useState(0);

  useEffect(() => {
    let gone = false;
    const load = async () => {
      const rs = await Promise.all(STATES.map((s) => get<{ total: number; labels: LabelRow[] }>(`/api/labels?state=${s}&limit=5000`)));
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

  if (data.kind === 'loading') return <p>Loading labels…</p>;
  if (data.kind === 'na')
    return (
      <section>
        <h2>Shelf</h2>
        <p class="ops-na" data-panel="labels">
          not available (this gateway has no label API)
        </p>
      </section>
    );
  if (data.kind === 'error') return <p class="ops-error">{data.message}</p>;

  const aps = new Map<string, Record<LabelState, number>>();
  for (const s of STATES) {
    for (const l of data.byState[s].labels) {
      const ap = l.ap ?? '(no AP)';
      const row = aps.get(ap) ?? { current: 0, pending: 0, failed: 0, stale: 0 };
      row[s]++;
      aps.set(ap, row);
    }
  }
  const needsWork = [...data.byState.failed.labels, ...data.byState.stale.labels.filter((l) => l.state !== 'failed')];
  const act = async (l: LabelRow, what: 'flash' | 'resend') => {
    const r = await post(`/api/labels/${encodeURIComponent(l.labelId)}/${what}`, {});
    setNote(r.ok ? `${what === 'flash' ? 'Flashing' : 'Re-sent'} ${l.labelId}` : `${l.labelId}: ${r.message}`);
    reload((x) => x + 1);
  };
  return (
    <section>
      <h2>Shelf</h2>
      <p class="ops-summary">
        {STATES.map((s) => (
          <span class={`badge label-${s}`} data-labels={s}>
            {data.byState[s].total} {s}
          </span>
        ))}
      </p>
      <table class="ops-table" aria-label="Labels per access point">
        <thead>
          <tr>
            <th>Access point</th>
            {STATES.map((s) => (
              <th>{s}</th>
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
      <h3>Labels that need attention</h3>
      {note && <p role="status">{note}</p>}
      {needsWork.length === 0 ? (
        <p>Every label shows the current price.</p>
      ) : (
        <table class="ops-table" aria-label="Labels that need attention">
          <thead>
            <tr>
              <th>Label</th>
              <th>GTIN</th>
              <th>AP</th>
              <th>State</th>
              <th>Attempts</th>
              <th>Error</th>
              {can(me, 'attendant') && <th />}
            </tr>
          </thead>
          <tbody>
            {needsWork.slice(0, 200).map((l) => (
              <tr key={l.labelId} data-label={l.labelId}>
                <td>{l.labelId}</td>
                <td>{l.gtin ?? '–'}</td>
                <td>{l.ap ?? '–'}</td>
                <td>{l.state}</td>
                <td>{l.attempts}</td>
                <td>{l.error ?? ''}</td>
                {can(me, 'attendant') && (
                  <td>
                    <button onClick={() => act(l, 'flash')}>Flash</button> <button onClick={() => act(l, 'resend')}>Re-send</button>
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
