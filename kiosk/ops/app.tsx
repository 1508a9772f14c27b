/**
 * The ops page shell: login, then one live state (devices, today's numbers, new alerts) fed by SSE,
 * and six views chosen by the URL hash. Roles decide what is shown: a viewer sees, an attendant
 * also acts on kiosks, labels and alerts, an admin also manages devices. The gateway checks the
 * role of every call again; hiding a button is only courtesy.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { AlertRow, ApiRole, DeviceView, KpiDay, MeBody, PickupTask } from '../../gateway/protocol/schemas/api/index.js';
import { get, onSessionEnded, post } from './api.js';
import { openLive } from './live.js';
import { DevicesView } from './views/devices.js';
import { ShelfView } from './views/shelf.js';
import { CheckoutView } from './views/checkout.js';
import { DayView } from './views/day.js';
import { UplinkView } from './views/uplink.js';
import { AdminView } from './views/admin.js';
import { StockView } from './views/stock.js';
import { MyPasswordForm } from './views/users.js';
import { I18nContext, i18nFor, saveLang, storedLang, useI18n } from './i18n.js';
import type { OpsLang } from './strings.js';

export type Role = ApiRole;
/** Who is logged in; `source` 'config': the config file's user, whose password is changed there. */
export type Me = MeBody;
const RANK: Record<Role, number> = { viewer: 1, attendant: 2, admin: 3 };
export const can = (me: Me, need: Role) => RANK[me.role] >= RANK[need];

export interface Live {
  devices: Map<string, DeviceView>;
  kpi: KpiDay | null;
  alerts: AlertRow[];
  /** Open click & collect tasks; null when this gateway has none to tell. */
  pickups: PickupTask[] | null;
  connected: boolean;
  /** Server time minus page time, so "last seen" is right on a PC with a wrong clock. */
  skewMs: number;
}

const VIEWS = [
  { id: 'devices', need: 'viewer' },
  { id: 'shelf', need: 'viewer' },
  { id: 'checkout', need: 'viewer' },
  { id: 'day', need: 'viewer' },
  { id: 'uplink', need: 'viewer' },
  { id: 'stock', need: 'viewer' },
  { id: 'admin', need: 'admin' },
] as const;
type ViewId = (typeof VIEWS)[number]['id'];

function viewFromHash(): ViewId {
  const h = location.hash.replace(/^#\/?/, '');
  return (VIEWS.find((v) => v.id === h)?.id ?? 'devices') as ViewId;
}

export function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  // English or Chinese, remembered per browser.
  const [lang, setLang] = useState<OpsLang>(storedLang);
  const i18n = useMemo(() => i18nFor(lang), [lang]);
  useEffect(() => {
    void get<Me>('/api/me').then((r) => setMe(r.ok ? r.body : null));
  }, []);
  useEffect(() => {
    document.documentElement.lang = i18n.f.locale;
    document.title = `storegw · ${i18n.t.storeOps}`;
  }, [i18n]);
  const toggle = () => {
    const next = lang === 'en' ? 'zh' : 'en';
    saveLang(next);
    setLang(next);
  };
  return (
    <I18nContext.Provider value={i18n}>
      {me === undefined ? <p class="ops-loading">{i18n.t.loading}</p> : me === null ? <Login onIn={setMe} toggle={toggle} /> : <Shell me={me} onOut={() => setMe(null)} toggle={toggle} />}
    </I18nContext.Provider>
  );
}

function LangSwitch({ toggle }: { toggle: () => void }) {
  const { t, lang } = useI18n();
  return (
    <button type="button" class="ops-lang" data-testid="ops-lang" data-lang={lang} aria-label={t.langSwitchLabel} onClick={toggle}>
      {t.langSwitch}
    </button>
  );
}

function Login({ onIn, toggle }: { onIn: (m: Me) => void; toggle: () => void }) {
  const { t } = useI18n();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (ev: Event) => {
    ev.preventDefault();
    setBusy(true);
    const r = await post<Me>('/api/login', { username, password });
    setBusy(false);
    if (r.ok) return onIn(r.body);
    setPassword('');
    setError(r.status === 429 ? t.tooManyAttempts : r.status === 401 ? (/disabled/.test(r.message) ? t.userDisabled : t.wrongPassword) : t.loginFailed(r.message));
  };
  return (
    <main class="ops-login">
      <form onSubmit={submit} aria-label={t.logIn}>
        <h1>{t.storeOps}</h1>
        <LangSwitch toggle={toggle} />
        <label>
          {t.username}
          <input name="username" autocomplete="username" value={username} onInput={(e) => setUsername((e.target as HTMLInputElement).value)} required />
        </label>
        <label>
          {t.password}
          <input name="password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} required />
        </label>
        {error && (
          <p class="ops-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {t.logIn}
        </button>
      </form>
    </main>
  );
}

function Shell({ me, onOut, toggle }: { me: Me; onOut: () => void; toggle: () => void }) {
  const { t } = useI18n();
  const [view, setView] = useState<ViewId>(viewFromHash());
  const [live, setLive] = useState<Live>({ devices: new Map(), kpi: null, alerts: [], pickups: null, connected: false, skewMs: 0 });
  const [, tick] = useState(0);
  const [passwordOpen, setPasswordOpen] = useState(false);

  useEffect(() => {
    const onHash = () => setView(viewFromHash());
    addEventListener('hashchange', onHash);
    // "last seen 5 s ago" keeps counting between pushes.
    const t = setInterval(() => tick((n) => n + 1), 1000);
    // Any call answered 401 (session revoked or expired) goes back to the login.
    const off = onSessionEnded(onOut);
    return () => {
      removeEventListener('hashchange', onHash);
      clearInterval(t);
      off();
    };
  }, []);

  useEffect(
    () =>
      openLive({
        hello: (h) => setLive((l) => ({ ...l, devices: new Map(h.devices.map((d) => [d.username, d])), kpi: h.kpi, pickups: h.pickups ?? null, skewMs: h.serverTime - Date.now() })),
        device: (d) => setLive((l) => ({ ...l, devices: new Map(l.devices).set(d.username, d) })),
        kpi: (k) => setLive((l) => ({ ...l, kpi: k })),
        alert: (a) => setLive((l) => ({ ...l, alerts: [a, ...l.alerts].slice(0, 200) })),
        pickups: (p) => setLive((l) => ({ ...l, pickups: p.tasks })),
        up: () => setLive((l) => ({ ...l, connected: true })),
        down: () => {
          setLive((l) => ({ ...l, connected: false }));
          // The stream also ends when the session does: then log in again.
          void get('/api/me').then((r) => !r.ok && r.status === 401 && onOut());
        },
      }),
    [],
  );

  const logout = async () => {
    await post('/api/logout');
    onOut();
  };
  const now = Date.now() + live.skewMs;
  const open = VIEWS.filter((v) => can(me, v.need));
  return (
    <div class="ops-shell">
      <header class="ops-header">
        <strong>{t.storeOps}</strong>
        <nav>
          {open.map((v) => (
            <a href={`#/${v.id}`} class={v.id === view ? 'active' : ''} aria-current={v.id === view ? 'page' : undefined}>
              {t.views[v.id]}
            </a>
          ))}
        </nav>
        <span class={`ops-live ${live.connected ? 'up' : 'down'}`} data-live={live.connected ? 'up' : 'down'}>
          {live.connected ? t.live : t.reconnecting}
        </span>
        <LangSwitch toggle={toggle} />
        <span class="ops-user">
          {me.username} ({t.roles[me.role] ?? me.role}) {me.source === 'store' && <button data-testid="my-password-open" onClick={() => setPasswordOpen((o) => !o)}>{t.passwordButton}</button>} <button onClick={logout}>{t.logOut}</button>
        </span>
      </header>
      {passwordOpen && <MyPasswordForm onDone={() => setPasswordOpen(false)} />}
      <main class="ops-main" data-view={view}>
        {view === 'devices' && <DevicesView live={live} now={now} />}
        {view === 'shelf' && <ShelfView me={me} />}
        {view === 'checkout' && <CheckoutView me={me} live={live} now={now} />}
        {view === 'day' && <DayView kpi={live.kpi} />}
        {view === 'uplink' && <UplinkView me={me} live={live} now={now} />}
        {view === 'stock' && <StockView me={me} />}
        {view === 'admin' && can(me, 'admin') && <AdminView live={live} me={me} />}
      </main>
    </div>
  );
}
