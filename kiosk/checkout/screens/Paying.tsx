/**
 * The paying screen: the amount large, the card terminal's latest prompt for this payment large
 * (in the page's language, from the prompt code), a picture of what to do at the terminal, and
 * cancel while the terminal still allows it (the gateway's payment status is `sent`). Before the
 * terminal's first prompt the general hint shows. Problems during the payment (a result the
 * gateway could not learn, which calls an attendant) show as banners above.
 */
import type { ComponentChildren } from 'preact';
import type { CartView, KioskPaymentPrompt } from '../../../gateway/protocol/schemas/kiosk.js';
import { BigButton } from '../../ui/BigButton.js';
import type { Strings } from '../strings.js';
import { cardPictureFor } from './phaseScreen.js';
import type { PhaseStrings } from './phaseStrings.js';
import { CardPicture } from './pictures.js';

export function Paying(p: { view: CartView; t: Strings; pl: PhaseStrings; money: (m: number) => string; stale: boolean; prompt: KioskPaymentPrompt | null; cancel: () => void; banners?: ComponentChildren }) {
  const { view, t, pl } = p;
  // A late prompt of an earlier charge is not this payment's.
  const prompt = p.prompt !== null && p.prompt.requestId === view.payment?.requestId ? p.prompt : null;
  const picture = cardPictureFor(prompt?.prompt ?? null);
  return (
    <main class="k-pay-screen" data-screen="paying" data-testid="paying" aria-labelledby="pay-title">
      {p.banners}
      <div class="k-pay-amount">
        <h2 id="pay-title">{pl.toPay}</h2>
        <strong data-testid="pay-amount">{p.money(view.payment?.amount ?? view.total)}</strong>
      </div>
      <div class="k-pay-body" role="status">
        {prompt !== null ? (
          <p class="k-prompt" role="alert" data-testid="pay-prompt" data-prompt={prompt.prompt}>{t.prompts[prompt.prompt]}</p>
        ) : (
          <p class="k-prompt">{t.paying}</p>
        )}
        <figure class="k-pay-figure">
          <CardPicture kind={picture} />
          <figcaption>{pl.cardWhere[picture]}</figcaption>
        </figure>
      </div>
      <BigButton label={t.cancelPay} disabled={p.stale || view.payment?.status !== 'sent'} onClick={p.cancel} testId="pay-cancel" />
    </main>
  );
}
