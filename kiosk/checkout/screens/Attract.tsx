/**
 * The attract screen: what the kiosk shows while nobody is at it (idle, empty cart). One large
 * instruction with a moving picture, the language choice, and "Start" as its one primary action;
 * fruit & veg without a barcode is one touch away. A scan (or an RFID basket) starts a cart at
 * the gateway and the page moves on by itself; touching "Start" shows the empty scanning screen,
 * which falls back here after the store's idle time without a touch.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { BigButton } from '../../ui/BigButton.js';
import type { Lang, Strings } from '../strings.js';
import type { PhaseStrings } from './phaseStrings.js';
import { ScanPicture } from './pictures.js';

/** Whether the shopper touched "Start" in this session, forgotten after `idleMs` without a touch. */
export function useAttractStart(sessionId: string | null, idleEmpty: boolean, idleMs: number, touched: number): { started: boolean; start: () => void } {
  const [startedIn, setStartedIn] = useState<string | null>(null);
  const started = startedIn !== null && startedIn === sessionId;
  useEffect(() => {
    if (!started || !idleEmpty) return;
    const t = setTimeout(() => setStartedIn(null), idleMs);
    return () => clearTimeout(t);
  }, [started, idleEmpty, idleMs, touched]);
  return { started, start: () => setStartedIn(sessionId) };
}

export function Attract(p: {
  t: Strings;
  pl: PhaseStrings;
  lang: Lang;
  start: () => void;
  pickLang: (l: Lang) => void;
  /** Opens the produce step; absent when the store sells no weighed items or the page is offline. */
  produce?: () => void;
  banners?: ComponentChildren;
  demo?: ComponentChildren;
}) {
  const { t, pl } = p;
  return (
    <main class="k-attract-screen" data-screen="attract" aria-labelledby="attract-title">
      {p.banners}
      {/* Touching the picture starts too; the Start button is the same for keyboards and screen readers. */}
      <div class="k-attract-hero" onClick={p.start}>
        <ScanPicture />
        <h2 id="attract-title" data-testid="welcome">{t.welcome}</h2>
        <p class="k-attract-sub">{pl.touchToStart}</p>
      </div>
      <div class="k-attract-actions">
        <BigButton label={pl.start} kind="primary" onClick={p.start} testId="attract-start" />
        {p.produce && (
          <BigButton label={t.produceOpen} onClick={p.produce} testId="produce-open">
            <span class="k-produce-open">{t.produceOpen}</span>
          </BigButton>
        )}
      </div>
      <div class="k-attract-langs" role="group" aria-label={pl.chooseLanguage}>
        <button type="button" class="ui-btn" lang="en" aria-pressed={p.lang === 'en'} onClick={() => p.pickLang('en')} data-testid="attract-lang-en">English</button>
        <button type="button" class="ui-btn" lang="zh-CN" aria-pressed={p.lang === 'zh'} onClick={() => p.pickLang('zh')} data-testid="attract-lang-zh">中文</button>
      </div>
      {p.demo}
    </main>
  );
}
