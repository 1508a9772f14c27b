/** Uplink & alerts: the HQ link, the backlog per class and its oldest unsent record; the alert book with acknowledge. */
import { useEffect, useState } from 'preact/hooks';
import type { AlertRow } from '../../../gateway/kpi/kpiStore.js';
import { can, type Live, type Me } from '../app.js';
import { get, post, unavailable, type ApiResult } from '../api.js';
import { ago, ageS } from '../format.js';

interface UplinkBody {
  configured: boolean;
  hqUrl: string | null;
  wan: { state?: string; connected?: boolean; [k: string]: unknown } | null;
  outbox: { rows: Record<string, number>; total: number; oldestUnsentAgeS: number | null };
}

interface FeedRejection {
  at: number;
  feed: string;
  scope: string;
  code: string;
  reason: string;
}

export function UplinkView({ me, live, now }: { me: Me; live: Live; now: number }) {
  const [uplink, setUplink] = useState<ApiResult<UplinkBody> | null>(null);
  const [alerts, setAlerts] = useState<AlertRow[] | null>(null);
  const [feedRejects, setFeedRejects] = useState<FeedRejection[] | null>(null);
  const [n, reload] = useState(0);
  useEffect(() => {
    let gone = false;
    const load = async () => {
      const [u, a, p] = await Promise.all([get<UplinkBody>('/api/uplink'), get<{ alerts: AlertRow[] }>('/api/alerts?limit=200'), get<{ alerts?: FeedRejection[] }>('/api/prices/sync')]);
      if (gone) return;
      setUplink(u);
      setAlerts(a.ok ? a.body.alerts : []);
      // Rejected HQ feeds are kept by the price service (in memory), not in the alert book.
      setFeedRejects(p.ok ? (p.body.alerts ?? []) : null);
    };
    void load();
    const t = setInterval(load, 5000);
    return () => {
      gone = true;
      clearInterval(t);
    };
  }, [n, live.alerts.length]);

  const ack = async (a: AlertRow) => {
    await post(`/api/alerts/${a.id}/ack`, {});
    reload((x) => x + 1);
  };
  const wanState = (u: UplinkBody) => (!u.configured ? 'no HQ configured' : u.wan?.connected ? 'connected' : `down${u.wan?.lastError ? ` (${String(u.wan.lastError)})` : ''}`);
  return (
    <section>
      <h2>Uplink</h2>
      {uplink === null ? (
        <p>Loading…</p>
      ) : unavailable(uplink) ? (
        <p class="ops-na" data-panel="uplink">
          not available (this gateway has no uplink API)
        </p>
      ) : !uplink.ok ? (
        <p class="ops-error">{uplink.message}</p>
      ) : (
        <div>
          <dl class="ops-facts">
            <dt>WAN</dt>
            <dd data-wan={wanState(uplink.body)}>{wanState(uplink.body)}</dd>
            <dt>HQ</dt>
            <dd>{uplink.body.hqUrl ?? '–'}</dd>
            <dt>Backlog</dt>
            <dd data-backlog={uplink.body.outbox.total}>{uplink.body.outbox.total} records</dd>
            <dt>Oldest unsent</dt>
            <dd>{ageS(uplink.body.outbox.oldestUnsentAgeS)}</dd>
          </dl>
          <table class="ops-table" aria-label="Backlog per class">
            <thead>
              <tr>
                <th>Class</th>
                <th>Records</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(uplink.body.outbox.rows).map(([cls, count]) => (
                <tr key={cls} data-class={cls}>
                  <td>{cls}</td>
                  <td>{count}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h2>Alerts</h2>
      {feedRejects && feedRejects.length > 0 && (
        <div>
          <h3>Rejected HQ feeds</h3>
          <table class="ops-table" aria-label="Rejected HQ feeds">
            <tbody>
              {feedRejects
                .slice()
                .reverse()
                .map((f, i) => (
                  <tr key={`${f.at}-${i}`} data-feed-reject={f.code}>
                    <td>{ago(f.at, now)}</td>
                    <td>
                      {f.feed} ({f.scope})
                    </td>
                    <td>
                      <span class="badge sev-critical">{f.code}</span>
                    </td>
                    <td>{f.reason}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
      )}
      {alerts === null ? (
        <p>Loading…</p>
      ) : alerts.length === 0 ? (
        <p>No alerts.</p>
      ) : (
        <table class="ops-table" aria-label="Alerts">
          <thead>
            <tr>
              <th>When</th>
              <th>Source</th>
              <th>Severity</th>
              <th>Code</th>
              <th>Message</th>
              <th>Acknowledged</th>
            </tr>
          </thead>
          <tbody>
            {alerts.map((a) => (
              <tr key={a.id} data-alert={a.id} data-code={a.code} class={a.ackedAt ? 'acked' : ''}>
                <td>{ago(a.at, now)}</td>
                <td>{a.source}</td>
                <td>
                  <span class={`badge sev-${a.severity}`}>{a.severity}</span>
                </td>
                <td>{a.code}</td>
                <td>{a.message}</td>
                <td>
                  {a.ackedAt ? (
                    `${a.ackedBy}, ${ago(a.ackedAt, now)}`
                  ) : can(me, 'attendant') ? (
                    <button onClick={() => ack(a)}>Acknowledge</button>
                  ) : (
                    'open'
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
