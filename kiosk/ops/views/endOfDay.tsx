/**
 * A card terminal's end of day on its device detail: the last one it reported (time, closed or
 * failed, how many payments, the total) and, for an admin, the button that asks for the next one.
 * Closing the batch settles the store's card payments with the acquirer, so the button takes two
 * clicks; the gateway refuses it while the terminal's kiosk takes a payment and says why.
 */
import { useEffect, useState } from 'preact/hooks';
import type { CommandAcceptedBody, DeviceDetailBody, DeviceView } from '../../../gateway/protocol/schemas/api/index.js';
import type { PaymentEndOfDayEvt } from '../../../gateway/protocol/schemas/payment.js';
import { get, post } from '../api.js';
import { useI18n } from '../i18n.js';
import { useTwoStep } from '../twoStep.js';

export function EndOfDay({ d, role, onSent }: { d: DeviceView; role: string | null; onSent: () => void }) {
  const { t, f } = useI18n();
  const confirm = useTwoStep();
  const [note, setNote] = useState<string | null>(null);
  // The live feed carries a device's events at most every few seconds: after asking, look sooner.
  const [polled, setPolled] = useState<DeviceView['lastEvents'][string] | null>(null);
  const [waitFor, setWaitFor] = useState<string | null>(null);
  const live = d.lastEvents.endOfDay;
  const newest = polled && (!live || polled.seq > live.seq) ? polled : live;
  const last = newest?.data as PaymentEndOfDayEvt | undefined;
  useEffect(() => {
    if (waitFor === null || last?.cmdId === waitFor) return;
    let tries = 0;
    const timer = setInterval(() => {
      if (++tries > 60) return void clearInterval(timer);
      void get<DeviceDetailBody>(`/api/devices/${d.kind}/${encodeURIComponent(d.id)}`).then((r) => {
        const e = r.ok ? r.body.device.lastEvents.endOfDay : undefined;
        if (e) setPolled(e);
      });
    }, 1000);
    return () => clearInterval(timer);
  }, [waitFor, last?.cmdId]);
  const run = async () => {
    const r = await post<CommandAcceptedBody>(`/api/devices/${d.kind}/${encodeURIComponent(d.id)}/commands`, { type: 'endOfDay', data: {} });
    if (r.ok) {
      onSent();
      setWaitFor(r.body.cmdId);
    }
    setNote(r.ok ? t.commandSent(t.endOfDay, r.body.cmdId) : t.refused(r.message));
  };
  return (
    <section data-testid="end-of-day">
      <h4>{t.endOfDay}</h4>
      {last ? (
        <p data-testid="end-of-day-last" data-ok={String(last.ok)} data-count={last.count ?? ''} data-total={last.totalAmount ?? ''}>
          {f.date(Date.parse(last.ts))} {f.clock(Date.parse(last.ts))} · <span class={`badge ${last.ok ? 'online' : 'offline'}`}>{last.ok ? t.endOfDayOk : t.endOfDayFailed}</span>
          {last.count !== undefined ? ` · ${t.endOfDayCount(f.num(last.count))}` : ''}
          {last.totalAmount !== undefined ? ` · ${f.money(last.totalAmount, last.currency ?? null)}` : ''}
          {last.error ? ` · ${last.error}` : ''}
        </p>
      ) : (
        <p data-testid="end-of-day-none">{t.endOfDayNone}</p>
      )}
      {role === 'admin' ? (
        !d.disabled && (
          <button onClick={() => confirm.press('eod', run)} data-action="end-of-day">
            {confirm.armed('eod') ? t.endOfDayConfirm : t.endOfDayRun}
          </button>
        )
      ) : (
        <p class="ops-na">{t.endOfDayAdminOnly}</p>
      )}
      {note && (
        <p role="status" data-testid="end-of-day-result">
          {note}
        </p>
      )}
    </section>
  );
}
