/**
 * Voiding a completed sale (attendant or admin): the receipt's short number (what the shopper
 * holds: the thank-you screen and the paper receipt print it) or the transaction id (from the
 * receipt's QR link or HQ), and a reason, two clicks. A short number is looked up first; one that
 * names no sale is tried as a transaction id. The gateway answers once the void is done: how the money goes
 * back (reversed on the terminal, or a refund the till owes), shown here.
 */
import { useState } from 'preact/hooks';
import type { SaleVoidedRec } from '../../../gateway/protocol/schemas/saleVoid.js';
import { get, post } from '../api.js';
import { useI18n } from '../i18n.js';
import { useTwoStep } from '../twoStep.js';

export function SaleVoidForm() {
  const { t, f } = useI18n();
  const confirm = useTwoStep();
  const [tx, setTx] = useState('');
  const [reason, setReason] = useState('');
  const [note, setNote] = useState<string | null>(null);
  const run = async () => {
    let id = tx.trim();
    if (/^[A-Za-z0-9]{1,8}$/.test(id)) {
      const found = await get<{ sales: { transactionId: string }[] }>(`/api/sales/by-receipt/${id}`);
      if (found.ok && found.body.sales.length > 1) return setNote(t.saleVoidSeveral(id.toUpperCase()));
      if (found.ok) id = found.body.sales[0]!.transactionId;
    }
    const r = await post<{ voided: SaleVoidedRec }>(`/api/sales/${encodeURIComponent(id)}/void`, { reason: reason.trim() });
    if (!r.ok) return setNote(t.refused(r.message));
    const v = r.body.voided;
    setNote(v.refund.kind === 'reversed' ? t.saleVoidReversed(f.money(v.refund.amount, v.currency)) : t.saleVoidOwed(f.money(v.refund.amount, v.currency), v.refund.why));
    setTx('');
    setReason('');
  };
  const ready = tx.trim().length > 0 && reason.trim().length >= 3;
  return (
    <section data-testid="sale-void">
      <h4>{t.saleVoid}</h4>
      <input value={tx} onInput={(e) => setTx((e.target as HTMLInputElement).value)} placeholder={t.saleVoidTransaction} aria-label={t.saleVoidTransaction} data-field="transactionId" />
      <input value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} placeholder={t.saleVoidReason} aria-label={t.saleVoidReason} data-field="reason" />
      <button disabled={!ready} onClick={() => confirm.press('saleVoid', run)} data-action="void-sale">
        {confirm.armed('saleVoid') ? t.confirmVoid : t.void}
      </button>
      {note && (
        <p role="status" data-testid="sale-void-result">
          {note}
        </p>
      )}
    </section>
  );
}
