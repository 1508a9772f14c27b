/**
 * Waiting for help: while an attendant is needed (an open request, a bagging-area problem, or the
 * shopper's own call) the whole screen says so — who is coming, why in plain words, and what the
 * shopper may do meanwhile — with the cart summary beside it. The one primary action is "Keep
 * scanning" (back to the cart for this wait); paying explains why it must wait, and cancelling
 * stays possible.
 */
import type { ComponentChildren } from 'preact';
import type { CartView } from '../../../gateway/protocol/schemas/kiosk.js';
import { BigButton } from '../../ui/BigButton.js';
import { formatKg } from '../../ui/money.js';
import { noticeText, type Strings } from '../strings.js';
import type { HelpReason } from './phaseScreen.js';
import type { PhaseStrings } from './phaseStrings.js';
import { HelpPicture } from './pictures.js';

type Request = CartView['requests'][number];

/** What follows a request's reason: the product (catalog name) or the void's items and amount, formatted by the page. */
function detailOf(r: Request | undefined, t: Strings, money: (m: number, currency?: string) => string): string {
  if (!r) return '';
  if (r.kind === 'void' && r.count !== undefined && r.amount !== undefined) return t.voidDetail(r.count, money(r.amount, r.currency));
  if ((r.kind === 'age' || r.kind === 'removal') && r.item) return r.item;
  return '';
}

export function Help(p: {
  view: CartView;
  t: Strings;
  pl: PhaseStrings;
  lang: string;
  reasons: HelpReason[];
  money: (m: number, currency?: string) => string;
  canShop: boolean;
  back: () => void;
  pay: () => void;
  cancel: () => void;
  /** The totals block of the scanning screen, shown as it is there. */
  totals: ComponentChildren;
}) {
  const { view, t, pl, money } = p;
  const count = view.lines.reduce((n, l) => n + l.qty, 0);
  return (
    <main class="k-help-screen" data-screen="help" data-reasons={p.reasons.join(' ')} aria-labelledby="help-title">
      <div class="k-help-head" role="alert">
        <HelpPicture />
        <h2 id="help-title">{pl.helpTitle}</h2>
      </div>
      <ul class="k-help-reasons">
        {p.reasons.map((reason, i) => {
          // Requests come first, in the same order as `reasons` (helpReasons keeps it).
          const r = view.requests[i]?.kind === reason ? view.requests[i] : undefined;
          const detail = detailOf(r, t, money);
          return (
            <li key={r?.requestId ?? reason} class="k-help-reason" data-testid={r ? `request-${r.kind}` : `help-${reason}`} data-reason={reason}>
              <strong>{pl.reasons[reason].why}{detail ? ` — ${detail}` : ''}</strong>
              <span>{pl.reasons[reason].meanwhile}</span>
            </li>
          );
        })}
      </ul>
      {view.notice && <div class="k-banner k-banner-warn" role="status" data-testid="notice" data-code={view.notice.code}>{noticeText(t, view.notice)}</div>}
      <div class="k-help-body">
        <section class="k-help-cart" aria-labelledby="help-cart-title">
          <h3 id="help-cart-title">{pl.yourCart} · {pl.items(count)}</h3>
          <table class="k-lines">
            <thead><tr><th scope="col">{t.item}</th><th scope="col" class="num">{t.qty}</th><th scope="col" class="num">{t.price}</th></tr></thead>
            <tbody>
              {view.lines.map((l) => (
                <tr key={l.lineId} data-testid="line" data-gtin={l.gtin}>
                  <td>{l.name}{l.grams !== undefined && <small> · {formatKg(l.grams, p.lang)}</small>}</td>
                  <td class="num" data-testid="qty">{l.qty}</td>
                  <td class="num" data-testid="line-price">{money(l.price)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <aside class="k-help-side">
          {p.totals}
          <div class="k-actions">
            <BigButton label={pl.keepScanning} kind="primary" onClick={p.back} testId="help-back" />
            <BigButton label={`${t.pay} ${money(view.total)}`} disabled={!p.canShop || view.lines.length === 0} onClick={p.pay} testId="pay" />
            <BigButton label={t.cancel} kind="danger" disabled={!p.canShop} onClick={p.cancel} testId="cancel" />
          </div>
        </aside>
      </div>
    </main>
  );
}
