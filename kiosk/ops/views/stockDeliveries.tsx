/**
 * The Stock view's deliveries panel: what HQ announced (the signed `deliveries` feed), per line
 * the units announced and taken in so far; "confirm at the back door" takes in what is still
 * open of every line (a partial delivery is confirmed again later for the rest).
 */
import { useEffect, useState } from 'preact/hooks';
import type { StockDeliveriesBody, StockMovedBody } from '../../../gateway/protocol/schemas/api/index.js';
import { can, type Me } from '../app.js';
import { get, post } from '../api.js';
import { useI18n } from '../i18n.js';

export function DeliveriesPanel({ me, n, onChanged }: { me: Me; n: number; onChanged: () => void }) {
  const { t: all, f } = useI18n();
  const T = all.shelfStock;
  const [list, setList] = useState<StockDeliveriesBody['deliveries'] | null>(null);
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);
  useEffect(() => {
    void get<StockDeliveriesBody>('/api/stock/deliveries').then((r) => setList(r.ok ? r.body.deliveries : null));
  }, [n]);
  if (!list) return null;
  const confirm = async (d: StockDeliveriesBody['deliveries'][number]) => {
    const lines = d.lines.map((l, i) => ({ line: i, qty: l.qty - (d.received[i] ?? 0) })).filter((l) => l.qty > 0);
    if (lines.length === 0) return;
    const r = await post<StockMovedBody>(`/api/stock/deliveries/${encodeURIComponent(d.deliveryId)}/confirm`, { requestId: crypto.randomUUID(), lines });
    setNote(r.ok ? { ok: true, text: T.confirmed(d.deliveryId, lines.reduce((s, l) => s + l.qty, 0)) } : { ok: false, text: r.message });
    if (r.ok) onChanged();
  };
  return (
    <section data-view-part="deliveries">
      <h3>{T.deliveriesTitle}</h3>
      {note && (
        <p role="status" class={note.ok ? 'ops-note' : 'ops-error'}>
          {note.text}
        </p>
      )}
      {list.length === 0 ? (
        <p class="ops-na">{T.noDeliveries}</p>
      ) : (
        <table class="ops-table" aria-label={T.deliveriesTitle} data-testid="stock-deliveries">
          <thead>
            <tr>
              <th>{T.delivery}</th>
              <th>{T.expected}</th>
              <th>{all.stock.item}</th>
              <th>{T.receivedOf}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.map((d) => (
              <tr key={d.deliveryId} data-delivery={d.deliveryId}>
                <td>
                  {d.deliveryId}
                  {d.supplier ? ` (${d.supplier})` : ''}
                </td>
                <td>{d.expectedAt ? f.clock(Date.parse(d.expectedAt)) : '–'}</td>
                <td>{d.lines.map((l) => l.name || l.gtin).join(', ')}</td>
                <td>{d.lines.map((l, i) => `${f.num(d.received[i] ?? 0)}/${f.num(l.qty)}`).join(', ')}</td>
                <td>
                  {can(me, 'attendant') && (
                    <button type="button" disabled={d.lines.every((l, i) => (d.received[i] ?? 0) >= l.qty)} onClick={() => void confirm(d)}>
                      {T.confirm}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
