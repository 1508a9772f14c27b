/**
 * Stock: find an item (GTIN or part of its name), its on hand, reserved for click & collect and
 * available, and its last movements; the out and low lists. An attendant records goods received
 * (scan each case: its GTIN and units per case, then book them together), an adjustment (± with
 * a reason) or a count (sets on hand). Every press carries a request id made once for it, so a
 * repeated request is one movement; the gateway writes who did it from the session.
 */
import { useEffect, useState } from 'preact/hooks';
import type { StockFoundBody, StockItem, StockItemDetailBody, StockListsBody, StockMovedBody } from '../../../gateway/protocol/schemas/api/index.js';
import { can, type Me } from '../app.js';
import { get, post, unavailable } from '../api.js';
import { useI18n } from '../i18n.js';
import { OnHandChart } from './stockChart.js';
import { DeliveriesPanel } from './stockDeliveries.js';
import { ItemOnShelf, ShelfPanel } from './stockShelf.js';

const REASONS = ['damaged', 'theft', 'found', 'expired', 'recalled', 'correction', 'other'] as const;
const pressId = () => crypto.randomUUID();
const val = (e: Event) => (e.target as HTMLInputElement).value;

/** How often the open Stock view reads its lists again. */
const LISTS_REFRESH_MS = 5000;

export function StockView({ me }: { me: Me }) {
  const { t: all, f } = useI18n();
  const T = all.stock;
  const [q, setQ] = useState('');
  const [found, setFound] = useState<StockItem[] | null>(null);
  const [detail, setDetail] = useState<StockItemDetailBody | null>(null);
  const [lists, setLists] = useState<StockListsBody | null | 'na'>(null);
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);
  const [n, reload] = useState(0);

  useEffect(() => {
    void get<StockListsBody>('/api/stock/lists').then((r) => setLists(r.ok ? r.body : unavailable(r) ? 'na' : null));
  }, [n]);
  // The lists change without anyone on this page (sales, a shelf reader's gap, a refill): read them
  // again now and then, as the Uplink view does, so a shelf that runs empty shows without a reload.
  useEffect(() => {
    const t = setInterval(() => reload((x) => x + 1), LISTS_REFRESH_MS);
    return () => clearInterval(t);
  }, []);

  const open = async (gtin: string) => {
    const r = await get<StockItemDetailBody>(`/api/stock/items/${gtin}`);
    if (r.ok) setDetail(r.body);
    else setNote({ ok: false, text: r.message });
  };
  const find = async (ev: Event) => {
    ev.preventDefault();
    const r = await get<StockFoundBody>(`/api/stock/find?q=${encodeURIComponent(q.trim())}`);
    if (!r.ok) return setNote({ ok: false, text: r.message });
    setFound(r.body.items);
    if (r.body.items.length === 1) await open(r.body.items[0]!.gtin);
  };
  const done = async (what: string, r: Awaited<ReturnType<typeof post<StockMovedBody>>>) => {
    if (!r.ok) return setNote({ ok: false, text: r.message });
    const item = r.body.items[0];
    setNote({ ok: true, text: T.recorded(what, item ? `${item.name || item.gtin}: ${f.num(item.onHand)}` : '') });
    if (detail) await open(detail.item.gtin);
    reload((x) => x + 1);
  };

  return (
    <section data-view-part="stock">
      <h2>{all.views.stock}</h2>
      <form class="ops-form" onSubmit={find} aria-label={T.find}>
        <label>
          {T.findLabel}
          <input name="q" data-testid="stock-q" value={q} onInput={(e) => setQ(val(e))} required maxLength={64} />
        </label>
        <button type="submit" class="primary">
          {T.find}
        </button>
      </form>
      {note && (
        <p role="status" class={note.ok ? 'ops-note' : 'ops-error'} data-testid="stock-note">
          {note.text}
        </p>
      )}
      {found && found.length === 0 && <p class="ops-na">{T.nothingFound}</p>}
      {found && found.length > 1 && <ItemTable items={found} onOpen={open} caption={T.found} />}
      {detail && <ItemDetail d={detail} me={me} done={done} n={n} />}
      <h3>{T.outTitle}</h3>
      {lists === 'na' ? <p class="ops-na">{all.notAvailable('stock')}</p> : lists === null ? <p>{all.loading}</p> : lists.out.length ? <ItemTable items={lists.out} onOpen={open} caption={T.outTitle} list="out" /> : <p class="ops-na">{T.noneOut}</p>}
      <h3>{T.lowTitle}</h3>
      {lists !== 'na' && lists !== null && (lists.low.length ? <ItemTable items={lists.low} onOpen={open} caption={T.lowTitle} list="low" /> : <p class="ops-na">{T.noneLow}</p>)}
      <ShelfPanel me={me} n={n} onOpen={open} onChanged={() => (detail && void open(detail.item.gtin), reload((x) => x + 1))} />
      <DeliveriesPanel me={me} n={n} onChanged={() => reload((x) => x + 1)} />
    </section>
  );
}

function ItemTable({ items, onOpen, caption, list }: { items: StockItem[]; onOpen: (g: string) => void; caption: string; list?: string }) {
  const { t: all, f } = useI18n();
  const T = all.stock;
  return (
    <table class="ops-table" aria-label={caption} data-stock-list={list}>
      <thead>
        <tr>
          <th>{T.item}</th>
          <th>GTIN</th>
          <th>{T.onHand}</th>
          <th>{T.reserved}</th>
          <th>{T.available}</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {items.map((i) => (
          <tr key={i.gtin} data-gtin={i.gtin} data-state={i.state}>
            <td>{i.name || '–'}</td>
            <td>{i.gtin}</td>
            <td class={i.state === 'ok' ? '' : 'warn'}>{f.num(i.onHand)}</td>
            <td>{f.num(i.reserved)}</td>
            <td>{f.num(i.available)}</td>
            <td>
              <button type="button" onClick={() => onOpen(i.gtin)}>
                {T.open}
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

type Done = (what: string, r: Awaited<ReturnType<typeof post<StockMovedBody>>>) => Promise<void>;

function ItemDetail({ d, me, done, n }: { d: StockItemDetailBody; me: Me; done: Done; n: number }) {
  const { t: all, f } = useI18n();
  const T = all.stock;
  const i = d.item;
  return (
    <div class="ops-stock-item" data-testid="stock-item" data-gtin={i.gtin}>
      <h3>
        {i.name || i.gtin} <small>{i.gtin}</small>
      </h3>
      <p>
        <span>
          {T.onHand}: <strong data-testid="stock-on-hand">{f.num(i.onHand)}</strong>
        </span>{' '}
        · {T.reserved}: <span data-testid="stock-reserved">{f.num(i.reserved)}</span> · {T.available}: {f.num(i.available)} · <span data-testid="stock-state">{T.states[i.state]}</span> ({T.lowBelow(i.lowBelow)})
      </p>
      <ItemOnShelf gtin={i.gtin} n={n} />
      {d.movements.length > 0 && <OnHandChart onHand={i.onHand} movements={d.movements} />}
      {can(me, 'attendant') ? <StockForms gtin={i.gtin} done={done} /> : <p class="ops-na">{T.needsRole}</p>}
      <h4>{T.movements}</h4>
      <table class="ops-table" aria-label={T.movements} data-testid="stock-movements">
        <thead>
          <tr>
            <th>{T.when}</th>
            <th>{T.kind}</th>
            <th>{T.qty}</th>
            <th>{T.reason}</th>
            <th>{T.who}</th>
          </tr>
        </thead>
        <tbody>
          {d.movements.map((m) => (
            <tr key={m.movementId} data-kind={m.kind}>
              <td title={m.eventTime}>{f.clock(Date.parse(m.eventTime))}</td>
              <td>{T.kinds[m.kind] ?? m.kind}</td>
              <td>{m.kind === 'count' ? `= ${f.num(m.qty)}` : `${m.qty > 0 ? '+' : ''}${f.num(m.qty)}`}</td>
              <td>{m.reason ? (T.reasons[m.reason] ?? m.reason) : ''}</td>
              <td>{m.actor}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function StockForms({ gtin, done }: { gtin: string; done: Done }) {
  const { t: all } = useI18n();
  const T = all.stock;
  const [cases, setCases] = useState<{ gtin: string; qty: number }[]>([]);
  const [caseGtin, setCaseGtin] = useState(gtin);
  const [perCase, setPerCase] = useState('1');
  const [adjQty, setAdjQty] = useState('');
  const [reason, setReason] = useState<(typeof REASONS)[number]>('damaged');
  const [counted, setCounted] = useState('');
  const [busy, setBusy] = useState(false);
  const run = async (what: string, url: string, body: object) => {
    setBusy(true);
    const r = await post<StockMovedBody>(url, { requestId: pressId(), ...body });
    setBusy(false);
    await done(what, r);
    return r.ok;
  };
  // A scanned case goes on the list; the list is booked as one receipt.
  const addCase = (ev: Event) => {
    ev.preventDefault();
    const qty = Number(perCase);
    if (!/^[0-9]{8,14}$/.test(caseGtin.trim()) || !Number.isInteger(qty) || qty < 1) return;
    setCases((c) => [...c, { gtin: caseGtin.trim(), qty }]);
  };
  return (
    <div class="ops-stock-forms">
      <form class="ops-form" onSubmit={addCase} aria-label={T.receive} data-testid="stock-receive">
        <label>
          {T.caseGtin}
          <input name="caseGtin" value={caseGtin} onInput={(e) => setCaseGtin(val(e))} inputMode="numeric" />
        </label>
        <label>
          {T.perCase}
          <input name="perCase" type="number" min={1} value={perCase} onInput={(e) => setPerCase(val(e))} />
        </label>
        <button type="submit">{T.addCase}</button>
        <span data-testid="stock-cases">{T.casesOf(cases.length, cases.reduce((s, c) => s + c.qty, 0))}</span>
        <button type="button" class="primary" disabled={busy || cases.length === 0} onClick={async () => (await run(T.receive, '/api/stock/receive', { lines: cases })) && setCases([])}>
          {T.receive}
        </button>
      </form>
      <form
        class="ops-form"
        aria-label={T.adjust}
        data-testid="stock-adjust"
        onSubmit={async (ev) => {
          ev.preventDefault();
          if ((await run(T.adjust, '/api/stock/adjust', { gtin, qty: Number(adjQty), reason })) === true) setAdjQty('');
        }}
      >
        <label>
          {T.adjustQty}
          <input name="adjQty" type="number" value={adjQty} onInput={(e) => setAdjQty(val(e))} required />
        </label>
        <label>
          {T.reason}
          <select name="reason" value={reason} onChange={(e) => setReason(val(e) as (typeof REASONS)[number])}>
            {REASONS.map((r) => (
              <option value={r}>{T.reasons[r]}</option>
            ))}
          </select>
        </label>
        <button type="submit" class="primary" disabled={busy}>
          {T.adjust}
        </button>
      </form>
      <form
        class="ops-form"
        aria-label={T.count}
        data-testid="stock-count"
        onSubmit={async (ev) => {
          ev.preventDefault();
          if ((await run(T.count, '/api/stock/count', { gtin, counted: Number(counted) })) === true) setCounted('');
        }}
      >
        <label>
          {T.counted}
          <input name="counted" type="number" min={0} value={counted} onInput={(e) => setCounted(val(e))} required />
        </label>
        <button type="submit" class="primary" disabled={busy}>
          {T.count}
        </button>
      </form>
    </div>
  );
}
