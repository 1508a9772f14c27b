/**
 * Which screen the kiosk page shows for a cart view, as self-checkout vendors split them: the
 * attract screen while nobody is at the kiosk, the scanning screen, a waiting-for-help screen
 * while an attendant is needed, and the paying screen. Pure: the page passes in what only it
 * knows (whether the shopper touched "Start", which wait they already stepped back from).
 */
import type { CartView } from '../../../gateway/protocol/schemas/kiosk.js';

export type PhaseScreen = 'attract' | 'scanning' | 'help' | 'paying';

/** Why an attendant is coming: a request's kind, a bagging-area state without its request, or the shopper's own call. */
export type HelpReason = CartView['requests'][number]['kind'] | 'bagUnexpected' | 'bagRemoved' | 'called';

/** Every reason an attendant is on the way for this view, requests first in the gateway's order. */
export function helpReasons(view: CartView): HelpReason[] {
  const out: HelpReason[] = view.requests.map((r) => r.kind);
  // The security request carries a bagging problem already; without it the scale's state is the reason.
  const security = view.requests.some((r) => r.kind === 'security');
  if (!security && view.bagging.state === 'unexpected') out.push('bagUnexpected');
  if (!security && view.bagging.state === 'removed') out.push('bagRemoved');
  if (view.helpCalled && out.length === 0) out.push('called');
  return out;
}

/**
 * What identifies one wait: "Keep scanning" steps back from this wait only, so a new request
 * (or a new call for help) brings the screen back.
 */
export function helpKey(view: CartView): string {
  return [view.sessionId, ...view.requests.map((r) => r.requestId), view.bagging.state, view.helpCalled ? 'called' : ''].join('|');
}

export function screenFor(view: CartView, page: { started: boolean; dismissedHelp: string | null }): PhaseScreen {
  if (view.phase === 'paying') return 'paying';
  const reasons = helpReasons(view);
  if ((reasons.length > 0 || view.phase === 'needsAttendant') && page.dismissedHelp !== helpKey(view)) return 'help';
  if (view.phase === 'idle' && view.lines.length === 0 && !page.started && reasons.length === 0) return 'attract';
  return 'scanning';
}

export type CardPictureKind = 'insert' | 'tap' | 'pin' | 'any';

/** The picture for the terminal's latest prompt: where the card goes, or the PIN pad. */
export function cardPictureFor(prompt: string | null): CardPictureKind {
  if (prompt === 'insertCard' || prompt === 'removeCard') return 'insert';
  if (prompt === 'presentCard') return 'tap';
  if (prompt === 'enterPin' || prompt === 'pinWrong') return 'pin';
  return 'any';
}
