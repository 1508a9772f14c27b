/**
 * The Stock view's shelf parts: units on the shelf per zone for the open item; the refill list
 * (in stock, not on the shelf) and the out-of-stock list from the shelf readers; and the RFID
 * cycle count: start it for a zone or the whole store, let the readers read, close it, review
 * each item's difference against on hand, then confirm (a count is never applied blindly).
 */
import { useEffect, useState } from 'preact/hooks';
import type { CountViewBody, ShelfListsBody, ShelfOfItemBody, ShelfRowView, StockMovedBody } from '../../../gateway/protocol/schemas/api/index.js';
import { can, type Me } from '../app.js';
import { get, post, unavailable } from '../api.js';
import { useI18n } from '../i18n.js';

const pressId = () => crypto.randomUUID();

export function ItemOnShelf({ gtin, n }: { gtin: string; n: number }) {
  const { t, f } = useI18n();
  const [zones, setZones] = useState<ShelfOfItemBody['zones'] | null>(null);
  useEffect(() => {
    void get<ShelfOfItemBody>(`/api/stock/shelf/${gtin}`).then((r) => setZones(r.ok ? r.body.zones : null));
  }, [gtin, n]);
  if (!zones || zones.length === 0) return null;
  return (
    <p data-testid="stock-on-shelf">
      {t.shelfStock.onShelf}:{' '}
      {zones.map((z, i) => (
        <span data-zone={z.zone} class={z.onShelf < z.minFacings ? 'warn' : ''}>
          {i > 0 ? ' · ' : ''}
          {z.zone} {f.num(z.onShelf)}
        </span>
      ))}
    </p>
  );
}

export function ShelfPanel({ me, n, onOpen, onChanged }: { me: Me; n: number; onOpen: (gtin: string) => void; onChanged: () => void }) {
  const { t: all } = useI18n();
  const T = all.shelfStock;
  const [lists, setLists] = useState<ShelfListsBody | null | 'na'>(null);
  useEffect(() => {
    void get<ShelfListsBody>('/api/stock/shelf').then((r) => setLists(r.ok ? r.body : unavailable(r) ? 'na' : null));
  }, [n]);
  if (lists === 'na' || lists === null || lists.zones.length === 0) return null;
  return (
    <section data-view-part="shelf-stock">
      <h3>{T.refillTitle}</h3>
      {lists.refill.length ? <ShelfTable rows={lists.refill} onOpen={onOpen} caption={T.refillTitle} list="refill" /> : <p class="ops-na">{T.noneRefill}</p>}
      <h3>{T.outTitle}</h3>
      {lists.out.length ? <ShelfTable rows={lists.out} onOpen={onOpen} caption={T.outTitle} list="shelf-out" /> : <p class="ops-na">{T.noneOut}</p>}
      {can(me, 'attendant') && <CycleCountPanel zones={lists.zones} onChanged={onChanged} />}
    </section>
  );
}

function ShelfTable({ rows, onOpen, caption, list }: { rows: ShelfRowView[]; onOpen: (g: string) => void; caption: string; list: string }) {
  const { t: all, f } = useI18n();
  const T = all.shelfStock;
  return (
    <table class="ops-table" aria-label={caption} data-stock-list={list}>
      <thead>
        <tr>
          <th>{all.stock.item}</th>
          <th>{T.zone}</th>
          <th>{T.onShelf}</th>
          <th>{all.stock.onHand}</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={`${r.zone}|${r.gtin}`} data-gtin={r.gtin} data-zone={r.zone}>
            <td>{r.name || r.gtin}</td>
            <td>{r.zone}</td>
            <td class="warn">{`${f.num(r.onShelf)} / ${f.num(r.minFacings)}`}</td>
            <td>{f.num(r.onHand)}</td>
            <td>
              <button type="button" onClick={() => onOpen(r.gtin)}>
                {all.stock.open}
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function CycleCountPanel({ zones, onChanged }: { zones: string[]; onChanged: () => void }) {
  const { t: all, f } = useI18n();
  const T = all.shelfStock;
  const [zone, setZone] = useState(zones[0] ?? '');
  const [count, setCount] = useState<CountViewBody | null>(null);
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  // While open, what the readers counted so far is shown every two seconds.
  useEffect(() => {
    if (!count || count.closedAt !== null) return;
    const id = setInterval(() => void get<CountViewBody>(`/api/stock/counts/${count.countId}`).then((r) => r.ok && setCount(r.body)), 2000);
    return () => clearInterval(id);
  }, [count?.countId, count?.closedAt]);
  const act = async <B,>(fn: () => Promise<{ ok: true; body: B } | { ok: false; message: string }>, then: (b: B) => void) => {
    setBusy(true);
    const r = await fn();
    setBusy(false);
    if (!r.ok) return setNote({ ok: false, text: r.message });
    setNote(null);
    then(r.body);
  };
  return (
    <div class="ops-stock-count" data-testid="cycle-count">
      <h3>{T.countTitle}</h3>
      {note && (
        <p role="status" class={note.ok ? 'ops-note' : 'ops-error'} data-testid="cycle-count-note">
          {note.text}
        </p>
      )}
      {(!count || count.applied) && (
        <form
          class="ops-form"
          aria-label={T.start}
          onSubmit={(ev) => {
            ev.preventDefault();
            void act(() => post<CountViewBody>('/api/stock/counts', { requestId: pressId(), ...(zone ? { zone } : {}) }), setCount);
          }}
        >
          <label>
            {T.zone}
            <select name="zone" value={zone} onChange={(e) => setZone((e.target as HTMLSelectElement).value)}>
              {zones.map((z) => (
                <option value={z}>{z}</option>
              ))}
              <option value="">{T.wholeStore}</option>
            </select>
          </label>
          <button type="submit" class="primary" disabled={busy}>
            {T.start}
          </button>
        </form>
      )}
      {count && !count.applied && (
        <div data-count-id={count.countId} data-state={count.closedAt ? 'closed' : 'open'}>
          <p>{count.closedAt ? T.review(count.zone ?? T.wholeStore) : T.reading(count.zone ?? T.wholeStore, count.lines.reduce((s, l) => s + l.counted, 0))}</p>
          <table class="ops-table" aria-label={T.countTitle} data-testid="cycle-count-lines">
            <thead>
              <tr>
                <th>{all.stock.item}</th>
                <th>{T.counted}</th>
                <th>{all.stock.onHand}</th>
                <th>{T.difference}</th>
              </tr>
            </thead>
            <tbody>
              {count.lines.map((l) => (
                <tr key={l.gtin} data-gtin={l.gtin}>
                  <td>{l.name || l.gtin}</td>
                  <td>{f.num(l.counted)}</td>
                  <td>{f.num(l.onHand)}</td>
                  <td class={l.difference === 0 ? '' : 'warn'} data-difference={l.difference}>
                    {`${l.difference > 0 ? '+' : ''}${f.num(l.difference)}`}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {count.closedAt === null ? (
            <button type="button" class="primary" disabled={busy} data-testid="cycle-count-close" onClick={() => void act(() => post<CountViewBody>(`/api/stock/counts/${count.countId}/close`), setCount)}>
              {T.close}
            </button>
          ) : (
            <button
              type="button"
              class="primary"
              disabled={busy || count.lines.length === 0}
              data-testid="cycle-count-apply"
              onClick={() =>
                void act(
                  () => post<StockMovedBody>(`/api/stock/counts/${count.countId}/apply`, { requestId: pressId() }),
                  (b) => {
                    setCount({ ...count, applied: true });
                    setNote({ ok: true, text: T.applied(b.movements.length) });
                    onChanged();
                  },
                )
              }
            >
              {T.apply}
            </button>
          )}
        </div>
      )}
    </div>
  );
}
