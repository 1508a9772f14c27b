/** Devices: every device with state, last seen, battery and rejects, live; filter; a detail view. */
import { useEffect, useState } from 'preact/hooks';
import type { CommandAcceptedBody, DeadLetterRow, DeviceDetailBody, DeviceView, MeBody } from '../../../gateway/protocol/schemas/api/index.js';
import type { Live } from '../app.js';
import { get, post } from '../api.js';
import { useI18n } from '../i18n.js';
import type { Format } from '../format.js';
import { EndOfDay } from './endOfDay.js';

const HEALTHS = ['online', 'stale', 'offline', 'disabled'] as const;

/** Battery from the last heartbeat or status that carried one. */
export function battery(d: DeviceView, f: Format): string {
  for (const e of Object.values(d.lastEvents)) {
    const b = (e.data as { batteryPct?: unknown } | null)?.batteryPct;
    if (typeof b === 'number') return f.percent(Math.round(b) / 100, 0);
  }
  return '–';
}

const rejectCount = (d: DeviceView) => Object.values(d.rejects).reduce((a, b) => a + b, 0);

export function DevicesView({ live, now }: { live: Live; now: number }) {
  const { t, f } = useI18n();
  const [kind, setKind] = useState('');
  const [health, setHealth] = useState('');
  const [open, setOpen] = useState<string | null>(null);
  const all = [...live.devices.values()].sort((a, b) => a.username.localeCompare(b.username));
  const kinds = [...new Set(all.map((d) => d.kind))].sort();
  const shown = all.filter((d) => (!kind || d.kind === kind) && (!health || d.health === health));
  const counts = Object.fromEntries(HEALTHS.map((h) => [h, all.filter((d) => d.health === h).length]));
  return (
    <section>
      <h2>{t.views.devices}</h2>
      <p class="ops-summary">
        {HEALTHS.map((h) => (
          <span class={`badge ${h}`} data-count={h}>
            {counts[h]} {t.health[h]}
          </span>
        ))}
      </p>
      <div class="ops-filters">
        <label>
          {t.kind}
          <select value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value)} name="kind">
            <option value="">{t.all}</option>
            {kinds.map((k) => (
              <option value={k}>{k}</option>
            ))}
          </select>
        </label>
        <label>
          {t.state}
          <select value={health} onChange={(e) => setHealth((e.target as HTMLSelectElement).value)} name="state">
            <option value="">{t.all}</option>
            {HEALTHS.map((h) => (
              <option value={h}>{t.health[h]}</option>
            ))}
          </select>
        </label>
      </div>
      <table class="ops-table" aria-label={t.views.devices}>
        <thead>
          <tr>
            <th>{t.device}</th>
            <th>{t.location}</th>
            <th>{t.state}</th>
            <th>{t.lastSeen}</th>
            <th>{t.battery}</th>
            <th>{t.events}</th>
            <th>{t.rejected}</th>
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
                <span class={`badge ${d.health}`}>{t.health[d.health] ?? d.health}</span>
              </td>
              <td>{f.ago(d.lastSeen, now)}</td>
              <td>{battery(d, f)}</td>
              <td>{f.num(d.events)}</td>
              <td class={rejectCount(d) > 0 ? 'warn' : ''}>{f.num(rejectCount(d))}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {shown.length === 0 && <p>{t.noDeviceMatches}</p>}
      {open && live.devices.get(open) && <DeviceDetail d={live.devices.get(open)!} now={now} onClose={() => setOpen(null)} />}
    </section>
  );
}

function DeviceDetail({ d, now, onClose }: { d: DeviceView; now: number; onClose: () => void }) {
  const { t, f } = useI18n();
  const [rejects, setRejects] = useState<DeadLetterRow[] | null>(null);
  const [commands, setCommands] = useState<DeviceDetailBody['commands']>(null);
  const [reload, setReload] = useState(0);
  useEffect(() => {
    void get<DeviceDetailBody>(`/api/devices/${d.kind}/${encodeURIComponent(d.id)}`).then((r) => {
      setRejects(r.ok ? r.body.rejects : []);
      setCommands(r.ok ? r.body.commands : null);
    });
  }, [d.username, rejectCount(d), d.online, reload]);
  // An ack is a device event, which the live feed does not push: look again while something is pending.
  const waiting = (commands?.pending.length ?? 0) > 0;
  useEffect(() => {
    if (!waiting) return;
    const t = setInterval(() => setReload((n) => n + 1), 3000);
    return () => clearInterval(t);
  }, [waiting]);
  const events = Object.entries(d.lastEvents).sort((a, b) => b[1].seq - a[1].seq);
  return (
    <aside class="ops-detail" aria-label={t.deviceLabel(d.username)} data-detail={d.username}>
      <header>
        <h3>{d.username}</h3>
        <button onClick={onClose}>{t.close}</button>
      </header>
      <dl>
        <dt>{t.state}</dt>
        <dd>
          <span class={`badge ${d.health}`}>{t.health[d.health] ?? d.health}</span> {d.via ? t.via(d.via) : ''}
        </dd>
        <dt>{t.model}</dt>
        <dd>{d.birth ? t.modelFirmware(d.birth.model ?? '?', d.birth.firmware ?? '?') : t.noBirth}</dd>
        <dt>{t.connected}</dt>
        <dd>{d.connectedAt ? f.clock(d.connectedAt) : '–'}</dd>
        <dt>{t.source}</dt>
        <dd>{d.source}</dd>
      </dl>
      <h4>{t.lastEvents}</h4>
      {events.length === 0 ? (
        <p>{t.noneYet}</p>
      ) : (
        <table class="ops-table">
          <tbody>
            {events.map(([type, e]) => (
              <tr>
                <td>{type}</td>
                <td>#{e.seq}</td>
                <td>{f.ago(e.recvTs, now)}</td>
                <td>
                  <code>{JSON.stringify(e.data)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h4>{t.rejectedEvents}</h4>
      {rejects === null ? (
        <p>{t.loading}</p>
      ) : rejects.length === 0 ? (
        <p>{t.none}</p>
      ) : (
        <table class="ops-table" aria-label={t.rejectedEvents}>
          <tbody>
            {rejects.map((r) => (
              <tr data-reject={r.code}>
                <td>{f.clock(r.recvTs)}</td>
                <td>{r.code}</td>
                <td>{r.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <DeviceCommands d={d} now={now} commands={commands} onSent={() => setReload((n) => n + 1)} />
    </aside>
  );
}

/** Simple fields for the commands ops may send, per kind (the gateway checks them against its schemas). */
type Field = { name: string; options?: string[]; bool?: boolean };
const COMMAND_FORMS: Partial<Record<string, Record<string, Field[]>>> = {
  light: { set: [{ name: 'color', options: ['green', 'amber', 'red', 'off'] }, { name: 'mode', options: ['steady', 'flash'] }] },
  scale: { tare: [], zero: [] },
  scanner: { beep: [{ name: 'pattern', options: ['ok', 'error'] }], enable: [{ name: 'enabled', options: ['true', 'false'], bool: true }] },
  rfid: { inventory: [{ name: 'action', options: ['start', 'stop'] }] },
  // A charge is never sent from here: only a kiosk session charges (the gateway refuses it too).
  payment: { cancel: [{ name: 'requestId' }] },
};

function DeviceCommands({ d, now, commands, onSent }: { d: DeviceView; now: number; commands: DeviceDetailBody['commands']; onSent: () => void }) {
  const { t, f } = useI18n();
  const [role, setRole] = useState<string | null>(null);
  useEffect(() => {
    void get<MeBody>('/api/me').then((r) => setRole(r.ok ? r.body.role : null));
  }, []);
  if (commands === null) return <p class="ops-na" data-testid="commands-na">{t.commandsNa}</p>;
  const forms = COMMAND_FORMS[d.kind];
  return (
    <section data-testid="commands" data-role={role ?? ''}>
      {d.kind === 'payment' && <EndOfDay d={d} role={role} onSent={onSent} />}
      <h4>{t.pendingCommands}</h4>
      {commands.pending.length === 0 ? (
        <p data-testid="commands-pending-none">{t.none}</p>
      ) : (
        <table class="ops-table" aria-label={t.pendingCommands} data-testid="commands-pending">
          <tbody>
            {commands.pending.map((c) => (
              <tr data-testid="command-pending" data-cmd={c.cmdId}>
                <td>{c.type}</td>
                <td>{t.asked(f.ago(c.createdAt, now))}</td>
                <td>{c.attempts === 0 ? t.notSentYet : t.attempts(c.attempts)}</td>
                <td>{c.source}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h4>{t.recentCommands}</h4>
      {commands.recent.length === 0 ? (
        <p>{t.none}</p>
      ) : (
        <table class="ops-table" aria-label={t.recentCommands} data-testid="commands-recent">
          <tbody>
            {commands.recent.map((c) => (
              <tr data-testid="command-recent" data-cmd={c.cmdId} data-state={c.state}>
                <td>{c.type}</td>
                <td>
                  <span class={`badge ${c.state === 'acked' ? 'online' : 'offline'}`}>{c.state}</span>
                </td>
                <td>{c.error ?? ''}</td>
                <td>{f.clock(c.finishedAt ?? c.createdAt)}</td>
                <td>{c.source}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {forms && role !== null && role !== 'viewer' && !d.disabled && <CommandForm d={d} forms={forms} onSent={onSent} />}
    </section>
  );
}

function CommandForm({ d, forms, onSent }: { d: DeviceView; forms: Record<string, Field[]>; onSent: () => void }) {
  const { t } = useI18n();
  const types = Object.keys(forms);
  const [type, setType] = useState(types[0]);
  const [values, setValues] = useState<Record<string, string>>({});
  const [note, setNote] = useState<string | null>(null);
  const fields = forms[type] ?? [];
  const send = async (e: Event) => {
    e.preventDefault();
    const data: Record<string, unknown> = {};
    for (const f of fields) {
      const v = values[`${type}.${f.name}`] ?? f.options?.[0] ?? '';
      if (v !== '') data[f.name] = f.bool ? v === 'true' : v;
    }
    const r = await post<CommandAcceptedBody>(`/api/devices/${d.kind}/${encodeURIComponent(d.id)}/commands`, { type, data });
    if (r.ok) onSent();
    setNote(r.ok ? t.commandSent(type, r.body.cmdId) : t.refused(r.message));
  };
  return (
    <form class="ops-form" onSubmit={(e) => void send(e)} data-testid="command-form">
      <label>
        {t.command}
        <select value={type} onChange={(e) => setType((e.target as HTMLSelectElement).value)} data-testid="command-type">
          {types.map((t) => (
            <option value={t}>{t}</option>
          ))}
        </select>
      </label>
      {fields.map((f) => (
        <label>
          {f.name}
          {f.options ? (
            <select value={values[`${type}.${f.name}`] ?? f.options[0]} onChange={(e) => setValues({ ...values, [`${type}.${f.name}`]: (e.target as HTMLSelectElement).value })} data-testid={`command-field-${f.name}`}>
              {f.options.map((o) => (
                <option value={o}>{o}</option>
              ))}
            </select>
          ) : (
            <input value={values[`${type}.${f.name}`] ?? ''} onInput={(e) => setValues({ ...values, [`${type}.${f.name}`]: (e.target as HTMLInputElement).value })} data-testid={`command-field-${f.name}`} />
          )}
        </label>
      ))}
      <button type="submit" data-testid="command-send">{t.send}</button>
      {note && (
        <p role="status" data-testid="command-result">
          {note}
        </p>
      )}
    </form>
  );
}
