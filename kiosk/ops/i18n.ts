/**
 * The ops page's language: English or Chinese, picked with a switch in the header and
 * remembered per browser (local storage); a first visit follows the browser's language. Views get
 * the strings table and the formatters for that language from `useI18n()`.
 */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { makeFormat, type Format } from './format.js';
import { STRINGS, type OpsLang, type OpsStrings } from './strings.js';

const KEY = 'ops.lang';

export function storedLang(): OpsLang {
  const v = localStorage.getItem(KEY);
  if (v === 'en' || v === 'zh') return v;
  return (navigator.language ?? '').toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

export function saveLang(lang: OpsLang): void {
  localStorage.setItem(KEY, lang);
}

export interface I18n {
  lang: OpsLang;
  t: OpsStrings;
  f: Format;
}

export function i18nFor(lang: OpsLang): I18n {
  const t = STRINGS[lang];
  return { lang, t, f: makeFormat(lang === 'zh' ? 'zh-CN' : 'en-GB', t) };
}

export const I18nContext = createContext<I18n>(i18nFor('en'));

export function useI18n(): I18n {
  return useContext(I18nContext);
}
