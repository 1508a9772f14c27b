/**
 * The member's points on the cart: what this purchase earns, what they may spend, and one button
 * that spends the most the gateway says this cart takes (or takes the spend back). The page sends
 * a number of points only; what they are worth is the gateway's.
 */
import type { CartView } from '../../../gateway/protocol/schemas/kiosk.js';
import { BigButton } from '../../ui/BigButton.js';
import type { Strings } from '../strings.js';

export function PointsPanel(p: { view: CartView; t: Strings; money: (m: number) => string; disabled: boolean; send: (points: number) => void }) {
  const pts = p.view.points;
  if (!pts) return null;
  const { t } = p;
  return (
    <section class="k-points" aria-label={t.pointsAvailable} data-testid="points">
      <dl>
        <dt>{t.pointsEarn}</dt><dd data-testid="points-earned">{pts.earned}</dd>
        <dt>{t.pointsAvailable}</dt><dd data-testid="points-available">{pts.available}</dd>
        {pts.spent > 0 && <><dt>{t.pointsPaid}</dt><dd data-testid="points-discount">−{p.money(pts.discount)} ({pts.spent})</dd></>}
      </dl>
      {pts.spent > 0 ? (
        <BigButton label={t.pointsUndo} disabled={p.disabled} onClick={() => p.send(0)} testId="points-undo" />
      ) : pts.spendable > 0 ? (
        <BigButton label={t.pointsUse(pts.spendable)} disabled={p.disabled} onClick={() => p.send(pts.spendable)} testId="points-use" />
      ) : null}
    </section>
  );
}
