/** The kiosk checkout page: a view of the gateway's cart; every button sends an intent only. */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { CartView, KioskLanguage, KioskPaymentPrompt } from '../../gateway/protocol/schemas/kiosk.js';
import { BigButton } from '../ui/BigButton.js';
import { formatKg, formatMoney, formatRateBp, localeOf } from '../ui/money.js';
import { loadChoice, saveChoice, shownLang, type LangChoice } from './language.js';
import { KioskConnection, type ConnState } from './connection.js';
import { noticeText, STRINGS, type Strings } from './strings.js';
import { ProduceLookup } from './screens/ProduceLookup.js';
import { useShopperModes, ModeButtons } from './screens/modes.js';
import { cueFor, SoundCues } from './sounds.js';
import { LastItem } from './screens/LastItem.js';
import { MemberEntry } from './screens/MemberEntry.js';
import { Attract, useAttractStart } from './screens/Attract.js';
import { Help } from './screens/Help.js';
import { Paying } from './screens/Paying.js';
import { DemoScan } from './screens/DemoScan.js';
import { helpKey, helpReasons, screenFor } from './screens/phaseScreen.js';
import { PHASE_STRINGS } from './screens/phaseStrings.js';
import { ThankYou } from './screens/ThankYou.js';
import { PointsPanel } from './screens/PointsPanel.js';
import { CouponEntry, CouponList } from './screens/Coupons.js';

export function App(props: { kioskId: string; token: string }) {
  const [storeLang, setStoreLang] = useState<KioskLanguage>({ default: 'en', idleMs: 60_000 });
  const [choice, setChoice] = useState<LangChoice | null>(() => loadChoice(localStorage));
  const [touched, setTouched] = useState(0);
  const [conn, setConn] = useState<ConnState>('connecting');
  const [view, setView] = useState<CartView | null>(null);
  const [dismissedHelp, setDismissedHelp] = useState<string | null>(null);
  const [produceOpen, setProduceOpen] = useState(false);
  const [prompt, setPrompt] = useState<KioskPaymentPrompt | null>(null);
  const sounds = useMemo(() => new SoundCues(0.6), []);
  const c = useMemo(() => new KioskConnection(props.kioskId, props.token, setConn, setView, setStoreLang, setPrompt, (v) => sounds.setVolume(v)), [props.kioskId, props.token]);
  useEffect(() => c.start(), [c]);
  // the shopper's language lasts for their session; a new session shows the store's default.
  const lang = shownLang(choice, view?.sessionId ?? null, storeLang.default);
  const pick = (next: LangChoice | null) => {
    saveChoice(localStorage, next);
    setChoice(next);
  };
  useEffect(() => {
    const touch = () => setTouched((n) => n + 1);
    addEventListener('pointerdown', touch);
    addEventListener('keydown', touch);
    return () => {
      removeEventListener('pointerdown', touch);
      removeEventListener('keydown', touch);
    };
  }, []);
  // A language picked on an idle page (nothing scanned) and then left: back to the default.
  const idlePick = choice !== null && view?.phase === 'idle' && view.lines.length === 0 && lang !== storeLang.default;
  useEffect(() => {
    if (!idlePick) return;
    const t = setTimeout(() => pick(null), storeLang.idleMs);
    return () => clearTimeout(t);
  }, [idlePick, touched, storeLang.idleMs]);
  const t = STRINGS[lang];
  const pl = PHASE_STRINGS[lang];
  const attract = useAttractStart(view?.sessionId ?? null, view?.phase === 'idle' && view.lines.length === 0, storeLang.idleMs, touched);
  // The shopper's display modes and the produce step last for their session only.
  const modes = useShopperModes(view?.sessionId ?? null);
  const seen = useRef<Parameters<typeof cueFor>[0]>(null);
  const [cueMark, setCueMark] = useState('');
  useEffect(() => {
    if (!view) return;
    const r = cueFor(seen.current, view);
    seen.current = r.seen;
    if (!r.cue) return;
    sounds.play(r.cue);
    setCueMark(`${r.cue}:${sounds.last!.n}`);
  }, [view]);
  useEffect(() => setProduceOpen(false), [view?.sessionId]);
  useEffect(() => {
    document.documentElement.lang = localeOf(lang);
    document.title = t.title;
  }, [lang]);
  const money = (m: number, currency = view?.currency ?? 'EUR') => formatMoney(m, currency, lang);
  const toggleLang = () => pick(view ? { lang: lang === 'en' ? 'zh' : 'en', sessionId: view.sessionId } : null);
  const stale = conn !== 'online';
  const canShop = !stale && view !== null && (view.phase === 'idle' || view.phase === 'shopping' || view.phase === 'needsAttendant');
  const pickLang = (l: typeof lang) => pick(view ? { lang: l, sessionId: view.sessionId } : null);
  const screen = view ? screenFor(view, { started: attract.started, dismissedHelp }) : null;
  const demo = view?.demo && canShop ? <DemoScan t={t} scan={(code) => c.send({ type: 'scan', code })} /> : null;
  const pickProduce = (gtin: string) => {
    c.send({ type: 'pickProduce', gtin });
    // With a steady weight the line is added: back to the cart. Without, the step stays and shows the gateway's notice.
    if (view?.produceWeight?.stable && view.produceWeight.grams > 0) setProduceOpen(false);
  };

  if (conn === 'refused') return <main class="k-center" role="alert"><h2>{t.noKiosk}</h2></main>;

  return (
    <div class={`k-app ${stale ? 'k-stale' : ''} ${modes.contrast ? 'k-hc' : ''} ${modes.reach ? 'k-reach' : ''}`} lang={lang === 'zh' ? 'zh-CN' : 'en'} data-phase={view?.phase ?? 'none'} data-version={view?.version ?? -1} data-conn={conn} data-cue={cueMark}>
      <header class="k-top">
        <h1>{t.title} · {props.kioskId}</h1>
        <ModeButtons t={t} modes={modes} />
        <BigButton label={t.langName} onClick={toggleLang} testId="lang"><span lang={lang === 'zh' ? 'en' : 'zh-CN'}>{t.lang}</span></BigButton>
        <BigButton label={view?.helpCalled ? t.helpOn : t.help} kind={view?.helpCalled ? 'danger' : 'plain'} disabled={stale} onClick={() => c.send({ type: 'help' })} testId="help">
          {view?.helpCalled ? t.helpOn : t.help}
        </BigButton>
      </header>
      {view === null ? (
        <main class="k-center" aria-busy="true"><h2>{t.connecting}</h2></main>
      ) : view.phase === 'done' ? (
        <ThankYou receipt={view.receipt} t={t} lang={lang} money={money} stale={stale} pointsEarned={view.points?.earned ?? null} print={() => c.send({ type: 'printReceipt' })} done={() => c.send({ type: 'cancel' })} />
      ) : view.pickup ? (
        <PickupScreen view={view} t={t} money={money} stale={stale} send={(m) => c.send(m)} />
      ) : produceOpen && canShop && view.produce.length > 0 ? (
        <ProduceLookup view={view} t={t} lang={lang} money={money} stale={stale} pick={pickProduce} close={() => setProduceOpen(false)} />
      ) : view.phase === 'cancelled' ? (
        <main class="k-center"><h2>{t.cancelled}</h2><BigButton label={t.newCustomer} kind="primary" disabled={stale} onClick={() => c.send({ type: 'cancel' })} testId="new-customer" /></main>
      ) : screen === 'paying' ? (
        <Paying view={view} t={t} pl={pl} money={money} stale={stale} prompt={prompt} cancel={() => c.send({ type: 'cancel' })} banners={<Banners view={view} t={t} money={money} />} />
      ) : screen === 'help' ? (
        <Help view={view} t={t} pl={pl} lang={lang} reasons={helpReasons(view)} money={money} canShop={canShop} back={() => setDismissedHelp(helpKey(view))} pay={() => c.send({ type: 'pay', lang })} cancel={() => c.send({ type: 'cancel' })} totals={<Totals view={view} t={t} money={money} />} />
      ) : screen === 'attract' ? (
        <Attract t={t} pl={pl} lang={lang} start={attract.start} pickLang={pickLang} produce={view.produce.length > 0 && canShop ? () => setProduceOpen(true) : undefined} banners={<Banners view={view} t={t} money={money} />} demo={demo} />
      ) : (
        <main class="k-main" data-screen="scanning" aria-busy={stale}>
          <Banners view={view} t={t} money={money} />
          <section class="k-cart" aria-label={t.item}>
            {view.lines.length === 0 ? (
              <div class="k-attract"><h2 data-testid="welcome">{view.phase === 'idle' ? t.welcome : t.scanHint}</h2></div>
            ) : (
              <>
                <LastItem view={view} t={t} lang={lang} money={money} />
                <CartTable view={view} t={t} lang={lang} money={money} canShop={canShop} send={(m) => c.send(m)} />
              </>
            )}
            {view.produce.length > 0 && canShop && (
              <BigButton label={t.produceOpen} kind="primary" onClick={() => setProduceOpen(true)} testId="produce-open">
                <span class="k-produce-open">{t.produceOpen}</span>
              </BigButton>
            )}
          </section>
          <aside class="k-side">
            <Totals view={view} t={t} money={money} />
            <PointsPanel view={view} t={t} money={money} disabled={!canShop} send={(points) => c.send({ type: 'spendPoints', points })} />
            <CouponList view={view} t={t} lang={lang} money={money} canShop={canShop} remove={(couponId, serial) => c.send({ type: 'couponRemove', couponId, serial })} />
            <div class="k-actions">
              <BigButton label={`${t.pay} ${money(view.total)}`} kind="primary" disabled={!canShop || view.lines.length === 0} onClick={() => c.send({ type: 'pay', lang })} testId="pay">
                <span class="k-pay">{t.pay} {money(view.total)}</span>
              </BigButton>
              <BigButton label={t.cancel} kind="danger" disabled={!canShop} onClick={() => c.send({ type: 'cancel' })} testId="cancel" />
              <MemberEntry t={t} disabled={!canShop} send={(code) => c.send({ type: 'member', code })} />
              <CouponEntry t={t} disabled={!canShop} send={(code) => c.send({ type: 'coupon', code })} />
            </div>
            {demo}
          </aside>
        </main>
      )}
      {stale && view !== null && <div class="k-offline" role="alert" data-testid="offline">{t.reconnecting}</div>}
    </div>
  );
}

/** Click & collect: the online order for the scanned pickup code; confirming hands it over (an exact record in the gateway). */
function PickupScreen(p: { view: CartView; t: Strings; money: (m: number, currency?: string) => string; stale: boolean; send: (m: { type: 'pickupConfirm' } | { type: 'pickupClose' }) => void }) {
  const { t } = p;
  const o = p.view.pickup!;
  return (
    <main class="k-center" data-testid="pickup" data-order={o.orderId} data-status={o.status}>
      <h2>{o.status === 'collected' ? t.pickupDone : t.pickupTitle}</h2>
      <p>{t.pickupOrder}: <strong data-testid="pickup-order">{o.orderId}</strong>{o.customer ? ` · ${o.customer}` : ''}</p>
      <table class="k-lines">
        <thead><tr><th scope="col">{t.item}</th><th scope="col" class="num">{t.qty}</th></tr></thead>
        <tbody>
          {o.lines.map((l, i) => (
            <tr key={i} data-testid="pickup-line"><td>{l.name}</td><td class="num">{l.qty}</td></tr>
          ))}
        </tbody>
      </table>
      <p class="k-total" data-testid="pickup-total">{t.pickupPaid}: {p.money(o.total, o.currency)}</p>
      {p.view.notice && <div class="k-banner k-banner-warn" role="alert" data-testid="notice" data-code={p.view.notice.code}>{noticeText(t, p.view.notice)}</div>}
      {o.status === 'ready' ? (
        <div class="k-actions">
          <BigButton label={t.pickupConfirm} kind="primary" disabled={p.stale} onClick={() => p.send({ type: 'pickupConfirm' })} testId="pickup-confirm" />
          <BigButton label={t.cancel} disabled={p.stale} onClick={() => p.send({ type: 'pickupClose' })} testId="pickup-close" />
        </div>
      ) : (
        <BigButton label={t.newCustomer} kind="primary" disabled={p.stale} onClick={() => p.send({ type: 'pickupClose' })} testId="pickup-close" />
      )}
    </main>
  );
}

function CartTable(p: { view: CartView; t: Strings; lang: string; money: (m: number) => string; canShop: boolean; send: (m: { type: 'setQty'; lineId: string; qty: number } | { type: 'remove'; lineId: string }) => void }) {
  const { t, money } = p;
  return (
    <table>
      <thead><tr><th>{t.item}</th><th>{t.qty}</th><th class="num">{t.price}</th><th><span class="visually-hidden">{t.remove}</span></th></tr></thead>
      <tbody>
        {p.view.lines.map((l) => (
          <tr key={l.lineId} data-testid="line" data-gtin={l.gtin}>
            <td>
              <div>{l.name}</div>
              {l.grams !== undefined && <small>{formatKg(l.grams, p.lang)} × {money(l.unitPrice)}/kg</small>}
              {l.saving > 0 && <div class="k-saving">{t.savings} {money(l.saving)}</div>}
            </td>
            <td>
              {l.grams === undefined && l.serials === undefined ? (
                <div class="k-qty">
                  <BigButton label={`${t.less}: ${l.name}`} disabled={!p.canShop} onClick={() => p.send({ type: 'setQty', lineId: l.lineId, qty: l.qty - 1 })}>−</BigButton>
                  <span data-testid="qty">{l.qty}</span>
                  <BigButton label={`${t.more}: ${l.name}`} disabled={!p.canShop} onClick={() => p.send({ type: 'setQty', lineId: l.lineId, qty: l.qty + 1 })}>+</BigButton>
                </div>
              ) : (
                <span data-testid="qty">{l.qty}</span>
              )}
            </td>
            <td class="num" data-testid="line-price">{money(l.price)}</td>
            <td><BigButton label={`${t.remove}: ${l.name}`} disabled={!p.canShop} onClick={() => p.send({ type: 'remove', lineId: l.lineId })}>✕</BigButton></td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Totals(p: { view: CartView; t: Strings; money: (m: number) => string }) {
  const { view, t, money } = p;
  return (
    <section class="k-totals" aria-label={t.total} aria-live="polite">
      <dl>
        <dt>{t.subtotal}</dt><dd data-testid="subtotal">{money(view.subtotal)}</dd>
        <dt>{t.savings}</dt><dd data-testid="discounts">{money(view.discounts)}</dd>
        <dt class="k-total">{t.total}</dt><dd class="k-total" data-testid="total">{money(view.total)}</dd>
        {view.memberCode && (
          <>
            <dt>{t.member}</dt>
            <dd data-testid="member">
              {/* Masked: the screen faces the store, not only the shopper. */}
              <span data-testid="member-id">{view.member?.masked ?? ''}</span>
              {view.member?.tier && <span class="k-tier" data-testid="member-tier"> · {view.member.tier}</span>}
            </dd>
          </>
        )}
      </dl>
    </section>
  );
}

function Banners(p: { view: CartView; t: Strings; money: (m: number, currency?: string) => string }) {
  const { view, t, money } = p;
  const out = [];
  for (const r of view.requests) out.push(<div key={r.requestId} class={`k-banner ${r.kind === 'age' ? 'k-banner-warn' : 'k-banner-bad'}`} role="alert" data-testid={`request-${r.kind}`}>{t[r.kind]}{requestDetail(r, t, money)}</div>);
  if (view.bagging.state === 'unexpected' && !view.requests.some((r) => r.kind === 'security')) out.push(<div key="bag" class="k-banner k-banner-bad" role="alert">{t.bagUnexpected}</div>);
  if (view.bagging.state === 'removed' && !view.requests.some((r) => r.kind === 'security')) out.push(<div key="bag" class="k-banner k-banner-bad" role="alert">{t.bagRemoved}</div>);
  if (view.bagging.state === 'placeItem') out.push(<div key="bagp" class="k-banner k-banner-warn" role="status">{t.bagPlace}</div>);
  if (view.notice) out.push(<div key="notice" class="k-banner k-banner-warn" role="status" data-testid="notice" data-code={view.notice.code}>{noticeText(t, view.notice)}{view.notice.code.startsWith('pickup') && view.notice.detail ? ` (${view.notice.detail})` : ''}</div>);
  // Full width above the cart and the totals: a problem is the first thing the shopper reads.
  return out.length > 0 ? <div class="k-banners">{out}</div> : null;
}

/**
 * What follows a request's text: the product for an age check or a removal (catalog names), the
 * items and amount of a void formatted in the page's language; gateway prose is not shown.
 */
function requestDetail(r: CartView['requests'][number], t: Strings, money: (m: number, currency?: string) => string): string {
  if (r.kind === 'void' && r.count !== undefined && r.amount !== undefined) return ` — ${t.voidDetail(r.count, money(r.amount, r.currency))}`;
  if ((r.kind === 'age' || r.kind === 'removal') && r.item) return ` — ${r.item}`;
  return '';
}
