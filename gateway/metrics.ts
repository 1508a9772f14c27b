/**
 * Prometheus metrics of one gateway (prom-client). A Registry per gateway instance, never the
 * global default, so tests can run several gateways in one process.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Values read at scrape time from the components that own them. */
export interface Probes {
  connections: () => number;
  outboxDepth: () => Promise<Record<string, number>>;
}

export class Metrics {
  readonly registry = new Registry();
  readonly probes: Probes = { connections: () => 0, outboxDepth: async () => ({}) };
  readonly connections: Gauge = new Gauge({
    name: 'storegw_mqtt_connections',
    help: 'Connected MQTT clients',
    registers: [this.registry],
    collect: (): void => this.connections.set(this.probes.connections()),
  });
  readonly connects = new Counter({
    name: 'storegw_mqtt_connects_total',
    help: 'CONNECT attempts by result (ok, bad_credentials, unknown_user, no_credentials, disabled, rate_limited)',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly aclDenied = new Counter({
    name: 'storegw_acl_denied_total',
    help: 'Publishes and subscribes refused by the ACL (the connection is closed on a publish)',
    labelNames: ['action'],
    registers: [this.registry],
  });
  readonly events = new Counter({ name: 'storegw_events_total', help: 'Device events committed to the outbox', labelNames: ['kind', 'class'], registers: [this.registry] });
  readonly rejects = new Counter({ name: 'storegw_rejects_total', help: 'Device events rejected, by reason code', labelNames: ['code'], registers: [this.registry] });
  readonly protocolErrors = new Counter({
    name: 'storegw_protocol_errors_total',
    help: 'Connections dropped for protocol errors (oversized packet, garbage instead of CONNECT, …)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly commitSeconds = new Histogram({
    name: 'storegw_commit_seconds',
    help: 'Outbox group-commit latency',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly eventsPerCommit = new Histogram({
    name: 'storegw_events_per_commit',
    help: 'Events in one outbox transaction (one fsync)',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000],
    registers: [this.registry],
  });
  readonly outboxDepth: Gauge<'class'> = new Gauge({
    name: 'storegw_outbox_depth',
    help: 'Records waiting in the outbox',
    labelNames: ['class'],
    registers: [this.registry],
    collect: async () => {
      const depth = await this.probes.outboxDepth();
      this.outboxDepth.reset();
      for (const [cls, n] of Object.entries(depth)) this.outboxDepth.labels(cls).set(n);
    },
  });
  readonly httpLoginFailures = new Counter({ name: 'storegw_http_login_failures_total', help: 'Failed ops logins', labelNames: ['reason'], registers: [this.registry] });
  readonly httpBadRequests = new Counter({ name: 'storegw_http_bad_requests_total', help: 'HTTP requests rejected by schema validation', registers: [this.registry] });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'storegw_process_' });
  }
}
