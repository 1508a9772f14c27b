/** Uplink & alerts: the HQ link, the backlog per class and its oldest unsent record; the alert book with acknowledge. */
import { useEffect, useState } from 'preact/hooks';
import type { AlertListBody, AlertRow, FeedRejection, SyncReportBody, UplinkStatusBody } from '../../../gateway/protocol/schemas/api/index.js';
import { can, type Live, type Me } from '../app.js';
import { get, post, unavailable, type ApiResult } from '../api.js';
import { useI18n } from '../i18n.js';

type UplinkBody = UplinkStatusBody;

export function UplinkView({ me, live, now }: { me: Me; live: Live; now: number }) {
  const { t, f } = useI18n();
  const { ago } = f;
  const [uplink, setUplink] = useState<ApiResult<UplinkBody> | null>(null);
  const [alerts, setAlerts] = useState<AlertRow[] | null>(null);
  const [feedRejects, setFeedRejects] = useState<FeedRejection[] | null>(null);
  const [n, reload] = useState(0);
  useEffect(() => {
    let gone = false;
    const load = async () => {
      const [u, a, p] = await Promise.all([get<UplinkBody>('/api/uplink'), get<AlertListBody>('/api/alerts?limit=200'), get<SyncReportBody>('/api/prices/sync')]);
      if (gone) return;
      setUplink(u);
      setAlerts(a.ok ? a.body.alerts : []);
      // Rejected HQ feeds are kept by the price service (in memory), not in the alert book.
      setFeedRejects(p.ok ? p.body.alerts : null);
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
  // data-wan keeps the English state for scripts; the text is in the page's language.
  const wanKey = (u: UplinkBody) => (!u.configured ? 'no HQ configured' : u.wan?.connected ? 'connected' : `down${u.wan?.lastError ? ` (${String(u.wan.lastError)})` : ''}`);
  const wanState = (u: UplinkBody) => (!u.configured ? t.noHq : u.wan?.connected ? t.wanConnected : t.wanDown(u.wan?.lastError ? String(u.wan.lastError) : null));
  return (
    <section>
      <h2>{t.uplink}</h2>
      {uplink === null ? (
        <p>{t.loading}</p>
      ) : unavailable(uplink) ? (
        <p class="ops-na" data-panel="uplink">
          {t.notAvailable('uplink')}
        </p>
      ) : !uplink.ok ? (
        <p class="ops-error">{uplink.message}</p>
      ) : (
        <div>
          <dl class="ops-facts">
            <dt>WAN</dt>
            <dd data-wan={wanKey(uplink.body)}>{wanState(uplink.body)}</dd>
            <dt>{t.hq}</dt>
            <dd>{uplink.body.hqUrl ?? '–'}</dd>
            <dt>{t.backlog}</dt>
            <dd data-backlog={uplink.body.outbox.total}>{t.records(f.num(uplink.body.outbox.total))}</dd>
            <dt>{t.oldestUnsent}</dt>
            <dd>{f.ageS(uplink.body.outbox.oldestUnsentAgeS)}</dd>
            {uplink.body.delivery && (
              <>
                <dt>{t.delivery}</dt>
                <dd data-delivery={uplink.body.delivery.mode}>{t.deliveryMode(uplink.body.delivery.mode)}</dd>
              </>
            )}
            {uplink.body.delivery?.mode === 'ingest-ack' && (
              <>
                <dt>{t.lastAck}</dt>
                <dd data-unacked={uplink.body.delivery.unackedBatches}>
                  {uplink.body.delivery.lastAckAt === null ? t.never : f.clock(uplink.body.delivery.lastAckAt)} · {t.unacked(f.num(uplink.body.delivery.unackedBatches), f.num(uplink.body.delivery.unackedRecords))}
                </dd>
              </>
            )}
          </dl>
          <table class="ops-table" aria-label={t.backlogPerClass}>
            <thead>
              <tr>
                <th>{t.class}</th>
                <th>{t.recordsCol}</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(uplink.body.outbox.rows).map(([cls, count]) => (
                <tr key={cls} data-class={cls}>
                  <td>{cls}</td>
                  <td>{f.num(count)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h2>{t.alerts}</h2>
      {feedRejects && feedRejects.length > 0 && (
        <div>
          <h3>{t.rejectedFeeds}</h3>
          <table class="ops-table" aria-label={t.rejectedFeeds}>
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
        <p>{t.loading}</p>
      ) : alerts.length === 0 ? (
        <p>{t.noAlerts}</p>
      ) : (
        <table class="ops-table" aria-label={t.alerts}>
          <thead>
            <tr>
              <th>{t.when}</th>
              <th>{t.source}</th>
              <th>{t.severity}</th>
              <th>{t.code}</th>
              <th>{t.message}</th>
              <th>{t.acknowledged}</th>
            </tr>
          </thead>
          <tbody>
            {alerts.map((a) => (
              <tr key={a.id} data-alert={a.id} data-code={a.code} class={a.ackedAt ? 'acked' : ''}>
                <td>{ago(a.at, now)}</td>
                <td>{a.source}</td>
                <td>
                  <span class={`badge sev-${a.severity}`}>{t.severities[a.severity] ?? a.severity}</span>
                </td>
                <td>{a.code}</td>
                <td>{a.message}</td>
                <td>
                  {a.ackedAt ? (
                    `${a.ackedBy}, ${ago(a.ackedAt, now)}`
                  ) : can(me, 'attendant') ? (
                    <button onClick={() => ack(a)}>{t.acknowledge}</button>
                  ) : (
                    t.open
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
