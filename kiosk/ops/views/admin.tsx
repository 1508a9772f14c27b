/**
 * Admin: provision a device (its secret is shown once, here, and never again), rotate a secret,
 * disable/enable; and the ops users (views/users.tsx).
 */
import { useState } from 'preact/hooks';
import type { Live, Me } from '../app.js';
import { post } from '../api.js';
import { UsersPanel } from './users.js';

const KINDS = ['esl', 'scale', 'scanner', 'rfid', 'footfall', 'light', 'payment', 'kiosk'];

interface Secret {
  username: string;
  password: string;
  what: string;
}

export function AdminView({ live, me }: { live: Live; me: Me }) {
  const [kind, setKind] = useState('footfall');
  const [id, setId] = useState('');
  const [location, setLocation] = useState('');
  const [secret, setSecret] = useState<Secret | null>(null);
  const [error, setError] = useState<string | null>(null);

  const add = async (ev: Event) => {
    ev.preventDefault();
    setError(null);
    const r = await post<{ username: string; password: string }>('/api/admin/devices', { kind, id, ...(location ? { location } : {}) });
    if (!r.ok) return setError(r.message);
    setSecret({ ...r.body, what: 'added' });
    setId('');
    setLocation('');
  };
  const action = async (username: string, what: 'rotate' | 'disable' | 'enable') => {
    setError(null);
    const r = await post<{ username: string; password?: string }>(`/api/admin/devices/${username}/${what}`, {});
    if (!r.ok) return setError(`${username}: ${r.message}`);
    if (what === 'rotate' && r.body.password) setSecret({ username: r.body.username, password: r.body.password, what: 'rotated' });
  };
  const provisioned = [...live.devices.values()].filter((d) => d.source === 'provisioned').sort((a, b) => a.username.localeCompare(b.username));
  return (
    <section>
      <h2>Admin</h2>
      <h3>Add a device</h3>
      <form class="ops-form" onSubmit={add} aria-label="Add a device">
        <label>
          Kind
          <select name="kind" value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value)}>
            {KINDS.map((k) => (
              <option value={k}>{k}</option>
            ))}
          </select>
        </label>
        <label>
          Id
          <input name="id" value={id} required pattern="[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}" onInput={(e) => setId((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Location
          <input name="location" value={location} onInput={(e) => setLocation((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit" class="primary">
          Add device
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
            <strong>{secret.username}</strong> {secret.what}. Its secret is shown <em>only now</em>: copy it into the device.
          </p>
          <code data-password>{secret.password}</code>
          <button onClick={() => setSecret(null)}>Done, hide it</button>
        </div>
      )}
      <h3>Provisioned devices</h3>
      {provisioned.length === 0 ? (
        <p>None yet (devices declared in the config file are changed there).</p>
      ) : (
        <table class="ops-table" aria-label="Provisioned devices">
          <tbody>
            {provisioned.map((d) => (
              <tr key={d.username} data-provisioned={d.username}>
                <td>{d.username}</td>
                <td>{d.location ?? ''}</td>
                <td>
                  <span class={`badge ${d.health}`}>{d.health}</span>
                </td>
                <td>
                  <button onClick={() => action(d.username, 'rotate')}>Rotate secret</button>{' '}
                  {d.disabled ? <button onClick={() => action(d.username, 'enable')}>Enable</button> : <button onClick={() => action(d.username, 'disable')}>Disable</button>}
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
