/**
 * The thank-you screen: what was paid (from the gateway's receipt model, the same one the printer
 * gets), the QR of the digital receipt, "Print receipt" when the store asks before printing, and
 * "Done". The transaction is named by its short number; the full id stays in small print for the
 * service desk.
 */
import { useMemo } from 'preact/hooks';
import type { CartView } from '../../../gateway/protocol/schemas/kiosk.js';
import { BigButton } from '../../ui/BigButton.js';
import { formatRateBp } from '../../ui/money.js';
import type { Lang, Strings } from '../strings.js';
import { receiptQrSvg } from '../receiptQr.js';

type Receipt = NonNullable<CartView['receipt']>;

export function ThankYou(p: { receipt: Receipt | null; t: Strings; lang: Lang; money: (m: number) => string; stale: boolean; pointsEarned?: number | null; print: () => void; done: () => void }) {
  const { receipt: r, t, money } = p;
  const m = r?.model;
  const qr = useMemo(() => (m?.url ? receiptQrSvg(m.url) : null), [m?.url]);
  const card = m ? [m.payment.cardName, m.payment.maskedPan].filter((x) => x !== undefined).join(' ') : '';
  return (
    <main class="k-center k-thanks" data-testid="thanks">
      <h2>{t.thanks}</h2>
      <div class="k-thanks-body">
        <section class="k-thanks-summary" aria-label={t.receipt}>
          {m && <p data-testid="receipt-no">{t.receiptNo(m.shortNo)}</p>}
          {m && <p data-testid="receipt-items">{t.itemsCount(m.lines.reduce((a, l) => a + l.qty, 0))}</p>}
          {m && m.savings > 0 && <p class="k-saving-total" data-testid="receipt-savings">{t.savings}: {money(m.savings)}</p>}
          {p.pointsEarned != null && <p data-testid="receipt-points">{t.pointsEarn}: {p.pointsEarned}</p>}
          <p class="k-total" data-testid="receipt-total">{t.total}: {money(r?.total ?? 0)}</p>
          {(r?.vat ?? []).map((v) => (
            <p key={String(v.rateBp)} data-testid="receipt-vat" data-rate={v.rateBp ?? 'none'}>
              {v.rateBp === null ? t.vatUnknown : t.vatLine(formatRateBp(v.rateBp, p.lang))}: {money(v.vat)} ({t.net} {money(v.net)})
            </p>
          ))}
          {card && <p data-testid="receipt-card">{t.paidBy(card)}</p>}
          {m?.payment.receiptNo && <p data-testid="receipt-terminal-no">{t.terminalReceiptNo(m.payment.receiptNo)}</p>}
          {m?.member && <p data-testid="receipt-member">{t.member}: {m.member.id}{m.member.tier ? ` · ${m.member.tier}` : ''}</p>}
        </section>
        {qr && m?.url && (
          <figure class="k-qr" data-testid="receipt-qr" data-url={m.url}>
            <div role="img" aria-label={t.qrLabel} dangerouslySetInnerHTML={{ __html: qr }} />
            <figcaption>{t.qrCaption}</figcaption>
          </figure>
        )}
      </div>
      <div class="k-thanks-actions">
        {r?.print?.offer && <BigButton label={t.printReceipt} disabled={p.stale} onClick={p.print} testId="print-receipt" />}
        {r?.print?.printed && <p role="status" data-testid="receipt-printed">{t.receiptPrinted}</p>}
        <BigButton label={t.newCustomer} kind="primary" disabled={p.stale} onClick={p.done} testId="new-customer" />
      </div>
      <p class="k-txid">{t.transactionId}: <span data-testid="transaction-id">{r?.transactionId}</span></p>
    </main>
  );
}
