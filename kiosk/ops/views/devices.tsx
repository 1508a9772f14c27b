/** Devices: every device with state, last seen, battery and rejects, live; filter; a detail view. */
import { useEffect, useState } from 'preact/hooks';
import type { DeviceView } from '../../../gateway/devices/registry.js';
import type { Live } from '../app.js';
import { get } from '../api.js';
import { ago, clock } from '../format.js';

const HEALTHS = ['online', 'stale', 'offline', 'disabled'] as const;

/** Battery from the last heartbeat or status that carried one. */
export function battery(d: DeviceView): string {
  for (const e of Object.values(d.lastEvents)) {
    const b = (e.data as { batteryPct?: unknown } | null)?.batteryPct;
    if (typeof b === 'number') return `${Math.round(b)} %`;
  }
  return '–';
}

const rejectCount = (d: DeviceView) => Object.values(d.rejects).reduce((a, b) => a + b, 0);

export function DevicesView({ live, now }: { live: Live; now: number }) {
  const [kind, setKind] = useState('');
  const [health, setHealth] = useState('');
  const [open, setOpen] = useState<string | null>(null);
  const all = [...live.devices.values()].sort((a, b) => a.username.localeCompare(b.username));
  const kinds = [...new Set(all.map((d) => d.kind))].sort();
  const shown = all.filter((d) => (!kind || d.kind === kind) && (!health || d.health === health));
  const counts = Object.fromEntries(HEALTHS.map((h) => [h, all.filter((d) => d.health === h).length]));
  return (
    <section>
      <h2>Devices</h2>
      <p class="ops-summary">
        {HEALTHS.map((h) => (
          <span class={`badge ${h}`} data-count={h}>
            {counts[h]} {h}
          </span>
        ))}
      </p>
      <div class="ops-filters">
        <label>
          Kind
          <select value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value)} name="kind">
            <option value="">all</option>
            {kinds.map((k) => (
              <option value={k}>{k}</option>
            ))}
          </select>
        </label>
        <label>
          State
          <select value={health} onChange={(e) => setHealth((e.target as HTMLSelectElement).value)} name="state">
            <option value="">all</option>
            {HEALTHS.map((h) => (
              <option value={h}>{h}</option>
            ))}
          </select>
        </label>
      </div>
      <table class="ops-table" aria-label="Devices">
        <thead>
          <tr>
            <th>Device</th>
            <th>Location</th>
            <th>State</th>
            <th>Last seen</th>
            <th>Battery</th>
            <th>Events</th>
            <th>Rejected</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((d) => (
            <tr key={d.username} data-device={d.username} data-health={d.health} onClick={() => setOpen(d.username)} class={open === d.username ? 'selected' : ''}>
              <td>
                <a href="#/devices" onClick={(e) => (e.preventDefault(), setOpen(d.username))}>
                  {d.username}
                </a>
              </td>
              <td>{d.location ?? ''}</td>
              <td>
                <span class={`badge ${d.health}`}>{d.health}</span>
              </td>
              <td>{ago(d.lastSeen, now)}</td>
              <td>{battery(d)}</td>
              <td>{d.events}</td>
              <td class={rejectCount(d) > 0 ? 'warn' : ''}>{rejectCount(d)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {shown.length === 0 && <p>No device matches.</p>}
      {open && live.devices.get(open) && <DeviceDetail d={live.devices.get(open)!} now={now} onClose={() => setOpen(null)} />}
    </section>
  );
}

interface DeadLetterView {
  recvTs: number;
  code: string;
  reason: string;
  topic: string;
}

function DeviceDetail({ d, now, onClose }: { d: DeviceView; now: number; onClose: () => void }) {
  const [rejects, setRejects] = useState<DeadLetterView[] | null>(null);
  useEffect(() => {
    void get<{ rejects: DeadLetterView[] }>(`/api/devices/${d.kind}/${encodeURIComponent(d.id)}`).then((r) => setRejects(r.ok ? r.body.rejects : []));
  }, [d.username, rejectCount(d)]);
  const events = Object.entries(d.lastEvents).sort((a, b) => b[1].seq - a[1].seq);
  return (
    <aside class="ops-detail" aria-label={`Device ${d.username}`} data-detail={d.username}>
      <header>
        <h3>{d.username}</h3>
        <button onClick={onClose}>Close</button>
      </header>
      <dl>
        <dt>State</dt>
        <dd>
          <span class={`badge ${d.health}`}>{d.health}</span> {d.via ? `via ${d.via}` : ''}
        </dd>
        <dt>Model</dt>
        <dd>{d.birth ? `${d.birth.model} (firmware ${d.birth.firmware})` : 'no birth message yet'}</dd>
        <dt>Connected</dt>
        <dd>{d.connectedAt ? clock(d.connectedAt) : '–'}</dd>
        <dt>Source</dt>
        <dd>{d.source}</dd>
      </dl>
      <h4>Last events</h4>
      {events.length === 0 ? (
        <p>None yet.</p>
      ) : (
        <table class="ops-table">
          <tbody>
            {events.map(([type, e]) => (
              <tr>
                <td>{type}</td>
                <td>#{e.seq}</td>
                <td>{ago(e.recvTs, now)}</td>
                <td>
                  <code>{JSON.stringify(e.data)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h4>Rejected events</h4>
      {rejects === null ? (
        <p>Loading…</p>
      ) : rejects.length === 0 ? (
        <p>None.</p>
      ) : (
        <table class="ops-table" aria-label="Rejected events">
          <tbody>
            {rejects.map((r) => (
              <tr data-reject={r.code}>
                <td>{clock(r.recvTs)}</td>
                <td>{r.code}</td>
                <td>{r.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h4>Pending commands</h4>
      <p class="ops-na">not available (no command queue API yet)</p>
    </aside>
  );
}
