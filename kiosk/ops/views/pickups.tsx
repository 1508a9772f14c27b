/**
 * Click & collect tasks, shown in the Checkout view: every order a shopper collected at a
 * kiosk that nobody has brought yet — order, customer (only what the order carries), items, kiosk,
 * waiting since — live from the SSE feed. "Handed over" commits an exact record with the logged-in
 * person and the time; the task then leaves every open ops page. A viewer sees the list only.
 */
import { useState } from 'preact/hooks';
import type { PickupTask } from '../../../gateway/protocol/schemas/api/index.js';
import { can, type Me } from '../app.js';
import { post } from '../api.js';
import { useI18n } from '../i18n.js';

export function PickupTasks({ me, tasks, now }: { me: Me; tasks: PickupTask[] | null; now: number }) {
  const { t: all, f } = useI18n();
  const T = all.pickups;
  const [note, setNote] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const handOver = async (t: PickupTask) => {
    setBusy(t.orderId);
    const r = await post(`/api/pickups/${encodeURIComponent(t.orderId)}/handover`, {});
    setBusy(null);
    setNote(r.ok ? T.done(t.orderId, t.kioskId) : `${t.orderId}: ${r.message}`);
  };
  return (
    <>
      <h3>{T.title}</h3>
      {note && (
        <p role="status" data-testid="pickup-note">
          {note}
        </p>
      )}
      {tasks === null ? (
        <p>{all.loading}</p>
      ) : tasks.length === 0 ? (
        <p data-pickups="empty">{T.none}</p>
      ) : (
        <table class="ops-table" aria-label={T.title}>
          <thead>
            <tr>
              <th>{T.order}</th>
              <th>{T.customer}</th>
              <th>{T.items}</th>
              <th>{T.kiosk}</th>
              <th>{T.waiting}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {tasks.map((t) => (
              <tr key={t.orderId} data-pickup={t.orderId} data-state={t.state}>
                <td>{t.orderId}</td>
                <td>{t.customer || '–'}</td>
                <td>{T.itemsOf(f.num(t.items), t.lines)}</td>
                <td>{t.kioskId}</td>
                <td title={t.since}>
                  {f.clock(Date.parse(t.since))} ({f.ago(Date.parse(t.since), now)})
                </td>
                <td>
                  {can(me, 'attendant') ? (
                    <button class="primary" data-action="handover" disabled={busy === t.orderId || t.state === 'handing'} onClick={() => handOver(t)}>
                      {t.state === 'handing' ? T.handing : T.handOver}
                    </button>
                  ) : (
                    <span class="ops-na">{T.needsRole}</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
