/**
 * Which language the kiosk page shows (the kiosk kept the last shopper's language).
 * A shopper's pick belongs to the session it was made in: a new session (after "thank you" or a
 * cancel) shows the store's default again, and so does an idle page left alone for `idleMs`. The
 * pick is kept in local storage with its session id, so a reload mid-purchase keeps it.
 */
import type { Lang } from './strings.js';

export interface LangChoice {
  lang: Lang;
  sessionId: string;
}

const KEY = 'kiosk.lang';

/** The language to show: the shopper's pick while its session lasts, else the store's default. */
export function shownLang(choice: LangChoice | null, sessionId: string | null, storeDefault: Lang): Lang {
  return choice !== null && sessionId !== null && choice.sessionId === sessionId ? choice.lang : storeDefault;
}

export function loadChoice(storage: Storage): LangChoice | null {
  try {
    const v = JSON.parse(storage.getItem(KEY) ?? 'null') as Partial<LangChoice> | null;
    return v && (v.lang === 'en' || v.lang === 'zh') && typeof v.sessionId === 'string' ? { lang: v.lang, sessionId: v.sessionId } : null;
  } catch {
    return null; // an older page stored a bare "zh": that shopper has gone
  }
}

export function saveChoice(storage: Storage, choice: LangChoice | null): void {
  if (choice === null) storage.removeItem(KEY);
  else storage.setItem(KEY, JSON.stringify(choice));
}
