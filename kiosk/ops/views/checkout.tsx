/**
 * Checkout: the kiosks and their sessions, and the attendant queue (age checks, overrides, voids…).
 * Approve/reject go to the kiosk service's API, which commits each decision as an exact record
 * with who and when before it answers. A viewer sees the kiosks only.
 */
import { useEffect, useState } from 'preact/hooks';
import type { AttendantQueueBody, KioskListBody, KioskSummary } from '../../../gateway/protocol/schemas/api/index.js';
import { can, type Live, type Me } from '../app.js';
import { get, post, unavailable, type ApiResult } from '../api.js';
import { useI18n } from '../i18n.js';
import { useTwoStep } from '../twoStep.js';
import { PickupTasks } from './pickups.js';
import { SaleVoidForm } from './saleVoid.js';

type KioskRow = KioskSummary;
type RequestRow = AttendantQueueBody['requests'][number];

function usePoll<T>(url: string | null, everyMs: number, n: number): ApiResult<T> | null {
  const [r, setR] = useState<ApiResult<T> | null>(null);
  useEffect(() => {
    if (!url) return;
    let gone = false;
    const load = async () => {
      const res = await get<T>(url);
      if (!gone) setR(res);
    };
    void load();
    const t = setInterval(load, everyMs);
    return () => {
      gone = true;
      clearInterval(t);
    };
  }, [url, n]);
  return r;
}

export function CheckoutView({ me, live, now }: { me: Me; live: Live; now: number }) {
  const { t, f } = useI18n();
  const kindName = (k: string) => t.requestKinds[k] ?? k;
  // A void shows its items and amount; an age check or removal its product; other gateway prose only in English.
  const itemText = (r: RequestRow) =>
    r.kind === 'void' && r.count !== undefined && r.amount !== undefined && r.currency !== undefined ? t.voidItems(r.count, f.money(r.amount, r.currency)) : r.amount !== undefined && r.currency !== undefined ? f.money(r.amount, r.currency) : (r.item ?? '');
  const [n, reload] = useState(0);
  const [note, setNote] = useState<string | null>(null);
  const kiosks = usePoll<KioskListBody>('/api/kiosks', 2000, n);
  const queue = usePoll<AttendantQueueBody>(can(me, 'attendant') ? '/api/attendant/queue' : null, 1000, n);
  const decide = async (r: RequestRow, what: 'approve' | 'reject') => {
    const res = await post(`/api/attendant/${encodeURIComponent(r.requestId)}/${what}`, {});
    setNote(res.ok ? t.decided(what === 'approve', kindName(r.kind), r.kioskId) : `${r.requestId}: ${res.message}`);
    reload((x) => x + 1);
  };
  // Voiding asks twice (a second click on "Confirm void"): it ends a shopper's transaction.
  const confirm = useTwoStep();
  const voidCart = async (k: KioskRow) => {
    const res = await post(`/api/attendant/kiosks/${encodeURIComponent(k.kioskId)}/void`, {});
    setNote(res.ok ? t.voided(k.kioskId) : `${k.kioskId}: ${res.message}`);
    reload((x) => x + 1);
  };
  const voidable = (k: KioskRow) => can(me, 'attendant') && (k.phase === 'shopping' || k.phase === 'needsAttendant' || (k.phase === 'idle' && k.lines > 0));
  return (
    <section>
      <h2>{t.checkout}</h2>
      <h3>{t.kiosks}</h3>
      {kiosks === null ? (
        <p>{t.loading}</p>
      ) : unavailable(kiosks) ? (
        <p class="ops-na" data-panel="kiosks">
          {t.notAvailable('kiosk')}
        </p>
      ) : !kiosks.ok ? (
        <p class="ops-error">{kiosks.message}</p>
      ) : kiosks.body.kiosks.length === 0 ? (
        <p>{t.noKiosks}</p>
      ) : (
        <table class="ops-table" aria-label={t.kiosks}>
          <thead>
            <tr>
              <th>{t.kiosk}</th>
              <th>{t.peripherals}</th>
              <th>{t.session}</th>
              <th>{t.lines}</th>
              <th>{t.total}</th>
              <th>{t.help}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {kiosks.body.kiosks.map((k) => {
              return (
                <tr key={k.kioskId} data-kiosk={k.kioskId} data-phase={k.phase}>
                  <td>{k.kioskId}</td>
                  <td>
                    {Object.entries(k.devices ?? {}).map(([role, id]) => {
                      const d = [...live.devices.values()].find((x) => x.id === id && x.username.endsWith(`/${id}`));
                      return (
                        <span class={`badge ${d?.health ?? ''}`} title={`${role}: ${id}`} data-peripheral={id}>
                          {t.roleNames[role] ?? role} {t.health[d?.health ?? 'unknown'] ?? d?.health}
                          {role === 'printer' && t.printerPaper[paperOf(d)] !== undefined && <strong data-paper={paperOf(d)}> · {t.printerPaper[paperOf(d)]}</strong>}
                        </span>
                      );
                    })}
                  </td>
                  <td>{t.phases[k.phase] ?? k.phase}</td>
                  <td>{f.num(k.lines)}</td>
                  <td data-col="total">{f.money(k.total, k.currency)}</td>
                  <td>{k.helpCalled ? <span class="badge stale">{t.helpCalled}</span> : ''}</td>
                  <td>
                    {voidable(k) && (
                      <button onClick={() => confirm.press(k.kioskId, () => voidCart(k))} data-action="void">
                        {confirm.armed(k.kioskId) ? t.confirmVoid : t.void}
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <PickupTasks me={me} tasks={live.pickups} now={now} />
      {can(me, 'attendant') && <SaleVoidForm />}
      <h3>{t.attendantQueue}</h3>
      {note && <p role="status">{note}</p>}
      {!can(me, 'attendant') ? (
        <p class="ops-na" data-panel="queue">
          {t.needsAttendantRole}
        </p>
      ) : queue === null ? (
        <p>{t.loading}</p>
      ) : unavailable(queue) ? (
        <p class="ops-na" data-panel="queue">
          {t.notAvailable('attendant')}
        </p>
      ) : !queue.ok ? (
        <p class="ops-error">{queue.message}</p>
      ) : queue.body.requests.length === 0 ? (
        <p data-queue="empty">{t.queueEmpty}</p>
      ) : (
        <table class="ops-table" aria-label={t.attendantQueue}>
          <thead>
            <tr>
              <th>{t.kiosk}</th>
              <th>{t.request}</th>
              <th>{t.item}</th>
              <th>{t.waiting}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {queue.body.requests.map((r) => (
              <tr key={r.requestId} data-request={r.requestId} data-kind={r.kind}>
                <td>{r.kioskId}</td>
                <td>{kindName(r.kind)}</td>
                <td data-col="item">{itemText(r)}</td>
                <td>{f.ago(Date.parse(r.createdAt), now)}</td>
                <td>
                  <button class="primary" onClick={() => decide(r, 'approve')}>
                    {t.approve}
                  </button>{' '}
                  <button onClick={() => decide(r, 'reject')}>{t.reject}</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** A printer's paper as its last `status` event said it (`ok` when it has said nothing). */
function paperOf(d: { lastEvents: Record<string, { data: unknown }> } | undefined): string {
  const paper = (d?.lastEvents.status?.data as { paper?: unknown } | undefined)?.paper;
  return typeof paper === 'string' ? paper : 'ok';
}
