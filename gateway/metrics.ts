/**
 * Prometheus metrics of one gateway (prom-client). A Registry per gateway instance, never the
 * global default, so tests can run several gateways in one process.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Values read at scrape time from the components that own them. */
export interface Probes {
  connections: () => number;
  outboxDepth: () => Promise<Record<string, number>>;
  /** Dead letters kept (rows, text bytes) and the outbox WAL size: counters, never a query. */
  deadLetters: () => { rows: number; bytes: number };
  outboxWalBytes: () => number;
}

export class Metrics {
  readonly registry = new Registry();
  readonly probes: Probes = { connections: () => 0, outboxDepth: async () => ({}), deadLetters: () => ({ rows: 0, bytes: 0 }), outboxWalBytes: () => 0 };
  readonly connections: Gauge = new Gauge({
    name: 'storegw_mqtt_connections',
    help: 'Connected MQTT clients',
    registers: [this.registry],
    collect: (): void => this.connections.set(this.probes.connections()),
  });
  readonly connects = new Counter({
    name: 'storegw_mqtt_connects_total',
    help: 'CONNECT attempts by result (ok, bad_credentials, unknown_user, no_credentials, disabled, busy, rate_limited, too_many_connections, origin_refused, client_id_taken, client_id_rejected, keepalive, credential_cap)',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly aclDenied = new Counter({
    name: 'storegw_acl_denied_total',
    help: 'Publishes and subscribes refused by the ACL (the connection is closed on a publish)',
    labelNames: ['action'],
    registers: [this.registry],
  });
  readonly mqttRefused = new Counter({
    name: 'storegw_mqtt_refused_total',
    help: 'Publishes refused by broker policy: qos2 and inflight close the connection, gateway_record is told on rej, service_device_write closes',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly events = new Counter({ name: 'storegw_events_total', help: 'Device events committed to the outbox', labelNames: ['kind', 'class'], registers: [this.registry] });
  /** kiosk scans refused, by reason (currency: a GS1 393n amount in another currency; unreadable). */
  readonly memberQrRefused = new Counter({ name: 'storegw_member_qr_refused_total', help: 'Member QRs refused at the kiosks, by reason: malformed, unknownKey, badSignature, expired, revoked, wrongStore, outsideWindow, replayed', labelNames: ['reason'], registers: [this.registry] });
  readonly couponRefused = new Counter({ name: 'storegw_coupon_refused_total', help: 'Coupons refused at the kiosks, by reason: malformed, unknownKey, badSignature, unknown, expired, notYetValid, revoked, alreadyUsed, alreadyOnCart, memberFirst, maxUses', labelNames: ['reason'], registers: [this.registry] });
  readonly kioskImages = new Counter({ name: 'storegw_kiosk_images_total', help: 'Produce pictures named by the catalog, by outcome: stored, badHash (bytes not the signed SHA-256), tooLarge, notAnImage, httpError, unreachable', labelNames: ['outcome'], registers: [this.registry] });
  readonly kioskScansRefused = new Counter({ name: 'storegw_kiosk_scans_refused_total', help: 'Kiosk scans refused: currency (a GS1 393n amount not in the store currency), unreadable (any other bad code)', labelNames: ['reason'], registers: [this.registry] });
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
  readonly deadLetters: Gauge = new Gauge({
    name: 'storegw_dead_letters',
    help: 'Dead letters kept (deadletters.db)',
    registers: [this.registry],
    collect: (): void => this.deadLetters.set(this.probes.deadLetters().rows),
  });
  readonly deadLetterBytes: Gauge = new Gauge({
    name: 'storegw_dead_letters_bytes',
    help: 'Bytes of dead-letter text kept',
    registers: [this.registry],
    collect: (): void => this.deadLetterBytes.set(this.probes.deadLetters().bytes),
  });
  readonly deadLettersDropped = new Counter({ name: 'storegw_dead_letters_dropped_total', help: 'Dead letters dropped by a bound (age, rows, bytes)', labelNames: ['reason'], registers: [this.registry] });
  readonly outboxWalBytes: Gauge = new Gauge({
    name: 'storegw_outbox_wal_bytes',
    help: 'Size of the outbox WAL file at the last checkpoint (not counted by the quota)',
    registers: [this.registry],
    collect: (): void => this.outboxWalBytes.set(this.probes.outboxWalBytes()),
  });
  readonly dbWriterExits = new Counter({ name: 'storegw_db_writer_exits_total', help: 'Deaths of the SQLite writer thread (outbox, devices, commands, kiosk; and stock.db, which has a thread of its own); each is restarted with a backoff', registers: [this.registry] });
  readonly dbWriterRestarts = new Counter({ name: 'storegw_db_writer_restarts_total', help: 'SQLite writer threads started again after a death', registers: [this.registry] });
  readonly httpLoginFailures = new Counter({ name: 'storegw_http_login_failures_total', help: 'Failed ops logins', labelNames: ['reason'], registers: [this.registry] });
  readonly httpBadRequests = new Counter({ name: 'storegw_http_bad_requests_total', help: 'HTTP requests rejected by schema validation', registers: [this.registry] });
  readonly httpRefused = new Counter({
    name: 'storegw_http_refused_total',
    help: 'Attempts refused before any hash ran or any state changed: login_rate, hash_busy, origin, kiosk_hello_rate, kiosk_hello_busy, member_rate',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly kioskRefused = new Counter({ name: 'storegw_kiosk_intents_refused_total', help: 'Kiosk page intents refused: by the session with a notice, by notice code (notSoldByWeight), or at the socket as malformed (badMessage)', labelNames: ['code'], registers: [this.registry] });
  readonly passwordVerifications = new Counter({ name: 'storegw_password_verifications_total', help: "People's password hashes computed (logins, own password changes)", registers: [this.registry] });

  // ----- HQ feeds in (every feed, one subscriber: hq/feedSubscriber.ts) ---------------------------
  readonly feedRejects = new Counter({ name: 'storegw_feed_rejects_total', help: 'HQ feeds rejected, by feed and reason code', labelNames: ['feed', 'code'], registers: [this.registry] });
  readonly feedApplied = new Counter({ name: 'storegw_feed_applied_total', help: 'HQ feeds applied', labelNames: ['feed', 'scope'], registers: [this.registry] });
  readonly feedVersion = new Gauge({ name: 'storegw_feed_version', help: 'HQ feed version applied, by feed and scope (store or all); the sync report to HQ reads it', labelNames: ['feed', 'scope'], registers: [this.registry] });
  readonly feedAppliedAt = new Gauge({ name: 'storegw_feed_applied_timestamp_seconds', help: 'When the applied HQ feed version was applied (Unix time), by feed and scope; absent when applied before this start and its store keeps no time', labelNames: ['feed', 'scope'], registers: [this.registry] });
  readonly feedStoreFailures = new Counter({ name: 'storegw_feed_store_failures_total', help: 'HQ feeds that passed every check but could not be stored (left unacknowledged for re-delivery), by feed', labelNames: ['feed'], registers: [this.registry] });

  // ----- uplink to HQ ------------------------------------------------------------------
  readonly wanUp = new Gauge({ name: 'storegw_uplink_wan_up', help: 'HQ link state: 1 connected, 0 not', registers: [this.registry] });
  readonly uplinkDuplicateStoreId = new Gauge({ name: 'storegw_uplink_duplicate_store_id', help: '1 once another gateway with this storeId was seen at HQ and the uplink stopped', registers: [this.registry] });
  readonly uplinkBatches = new Counter({ name: 'storegw_uplink_batches_total', help: 'Batches HQ acknowledged', registers: [this.registry] });
  readonly uplinkRecords = new Counter({ name: 'storegw_uplink_records_total', help: 'Records HQ acknowledged, by class', labelNames: ['class'], registers: [this.registry] });
  readonly uplinkSentBytes = new Counter({ name: 'storegw_uplink_sent_bytes_total', help: 'Compressed batch bytes HQ acknowledged', registers: [this.registry] });
  readonly uplinkLineBytes = new Counter({ name: 'storegw_uplink_line_bytes_total', help: 'JSON-lines bytes of acknowledged batches before compression', registers: [this.registry] });
  readonly uplinkRawBytes = new Counter({
    name: 'storegw_uplink_raw_bytes_total',
    help: 'Device payload bytes that went into compaction or out as exact records (raw / sent = the compaction ratio)',
    labelNames: ['class'],
    registers: [this.registry],
  });
  readonly uplinkRefused = new Counter({ name: 'storegw_uplink_refused_total', help: 'Batches HQ refused (PUBACK ≥ 0x80 or a drop on publish), by reason', labelNames: ['reason'], registers: [this.registry] });
  readonly uplinkUnsendable = new Counter({ name: 'storegw_uplink_unsendable_total', help: 'Single records HQ refused or too large for any batch (reported, kept)', registers: [this.registry] });
  readonly uplinkReportsTooLarge = new Counter({ name: 'storegw_uplink_reports_too_large_total', help: 'Retained reports to HQ left out: larger than the packet limit HQ\'s broker announced', labelNames: ['report'], registers: [this.registry] });
  readonly uplinkConnects = new Counter({ name: 'storegw_uplink_connects_total', help: 'HQ connect attempts by result', labelNames: ['result'], registers: [this.registry] });
  readonly hqAcks = new Counter({ name: 'storegw_hq_acks_total', help: 'HQ ingest acknowledgements by result (accepted, or the refusal code)', labelNames: ['result'], registers: [this.registry] });
  readonly hqUnackedBatches = new Gauge({ name: 'storegw_hq_unacked_batches', help: 'Batches sent to HQ and not yet acknowledged by its ingest (hq.delivery ingest-ack)', registers: [this.registry] });
  readonly hqDeliveryLag = new Gauge({ name: 'storegw_hq_delivery_lag_seconds', help: 'Age of the oldest record HQ has not acknowledged (gateway time)', registers: [this.registry] });
  readonly hqResent = new Counter({ name: 'storegw_hq_resent_batches_total', help: 'Batches sent again because HQ\'s ingest did not acknowledge them in time', registers: [this.registry] });
  readonly hqLastAck = new Gauge({ name: 'storegw_hq_last_ack_timestamp_seconds', help: 'When the last HQ ingest acknowledgement was accepted (0: none since start)', registers: [this.registry] });
  readonly uplinkOldestAge = new Gauge({ name: 'storegw_uplink_oldest_unsent_seconds', help: 'Age of the oldest record still in the outbox (gateway time)', registers: [this.registry] });
  readonly compacted = new Counter({ name: 'storegw_compaction_records_total', help: 'Raw records compacted, by class and outcome (in, out, dropped)', labelNames: ['class', 'outcome'], registers: [this.registry] });
  readonly outboxUsedBytes = new Gauge({ name: 'storegw_outbox_used_bytes', help: 'Bytes the outbox occupies (live SQLite pages)', registers: [this.registry] });
  readonly outboxLimitBytes = new Gauge({ name: 'storegw_outbox_limit_bytes', help: 'Effective outbox limit: the quota, or less when the disk is short', registers: [this.registry] });
  readonly evicted = new Counter({ name: 'storegw_outbox_evicted_total', help: 'Records evicted to keep the quota, by class', labelNames: ['class'], registers: [this.registry] });
  readonly quotaAlert = new Gauge({ name: 'storegw_outbox_quota_alert', help: '1 when exact records alone break the quota (they are kept)', registers: [this.registry] });
  readonly quotaDaysLeft = new Gauge({ name: 'storegw_outbox_quota_days_left', help: 'Days of WAN outage the quota still holds at the current rate (+Inf when nothing arrives)', registers: [this.registry] });
  readonly clockJumps = new Counter({ name: 'storegw_clock_jumps_total', help: 'Wall-clock jumps detected against the monotonic clock, by direction', labelNames: ['direction'], registers: [this.registry] });

  // ----- device commands: devices/commands.ts -----------------------------------------
  readonly commandsSent = new Counter({ name: 'storegw_commands_sent_total', help: 'Device commands asked for (recorded, then published or queued for an offline device), by kind', labelNames: ['kind'], registers: [this.registry] });
  readonly commandsResent = new Counter({ name: 'storegw_commands_resent_total', help: 'Device commands published again (device reconnected, or no ack in time), by kind', labelNames: ['kind'], registers: [this.registry] });
  readonly commandsAcked = new Counter({ name: 'storegw_commands_acked_total', help: 'Device commands acked ok, by kind', labelNames: ['kind'], registers: [this.registry] });
  readonly commandsFailed = new Counter({ name: 'storegw_commands_failed_total', help: 'Device commands failed, by kind and reason (device: ack ok:false; no_ack: max attempts)', labelNames: ['kind', 'reason'], registers: [this.registry] });
  readonly commandsExpired = new Counter({ name: 'storegw_commands_expired_total', help: 'Device commands given up unsent or unacked, by kind and reason (ttl, superseded)', labelNames: ['kind', 'reason'], registers: [this.registry] });
  readonly commandAcksUnknown = new Counter({ name: 'storegw_command_acks_unknown_total', help: 'Acks naming a cmdId the command store does not know (counted, ignored), by kind', labelNames: ['kind'], registers: [this.registry] });

  // ----- kiosk payments: kiosk/saleLedger.ts -------------------------------------------
  readonly kioskPaymentsReversed = new Counter({ name: 'storegw_kiosk_payments_reversed_total', help: 'Approved kiosk payments reversed instead of rung up, by reason (mismatch: another amount or currency than the charge; noSale: approved after the sale moved on)', labelNames: ['reason'], registers: [this.registry] });
  readonly kioskPromptsIgnored = new Counter({ name: 'storegw_kiosk_payment_prompts_ignored_total', help: "Terminal prompts (payment status events) not shown because they name another request than the kiosk's open payment", registers: [this.registry] });
  readonly kioskSaleWriteFailures = new Counter({ name: 'storegw_kiosk_sale_write_failures_total', help: 'Failed attempts to write a sale (ledger or outbox); each is retried with back-off', registers: [this.registry] });
  // exit gates
  readonly exitGateReads = new Counter({ name: 'storegw_exit_gate_reads_total', help: 'RFID reads at exit gates, by outcome: alarm, or the reason it stayed quiet (notSgtin, foreign, samePassage, sold, soldElsewhere, exempt)', labelNames: ['outcome'], registers: [this.registry] });
  readonly exitGateAlarmSeconds = new Histogram({ name: 'storegw_exit_gate_alarm_seconds', help: 'From an exit-gate read reaching the gateway to the alarm command leaving it', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [this.registry] });
  readonly shelfReads = new Counter({ name: 'storegw_shelf_reads_total', help: 'RFID reads at shelf readers, by outcome: onShelf (a unit of a catalog item), notSgtin, foreign', labelNames: ['outcome'], registers: [this.registry] });

  // ----- doors and exhaustion: listeners, connection caps, bounded logs ----------------------------
  readonly listenerErrors = new Counter({
    name: 'storegw_listener_errors_total',
    help: 'Errors of a listening server (accept EMFILE when descriptors run out: the connection is refused, the server keeps listening), by listener and code',
    labelNames: ['listener', 'code'],
    registers: [this.registry],
  });
  readonly httpDropped = new Counter({ name: 'storegw_http_connections_dropped_total', help: 'HTTP connections closed at accept because http.maxConnections were open', registers: [this.registry] });
  readonly logSuppressed = new Counter({ name: 'storegw_log_lines_suppressed_total', help: 'Log lines peers triggered beyond log.peerLinesPerMinute, by kind (counted when the minute rolls over)', labelNames: ['kind'], registers: [this.registry] });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    // Event-loop delay sampled every 1 ms (the default 10 ms cannot show a p99 under 5 ms).
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'storegw_process_', eventLoopMonitoringPrecision: 1 });
  }
}
