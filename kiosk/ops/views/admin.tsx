/**
 * Admin: provision a device (its secret is shown once, here, and never again), rotate a secret,
 * disable/enable; and the ops users (views/users.tsx).
 */
import { useState } from 'preact/hooks';
import type { DeviceSecretBody, DeviceSwitchedBody } from '../../../gateway/protocol/schemas/api/index.js';
import type { Live, Me } from '../app.js';
import { post } from '../api.js';
import { UsersPanel } from './users.js';
import { useI18n } from '../i18n.js';

const KINDS = ['esl', 'scale', 'scanner', 'rfid', 'footfall', 'light', 'payment', 'kiosk', 'printer'];

interface Secret {
  username: string;
  password: string;
  what: string;
}

export function AdminView({ live, me }: { live: Live; me: Me }) {
  const { t } = useI18n();
  const [kind, setKind] = useState('footfall');
  const [id, setId] = useState('');
  const [location, setLocation] = useState('');
  const [secret, setSecret] = useState<Secret | null>(null);
  const [error, setError] = useState<string | null>(null);

  const add = async (ev: Event) => {
    ev.preventDefault();
    setError(null);
    const r = await post<DeviceSecretBody>('/api/admin/devices', { kind, id, ...(location ? { location } : {}) });
    if (!r.ok) return setError(r.message);
    setSecret({ ...r.body, what: 'added' });
    setId('');
    setLocation('');
  };
  const action = async (username: string, what: 'rotate' | 'disable' | 'enable') => {
    setError(null);
    const r = await post<DeviceSecretBody | DeviceSwitchedBody>(`/api/admin/devices/${username}/${what}`, {});
    if (!r.ok) return setError(`${username}: ${r.message}`);
    if (what === 'rotate' && 'password' in r.body) setSecret({ username: r.body.username, password: r.body.password, what: 'rotated' });
  };
  const provisioned = [...live.devices.values()].filter((d) => d.source === 'provisioned').sort((a, b) => a.username.localeCompare(b.username));
  return (
    <section>
      <h2>{t.admin}</h2>
      <h3>{t.addDevice}</h3>
      <form class="ops-form" onSubmit={add} aria-label={t.addDevice}>
        <label>
          {t.kind}
          <select name="kind" value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value)}>
            {KINDS.map((k) => (
              <option value={k}>{k}</option>
            ))}
          </select>
        </label>
        <label>
          {t.id}
          <input name="id" value={id} required pattern="[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}" onInput={(e) => setId((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          {t.location}
          <input name="location" value={location} onInput={(e) => setLocation((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit" class="primary">
          {t.addDeviceButton}
        </button>
      </form>
      {error && (
        <p class="ops-error" role="alert">
          {error}
        </p>
      )}
      {secret && (
        <div class="ops-secret" role="status" data-secret-for={secret.username}>
          <p>
            <strong>{secret.username}</strong> {t.secretShown(secret.what as 'added' | 'rotated')}
            <em>{t.onlyNow}</em>
            {t.copyIntoDevice}
          </p>
          <code data-password>{secret.password}</code>
          <button onClick={() => setSecret(null)}>{t.doneHide}</button>
        </div>
      )}
      <h3>{t.provisioned}</h3>
      {provisioned.length === 0 ? (
        <p>{t.noProvisioned}</p>
      ) : (
        <table class="ops-table" aria-label={t.provisioned}>
          <tbody>
            {provisioned.map((d) => (
              <tr key={d.username} data-provisioned={d.username}>
                <td>{d.username}</td>
                <td>{d.location ?? ''}</td>
                <td>
                  <span class={`badge ${d.health}`}>{t.health[d.health] ?? d.health}</span>
                </td>
                <td>
                  <button onClick={() => action(d.username, 'rotate')}>{t.rotateSecret}</button>{' '}
                  {d.disabled ? <button onClick={() => action(d.username, 'enable')}>{t.enable}</button> : <button onClick={() => action(d.username, 'disable')}>{t.disable}</button>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <UsersPanel me={me} />
    </section>
  );
}
