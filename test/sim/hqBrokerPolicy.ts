/**
 * The HQ broker's policy, for tests that make HQ refuse a store's batches: Mosquitto's
 * dynamic-security plugin (https://mosquitto.org/documentation/dynamic-security/) with a config in
 * which anonymous clients may do anything, an admin who may change that at runtime, and the
 * control channel (`$CONTROL/dynamic-security/v1`) the HQ simulator (hqSim.ts) uses to refuse or
 * accept a store while the broker runs.
 */
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { topics } from '../../gateway/protocol/topics.js';

const DYNSEC_TOPIC = '$CONTROL/dynamic-security/v1';
const DYNSEC_RESPONSE = '$CONTROL/dynamic-security/v1/response';
const ANON_ROLE = 'anonymous';
const CONTROL_TIMEOUT_MS = 10_000;
export const DYNSEC_PLUGIN = '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so';

/** Connects the dynamic-security admin and listens for the plugin's replies. */
export async function connectPolicyAdmin(url: string, admin: { username: string; password: string }): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, {
    clientId: `hq-admin-${randomBytes(4).toString('hex')}`,
    protocolVersion: 5,
    username: admin.username,
    password: admin.password,
  });
  await client.subscribeAsync(DYNSEC_RESPONSE, { qos: 1 });
  return client;
}

/** Changes the anonymous role's ACL through the admin's connection (null: no admin configured). */
export class BrokerPolicy {
  private controlSeq = 0;
  private controlQueue: Promise<void> = Promise.resolve();

  constructor(private readonly admin: () => MqttClient | null) {}

  /** From now on the broker answers a store's batch publishes with PUBACK 0x87 (MQTT 5). */
  refuse(storeId: string): Promise<void> {
    return this.control({ command: 'addRoleACL', rolename: ANON_ROLE, acltype: 'publishClientSend', topic: topics.hqBatch(storeId), priority: 100, allow: false });
  }

  /** Lifts `refuse`. */
  accept(storeId: string): Promise<void> {
    return this.control({ command: 'removeRoleACL', rolename: ANON_ROLE, acltype: 'publishClientSend', topic: topics.hqBatch(storeId) });
  }

  /** One command at a time: Mosquitto 2.0 does not echo correlationData, so replies match by order and name. */
  private control(command: Record<string, unknown> & { command: string }): Promise<void> {
    const run = this.controlQueue.then(() => this.controlNow(command));
    this.controlQueue = run.catch(() => {});
    return run;
  }

  private async controlNow(command: Record<string, unknown> & { command: string }): Promise<void> {
    const admin = this.admin();
    if (!admin) throw new Error('hqSim: refuse/accept need opts.admin (see hqBrokerSecurity)');
    const correlationData = `hqsim-${++this.controlSeq}`;
    const reply = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        admin.off('message', onMessage);
        reject(new Error(`hqSim: no dynamic-security reply to ${command.command} within ${CONTROL_TIMEOUT_MS} ms`));
      }, CONTROL_TIMEOUT_MS);
      const onMessage = (topic: string, payload: Buffer): void => {
        if (topic !== DYNSEC_RESPONSE) return;
        let body: { responses?: Array<{ command: string; error?: string; correlationData?: string }> };
        try {
          body = JSON.parse(payload.toString('utf8'));
        } catch {
          return;
        }
        const r = body.responses?.find((x) => (x.correlationData ?? correlationData) === correlationData && x.command === command.command);
        if (!r) return;
        clearTimeout(timer);
        admin.off('message', onMessage);
        if (r.error) reject(new Error(`hqSim: dynamic-security ${r.command} failed: ${r.error}`));
        else resolve();
      };
      admin.on('message', onMessage);
    });
    await admin.publishAsync(DYNSEC_TOPIC, JSON.stringify({ commands: [{ ...command, correlationData }] }), { qos: 1 });
    await reply;
  }
}

/**
 * Writes a dynamic-security config under `dir` in which anonymous clients (the gateway, the sim)
 * may publish and subscribe to anything, plus an admin who may change that at runtime. Pass
 * `extraConfig` to `startMosquitto` and `admin` to `new HqSim`.
 *
 * Started as root, Mosquitto drops to the `mosquitto` user, which must read the file and write its
 * replacement (the plugin saves every change): so `dir` gets o+x (traverse, not list) and the
 * config lives in a subfolder the broker may write. Use a temp folder of the test.
 */
export function hqBrokerSecurity(dir: string): { extraConfig: string; admin: { username: string; password: string } } {
  const admin = { username: 'hq-admin', password: randomBytes(12).toString('hex') };
  const salt = randomBytes(12);
  // dynamic-security stores PBKDF2-HMAC-SHA512 hashes (64 bytes) with their salt and iterations.
  const hash = pbkdf2Sync(admin.password, salt, 101, 64, 'sha512');
  chmodSync(dir, 0o711);
  const own = path.join(dir, 'dynsec');
  mkdirSync(own, { recursive: true });
  chmodSync(own, 0o777);
  const file = path.join(own, 'dynamic-security.json');
  const everything = [
    { acltype: 'publishClientSend', topic: '#', priority: 0, allow: true },
    { acltype: 'publishClientReceive', topic: '#', priority: 0, allow: true },
    { acltype: 'subscribePattern', topic: '#', priority: 0, allow: true },
    { acltype: 'unsubscribePattern', topic: '#', priority: 0, allow: true },
  ];
  const config = {
    defaultACLAccess: { publishClientSend: false, publishClientReceive: true, subscribe: false, unsubscribe: true },
    clients: [{ username: admin.username, password: hash.toString('base64'), salt: salt.toString('base64'), iterations: 101, roles: [{ rolename: 'hq-admin' }] }],
    groups: [{ groupname: 'anonymous', roles: [{ rolename: ANON_ROLE }] }],
    anonymousGroup: 'anonymous',
    roles: [
      {
        rolename: 'hq-admin',
        acls: [
          // `#` does not match `$CONTROL/…` [MQTT-4.7.2-1]: the control topics are granted by name.
          { acltype: 'publishClientSend', topic: `${DYNSEC_TOPIC}/#`, priority: 0, allow: true },
          { acltype: 'publishClientSend', topic: DYNSEC_TOPIC, priority: 0, allow: true },
          { acltype: 'publishClientReceive', topic: DYNSEC_RESPONSE, priority: 0, allow: true },
          { acltype: 'subscribePattern', topic: DYNSEC_RESPONSE, priority: 0, allow: true },
          ...everything,
        ],
      },
      { rolename: ANON_ROLE, acls: everything },
    ],
  };
  writeFileSync(file, JSON.stringify(config, null, 2));
  chmodSync(file, 0o666); // past the umask: the plugin rewrites it after every change
  return { extraConfig: `plugin ${DYNSEC_PLUGIN}\nplugin_opt_config_file ${file}`, admin };
}
