/**
 * The one place that knows how to reach HQ's broker: its URL, the credentials (password, CA,
 * client certificate and key, read from their files once in `start()`, so a missing file fails
 * the gateway at boot naming its config field) and the options every HQ client shares. The
 * uplink and each feed subscriber ask this for their mqtt.js client; they only add what is their
 * own (client id, session, Will, packet limit).
 *
 * MQTT 5 everywhere: a refusal is visible (a PUBACK reason ≥ 0x80 [MQTT-3.4.2.1]; a 3.1.1 broker
 * acks and drops) and the client can tell HQ its Maximum Packet Size [MQTT-3.1.2-25].
 */
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { SgwError } from '../errors.js';

/** The `hq` config fields this module reads. */
export interface HqEndpoint {
  url: string;
  username?: string;
  passwordFile?: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/** What one client adds to the shared options. */
export interface HqSession {
  clientId: string;
  /** false: a session that outlives the connection (feeds); true: none (the uplink resends from the outbox). */
  clean: boolean;
  /** mqtt.js's own reconnect delay, or 0 when the caller reconnects itself. */
  reconnectPeriod: number;
  connectTimeout: number;
  keepalive?: number;
  properties?: IClientOptions['properties'];
  will?: IClientOptions['will'];
}

type SecretField = 'passwordFile' | 'caFile' | 'certFile' | 'keyFile';

export class HqConnection {
  private secrets: { password?: string; ca?: Buffer; cert?: Buffer; key?: Buffer } | null = null;

  constructor(private readonly hq: HqEndpoint) {}

  get url(): string {
    return this.hq.url;
  }

  /** Reads the credential files; a file that cannot be read throws SGW_ERR_CONFIG naming its field. */
  start(): void {
    const read = (field: SecretField): Buffer | undefined => {
      const f = this.hq[field];
      if (f === undefined) return undefined;
      try {
        return readFileSync(f);
      } catch (err) {
        throw new SgwError('SGW_ERR_CONFIG', `hq.${field}: cannot read ${f} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      }
    };
    this.secrets = { password: read('passwordFile')?.toString('utf8').trim(), ca: read('caFile'), cert: read('certFile'), key: read('keyFile') };
  }

  /** The full mqtt.js options of one HQ client. */
  options(s: HqSession): IClientOptions {
    if (!this.secrets) throw new Error('HqConnection: start() before options()');
    return {
      protocolVersion: 5,
      clientId: s.clientId,
      clean: s.clean,
      reconnectPeriod: s.reconnectPeriod,
      connectTimeout: s.connectTimeout,
      ...(s.keepalive !== undefined ? { keepalive: s.keepalive } : {}),
      ...(s.properties ? { properties: s.properties } : {}),
      ...(s.will ? { will: s.will } : {}),
      username: this.hq.username,
      password: this.secrets.password,
      ca: this.secrets.ca,
      cert: this.secrets.cert,
      key: this.secrets.key,
      rejectUnauthorized: true,
    };
  }

  /** A new client to HQ; mqtt.js starts connecting at once. */
  connect(s: HqSession): MqttClient {
    return mqtt.connect(this.hq.url, this.options(s));
  }
}
