/**
 * The item scanned last, large above the cart (what self-checkout vendors show so the shopper
 * sees at a glance that the scan went through and at what price). The newest line is the last
 * one the gateway sends; its quantity shows when more than one.
 */
import type { CartView } from '../../../gateway/protocol/schemas/kiosk.js';
import { formatKg } from '../../ui/money.js';
import type { Strings } from '../strings.js';

export function LastItem(p: { view: CartView; t: Strings; lang: string; money: (m: number) => string }) {
  const l = p.view.lines.at(-1);
  if (!l) return null;
  return (
    <div class="k-last" data-testid="last-item" data-gtin={l.gtin} aria-live="polite">
      <span class="k-last-name">{l.name}</span>
      <span class="k-last-detail">
        {l.grams !== undefined ? `${formatKg(l.grams, p.lang)} × ${p.money(l.unitPrice)}/kg` : l.qty > 1 ? `${l.qty} × ${p.money(l.unitPrice)}` : ''}
      </span>
      <strong class="k-last-price">{p.money(l.price)}</strong>
    </div>
  );
}
