/**
 * A card terminal's end of day on its device detail: the last one it reported (time, closed or
 * failed, how many payments, the total) and, for an admin, the button that asks for the next one.
 * Closing the batch settles the store's card payments with the acquirer, so the button takes two
 * clicks; the gateway refuses it while the terminal's kiosk takes a payment and says why.
 */
import { useState } from 'preact/hooks';
import type { CommandAcceptedBody, DeviceView } from '../../../gateway/protocol/schemas/api/index.js';
import type { PaymentEndOfDayEvt } from '../../../gateway/protocol/schemas/payment.js';
import { post } from '../api.js';
import { useI18n } from '../i18n.js';
import { useTwoStep } from '../twoStep.js';

export function EndOfDay({ d, role, onSent }: { d: DeviceView; role: string | null; onSent: () => void }) {
  const { t, f } = useI18n();
  const confirm = useTwoStep();
  const [note, setNote] = useState<string | null>(null);
  const last = d.lastEvents.endOfDay?.data as PaymentEndOfDayEvt | undefined;
  const run = async () => {
    const r = await post<CommandAcceptedBody>(`/api/devices/${d.kind}/${encodeURIComponent(d.id)}/commands`, { type: 'endOfDay', data: {} });
    if (r.ok) onSent();
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
