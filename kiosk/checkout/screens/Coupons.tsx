/**
 * Coupons on the kiosk page: a "Coupon" button that opens a code field (a scanned coupon needs
 * none), and the cart's coupons under the totals, each with what it took off or why it does not
 * apply yet. The gateway verifies and prices every coupon; the page only shows what it says.
 */
import { useState } from 'preact/hooks';
import type { CartView } from '../../../gateway/protocol/schemas/kiosk.js';
import { BigButton } from '../../ui/BigButton.js';
import type { Lang, Strings } from '../strings.js';

export function CouponEntry(p: { t: Strings; disabled: boolean; send: (code: string) => void }) {
  const [open, setOpen] = useState(false);
  const [code, setCode] = useState('');
  if (!open) return <BigButton label={p.t.couponOpen} disabled={p.disabled} onClick={() => setOpen(true)} testId="coupon-open" />;
  return (
    <form
      class="k-member"
      onSubmit={(e) => {
        e.preventDefault();
        if (code.trim() !== '') p.send(code);
        setCode('');
        setOpen(false);
      }}
    >
      <label>
        {p.t.couponCode} <input value={code} autoFocus autoComplete="off" onInput={(e) => setCode((e.target as HTMLInputElement).value)} disabled={p.disabled} data-testid="coupon-input" />
      </label>
    </form>
  );
}

export function CouponList(p: { view: CartView; t: Strings; lang: Lang; money: (m: number) => string; canShop: boolean; remove: (couponId: string, serial: string) => void }) {
  const coupons = p.view.coupons ?? [];
  if (coupons.length === 0) return null;
  const { t } = p;
  return (
    <ul class="k-coupons" aria-label={t.couponOpen}>
      {coupons.map((c) => (
        <li key={`${c.couponId}/${c.serial}`} data-testid="coupon" data-coupon={c.couponId} data-applied={String(c.applied)}>
          <span>{(p.lang === 'zh' ? c.label.zh : undefined) ?? c.label.en}</span>{' '}
          {c.applied ? (
            <strong data-testid="coupon-amount">−{p.money(c.amount)}</strong>
          ) : (
            <small data-testid="coupon-reason">
              {t.couponReasons[c.reason ?? ''] ?? t.noticeOther}
              {c.missing !== undefined ? ` (${t.couponMissing(p.money(c.missing))})` : ''}
            </small>
          )}{' '}
          <BigButton label={`${t.couponRemove}: ${c.label.en}`} disabled={!p.canShop} onClick={() => p.remove(c.couponId, c.serial)}>✕</BigButton>
        </li>
      ))}
    </ul>
  );
}
