/**
 * The shopper's display modes: high contrast with large text, and a low-reach layout (every
 * control in the lower part of the screen, for a wheelchair user or a child). One button each,
 * in the header; both reset when the session changes, so the next shopper starts from the default.
 */
import { useState } from 'preact/hooks';
import { BigButton } from '../../ui/BigButton.js';
import type { Strings } from '../strings.js';

export interface ShopperModes {
  contrast: boolean;
  reach: boolean;
  toggle: (m: 'contrast' | 'reach') => void;
}

export function useShopperModes(sessionId: string | null): ShopperModes {
  // Kept with the session they were set in: a new session shows the defaults from its first frame.
  const [set, setSet] = useState<{ sessionId: string | null; contrast: boolean; reach: boolean }>({ sessionId, contrast: false, reach: false });
  const mine = set.sessionId === sessionId ? set : { sessionId, contrast: false, reach: false };
  return {
    contrast: mine.contrast,
    reach: mine.reach,
    toggle: (m) => setSet({ ...mine, [m]: !mine[m] }),
  };
}

export function ModeButtons(p: { t: Strings; modes: ShopperModes }) {
  const { t, modes } = p;
  return (
    <div class="k-modes" role="group">
      {/* The visible words are the button's name (WCAG 2.5.3); "large text" comes with high contrast. */}
      <BigButton label={t.modeContrast} pressed={modes.contrast} onClick={() => modes.toggle('contrast')} testId="mode-contrast" />
      <BigButton label={t.modeReach} pressed={modes.reach} onClick={() => modes.toggle('reach')} testId="mode-reach" />
    </div>
  );
}
