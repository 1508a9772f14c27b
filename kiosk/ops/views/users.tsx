/**
 * Ops users (admin view): the people who may log in, with role, source and state. Users added
 * here get a generated password that is shown once; users of the config file are read-only here
 * (the gateway answers 409 for them anyway). Also the "change my password" form for anyone.
 */
import { useEffect, useState } from 'preact/hooks';
import type { OpsUserView, PasswordChangedBody, UserAddedBody, UserChangedBody, UserListBody } from '../../../gateway/protocol/schemas/api/index.js';
import type { Me, Role } from '../app.js';
import { get, post } from '../api.js';
import { useTwoStep } from '../twoStep.js';
import { useI18n } from '../i18n.js';

const ROLES: Role[] = ['viewer', 'attendant', 'admin'];

interface Shown {
  username: string;
  password: string;
  what: 'added' | 'reset';
}

export function UsersPanel({ me }: { me: Me }) {
  const { t } = useI18n();
  const [users, setUsers] = useState<OpsUserView[] | null>(null);
  const [username, setUsername] = useState('');
  const [role, setRole] = useState<Role>('attendant');
  const [shown, setShown] = useState<Shown | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const reload = async () => {
    const r = await get<UserListBody>('/api/admin/users');
    if (r.ok) setUsers(r.body.users);
    else setError(t.couldNotList(r.message));
  };
  useEffect(() => void reload(), []);

  const add = async (ev: Event) => {
    ev.preventDefault();
    setError(null);
    setBusy(true);
    const r = await post<UserAddedBody>('/api/admin/users', { username, role });
    setBusy(false);
    if (!r.ok) return setError(r.message);
    setShown({ ...r.body, what: 'added' });
    setUsername('');
    await reload();
  };
  const act = async (name: string, action: 'role' | 'reset' | 'disable' | 'enable', body: object = {}) => {
    setError(null);
    setBusy(true);
    const r = await post<UserChangedBody>(`/api/admin/users/${encodeURIComponent(name)}/${action}`, body);
    setBusy(false);
    if (!r.ok) {
      setError(`${name}: ${r.message}`);
      return reload();
    }
    if (action === 'reset' && r.body.password) setShown({ username: name, password: r.body.password, what: 'reset' });
    await reload();
  };

  return (
    <section data-testid="users-panel">
      <h3>{t.opsUsers}</h3>
      <form class="ops-form" onSubmit={add} aria-label={t.addUser} data-testid="user-add-form">
        <label>
          {t.username}
          <input name="new-username" data-testid="user-add-username" value={username} required pattern="[a-z][a-z0-9._\-]{1,31}" title={t.usernameRule} onInput={(e) => setUsername((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          {t.role}
          <select name="new-role" data-testid="user-add-role" value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value as Role)}>
            {ROLES.map((r) => (
              <option value={r}>{t.roles[r]}</option>
            ))}
          </select>
        </label>
        <button type="submit" class="primary" data-testid="user-add-submit" disabled={busy}>
          {t.addUserButton}
        </button>
      </form>
      {error && (
        <p class="ops-error" role="alert" data-testid="users-error">
          {error}
        </p>
      )}
      {shown && (
        <div class="ops-secret" role="status" data-testid="user-password" data-password-for={shown.username}>
          <p>
            {t.passwordFor}<strong>{shown.username}</strong> ({shown.what === 'added' ? t.newUser : t.reset}). <strong>{t.copyNow}</strong>
            {t.giveIt}
          </p>
          <code data-testid="user-password-value">{shown.password}</code>
          <button data-testid="user-password-done" onClick={() => setShown(null)}>
            {t.doneHide}
          </button>
        </div>
      )}
      <p class="ops-note">{t.configUsersNote}</p>
      {users && (
        <table class="ops-table" aria-label={t.opsUsers} data-testid="users-table">
          <thead>
            <tr>
              <th>{t.user}</th>
              <th>{t.role}</th>
              <th>{t.source}</th>
              <th>{t.state}</th>
              <th>{t.added}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <UserRow key={u.username} u={u} self={u.username === me.username} busy={busy} act={act} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function UserRow({ u, self, busy, act }: { u: OpsUserView; self: boolean; busy: boolean; act: (name: string, action: 'role' | 'reset' | 'disable' | 'enable', body?: object) => void }) {
  const { t, f } = useI18n();
  const store = u.source === 'store';
  const state = u.disabled ? 'disabled' : 'enabled';
  // Reset and disable end the person's sessions at once: asked twice.
  const confirm = useTwoStep();
  return (
    <tr data-user={u.username} data-testid={`user-row-${u.username}`} data-source={u.source} data-state={state} data-role={u.role}>
      <td>
        {u.username}
        {self && t.you}
      </td>
      <td>
        {store && !self ? (
          <select aria-label={t.roleOf(u.username)} data-testid={`user-role-${u.username}`} value={u.role} disabled={busy} onChange={(e) => act(u.username, 'role', { role: (e.target as HTMLSelectElement).value })}>
            {ROLES.map((r) => (
              <option value={r}>{t.roles[r]}</option>
            ))}
          </select>
        ) : (
          t.roles[u.role] ?? u.role
        )}
      </td>
      <td>{store ? t.addedHere : t.configFile}</td>
      <td>
        <span class={`badge ${u.disabled ? 'disabled' : 'online'}`}>{u.disabled ? t.health.disabled : t.enabled}</span>
      </td>
      <td>{u.createdAt ? t.addedBy(f.date(new Date(u.createdAt).getTime()), u.createdBy ?? '') : ''}</td>
      <td>
        {store && !self && (
          <>
            <button data-testid={`user-reset-${u.username}`} disabled={busy} onClick={() => confirm.press(`reset/${u.username}`, () => act(u.username, 'reset'))}>
              {confirm.armed(`reset/${u.username}`) ? t.confirmReset : t.resetPassword}
            </button>{' '}
            {u.disabled ? (
              <button data-testid={`user-enable-${u.username}`} disabled={busy} onClick={() => act(u.username, 'enable')}>
                {t.enable}
              </button>
            ) : (
              <button data-testid={`user-disable-${u.username}`} disabled={busy} onClick={() => confirm.press(`disable/${u.username}`, () => act(u.username, 'disable'))}>
                {confirm.armed(`disable/${u.username}`) ? t.confirmDisable : t.disable}
              </button>
            )}
          </>
        )}
        {!store && <span class="ops-note">{t.readOnly}</span>}
        {store && self && <span class="ops-note">{t.askAnotherAdmin}</span>}
      </td>
    </tr>
  );
}

/** Anyone's own password (users added on this page; config users change theirs in the file). */
export function MyPasswordForm({ onDone }: { onDone: () => void }) {
  const { t } = useI18n();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const submit = async (ev: Event) => {
    ev.preventDefault();
    const r = await post<PasswordChangedBody>('/api/me/password', { current, next });
    setCurrent('');
    if (!r.ok) return setMsg({ ok: false, text: r.status === 403 ? t.currentWrong : r.message });
    setNext('');
    setMsg({ ok: true, text: t.passwordChanged(r.body.otherSessionsEnded) });
  };
  return (
    <form class="ops-form ops-my-password" onSubmit={submit} aria-label={t.changeMyPassword} data-testid="my-password-form">
      <label>
        {t.currentPassword}
        <input type="password" name="current-password" autocomplete="current-password" data-testid="my-password-current" value={current} required onInput={(e) => setCurrent((e.target as HTMLInputElement).value)} />
      </label>
      <label>
        {t.newPassword}
        <input type="password" name="new-password" autocomplete="new-password" minLength={10} data-testid="my-password-next" value={next} required onInput={(e) => setNext((e.target as HTMLInputElement).value)} />
      </label>
      <button type="submit" class="primary" data-testid="my-password-submit">
        {t.changePassword}
      </button>
      <button type="button" onClick={onDone}>
        {t.close}
      </button>
      {msg && (
        <p class={msg.ok ? 'ops-ok' : 'ops-error'} role={msg.ok ? 'status' : 'alert'} data-testid="my-password-result">
          {msg.text}
        </p>
      )}
    </form>
  );
}
