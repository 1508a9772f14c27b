/**
 * "No barcode? Fruit & veg": the produce lookup, a step of its own. The list is the gateway's
 * (weighed items with their price per kg, the store's most-sold first); the page only filters
 * it — by name or PLU typed in the search field, by the digit keys (a PLU narrows as it is typed),
 * or by the first letter from the A–Z strip — and sends `pickProduce` with a GTIN. The price of
 * the line is the gateway's: catalog price per kg × the produce scale's stable weight.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { CartView } from '../../../gateway/protocol/schemas/kiosk.js';
import { BigButton } from '../../ui/BigButton.js';
import { formatKg } from '../../ui/money.js';
import { noticeText, type Lang, type Strings } from '../strings.js';

type Produce = CartView['produce'][number];

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'.split('');
const DIGITS = '1234567890'.split('');

/** The name a shopper reads: the Chinese one on the Chinese page when the catalog has it. */
export function produceName(p: Produce, lang: Lang): string {
  return lang === 'zh' && p.nameZh ? p.nameZh : p.name;
}

/** The first letter of an item's English name, for the A–Z strip (names are sorted and filed by it). */
function letterOf(p: Produce): string {
  return p.name.trim().charAt(0).toUpperCase();
}

/** Items matching a typed query: digits match a PLU from its start, anything else a name (EN or ZH) anywhere. */
export function matchProduce(list: readonly Produce[], query: string, letter: string | null): Produce[] {
  const q = query.trim().toLowerCase();
  return list.filter((p) => {
    if (letter !== null && letterOf(p) !== letter) return false;
    if (q === '') return true;
    if (/^[0-9]+$/.test(q) && p.plu?.startsWith(q)) return true;
    return p.name.toLowerCase().includes(q) || (p.nameZh ?? '').includes(q);
  });
}

export function ProduceLookup(p: { view: CartView; t: Strings; lang: Lang; money: (m: number) => string; stale: boolean; pick: (gtin: string) => void; close: () => void }) {
  const { t, view } = p;
  const [query, setQuery] = useState('');
  const [letter, setLetter] = useState<string | null>(null);
  const search = useRef<HTMLInputElement>(null);
  useEffect(() => search.current?.focus(), []);
  const present = new Set(view.produce.map(letterOf));
  const shown = matchProduce(view.produce, query, letter);
  const w = view.produceWeight;
  const stable = w !== null && w.stable && w.grams > 0;
  return (
    <main class="k-produce-step" data-testid="produce-step" aria-labelledby="produce-title">
      <div class="k-produce-head">
        <h2 id="produce-title">{t.produceTitle}</h2>
        <p class={`k-weight ${stable ? 'k-weight-ok' : ''}`} data-testid="produce-weight" data-stable={stable} role="status" aria-live="polite">
          {t.onScale}: <strong>{w && w.grams > 0 ? formatKg(w.grams, p.lang) : '—'}</strong> <span>{stable ? `✓ ${t.stable}` : w && w.grams > 0 ? t.settling : t.placeOnScaleHint}</span>
        </p>
        <BigButton label={t.back} onClick={p.close} testId="produce-close" />
      </div>
      {view.notice && <div class="k-banner k-banner-warn" role="alert" data-testid="notice" data-code={view.notice.code}>{noticeText(t, view.notice)}</div>}
      <div class="k-produce-search">
        <label for="produce-q">{t.produceSearch}</label>
        <input id="produce-q" ref={search} value={query} inputMode="search" autocomplete="off" onInput={(e) => setQuery((e.target as HTMLInputElement).value)} data-testid="produce-search" />
        <BigButton label={t.clear} disabled={query === '' && letter === null} onClick={() => { setQuery(''); setLetter(null); }} testId="produce-clear" />
      </div>
      <div class="k-keys" role="group" aria-label={t.pluKeys}>
        {DIGITS.map((d) => (
          <button type="button" class="ui-btn k-key" key={d} onClick={() => { setLetter(null); setQuery((q) => (/^[0-9]*$/.test(q) ? q : '') + d); }} data-testid={`plu-${d}`}>{d}</button>
        ))}
      </div>
      <div class="k-keys k-az" role="group" aria-label={t.azStrip}>
        {LETTERS.map((l) => (
          <button type="button" class="ui-btn k-key" key={l} aria-pressed={letter === l} disabled={!present.has(l)} onClick={() => { setQuery(''); setLetter(letter === l ? null : l); }} data-testid={`letter-${l}`}>{l}</button>
        ))}
      </div>
      {shown.length === 0 ? (
        <p class="k-empty" data-testid="produce-none">{t.produceNone}</p>
      ) : (
        <ul class="k-produce-grid" aria-label={t.produceTitle}>
          {shown.map((item) => {
            const name = produceName(item, p.lang);
            return (
              <li key={item.gtin}>
                <button type="button" class="ui-btn k-tile" disabled={p.stale} onClick={() => p.pick(item.gtin)} data-testid={`produce-${item.gtin}`}>
                  {item.image && <img src={item.image} alt="" width={72} height={72} loading="lazy" />}
                  <span class="k-tile-name">{name}</span>
                  <small>{item.plu ? `PLU ${item.plu} · ` : ''}{p.money(item.price)} {t.perKg}</small>
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </main>
  );
}
