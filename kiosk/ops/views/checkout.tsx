/**
 * Checkout: the kiosks and their sessions, and the attendant queue (age checks, overrides, voids…).
 * Approve/reject go to the kiosk service's API, which commits each decision as an exact record
 * with who and when before it answers. A viewer sees the kiosks only.
 */
import { useEffect, useState } from 'preact/hooks';
import { can, type Live, type Me } from '../app.js';
import { get, post, unavailable, type ApiResult } from '../api.js';
import { ago, money } from '../format.js';
import { useTwoStep } from '../twoStep.js';
import { PickupTasks } from './pickups.js';

interface KioskRow {
  kioskId: string;
  phase: string;
  sessionId: string | null;
  lines: number;
  total: number;
  currency: string;
  helpCalled?: boolean;
  requests?: unknown[];
  /** Peripheral role → device id (scanner, produceScale, baggingScale, rfid, light, payment). */
  devices?: Record<string, string>;
}
interface RequestRow {
  requestId: string;
  kioskId: string;
  kind: string;
  item?: string;
  createdAt: string;
}

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
  const [n, reload] = useState(0);
  const [note, setNote] = useState<string | null>(null);
  const kiosks = usePoll<{ kiosks: KioskRow[] }>('/api/kiosks', 2000, n);
  const queue = usePoll<{ requests: RequestRow[] }>(can(me, 'attendant') ? '/api/attendant/queue' : null, 1000, n);
  const decide = async (r: RequestRow, what: 'approve' | 'reject') => {
    const res = await post(`/api/attendant/${encodeURIComponent(r.requestId)}/${what}`, {});
    setNote(res.ok ? `${what === 'approve' ? 'Approved' : 'Rejected'}: ${r.kind} at ${r.kioskId}` : `${r.requestId}: ${res.message}`);
    reload((x) => x + 1);
  };
  // Voiding asks twice (a second click on "Confirm void"): it ends a shopper's transaction.
  const confirm = useTwoStep();
  const voidCart = async (k: KioskRow) => {
    const res = await post(`/api/attendant/kiosks/${encodeURIComponent(k.kioskId)}/void`, {});
    setNote(res.ok ? `Voided: the transaction at ${k.kioskId}` : `${k.kioskId}: ${res.message}`);
    reload((x) => x + 1);
  };
  const voidable = (k: KioskRow) => can(me, 'attendant') && (k.phase === 'shopping' || k.phase === 'needsAttendant' || (k.phase === 'idle' && k.lines > 0));
  return (
    <section>
      <h2>Checkout</h2>
      <h3>Kiosks</h3>
      {kiosks === null ? (
        <p>Loading…</p>
      ) : unavailable(kiosks) ? (
        <p class="ops-na" data-panel="kiosks">
          not available (this gateway has no kiosk API)
        </p>
      ) : !kiosks.ok ? (
        <p class="ops-error">{kiosks.message}</p>
      ) : kiosks.body.kiosks.length === 0 ? (
        <p>No kiosks configured.</p>
      ) : (
        <table class="ops-table" aria-label="Kiosks">
          <thead>
            <tr>
              <th>Kiosk</th>
              <th>Peripherals</th>
              <th>Session</th>
              <th>Lines</th>
              <th>Total</th>
              <th>Help</th>
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
                          {role} {d?.health ?? 'unknown'}
                        </span>
                      );
                    })}
                  </td>
                  <td>{k.phase}</td>
                  <td>{k.lines}</td>
                  <td>{money(k.total, k.currency)}</td>
                  <td>{k.helpCalled ? <span class="badge stale">called</span> : ''}</td>
                  <td>
                    {voidable(k) && (
                      <button onClick={() => confirm.press(k.kioskId, () => voidCart(k))} data-action="void">
                        {confirm.armed(k.kioskId) ? 'Confirm void' : 'Void'}
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
      <h3>Attendant queue</h3>
      {note && <p role="status">{note}</p>}
      {!can(me, 'attendant') ? (
        <p class="ops-na" data-panel="queue">
          Approvals need the attendant role.
        </p>
      ) : queue === null ? (
        <p>Loading…</p>
      ) : unavailable(queue) ? (
        <p class="ops-na" data-panel="queue">
          not available (this gateway has no attendant API)
        </p>
      ) : !queue.ok ? (
        <p class="ops-error">{queue.message}</p>
      ) : queue.body.requests.length === 0 ? (
        <p data-queue="empty">Nothing waits for an attendant.</p>
      ) : (
        <table class="ops-table" aria-label="Attendant queue">
          <thead>
            <tr>
              <th>Kiosk</th>
              <th>Request</th>
              <th>Item</th>
              <th>Waiting</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {queue.body.requests.map((r) => (
              <tr key={r.requestId} data-request={r.requestId} data-kind={r.kind}>
                <td>{r.kioskId}</td>
                <td>{r.kind}</td>
                <td>{r.item ?? ''}</td>
                <td>{ago(Date.parse(r.createdAt), now)}</td>
                <td>
                  <button class="primary" onClick={() => decide(r, 'approve')}>
                    Approve
                  </button>{' '}
                  <button onClick={() => decide(r, 'reject')}>Reject</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
