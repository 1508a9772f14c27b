/**
 * Broker policy as pure functions (aedes hooks call these): who may write and read which topic.
 * gateway/README.md §Trust: a device writes only its own evt/birth/state and reads only its own cmd/# and
 * rej; a bridge may act for the devices configured under it; service users get topic patterns,
 * like Mosquitto's ACL file. Whatever its patterns say, a service user never writes a device's
 * cmd/rej (only the gateway commands devices and tells them why), never retains on a device topic
 * and never writes a record type only the gateway writes (protocol/gatewayRecords.ts).
 */
import { isGatewayRecord } from '../protocol/gatewayRecords.js';
import { parseDeviceTopic, topicMatches, DEVICE_ROOT, type DeviceKind, type DeviceTopic } from '../protocol/topics.js';

export type Identity =
  | { type: 'device'; username: string; kind: DeviceKind; deviceId: string }
  | { type: 'bridge'; username: string; bridgeId: string; devices: ReadonlySet<string> }
  | { type: 'service'; username: string; read: readonly string[]; write: readonly string[] };

export type AclDecision = { ok: true } | { ok: false; reason: string };
/** A publish decision carries the parsed device topic, so the hot path parses a topic once. */
export type PublishDecision = { ok: true; topic: DeviceTopic | null } | { ok: false; reason: string; refused?: 'service_device_write' };

const DENY_SYS = { ok: false, reason: '$-topics are reserved for the broker' } as const;

function actsFor(id: Identity, kind: DeviceKind, deviceId: string): boolean {
  if (id.type === 'device') return id.kind === kind && id.deviceId === deviceId;
  if (id.type === 'bridge') return id.devices.has(`${kind}/${deviceId}`);
  return false;
}

const DEVICE_PREFIX = `${DEVICE_ROOT}/`;

/** Why no service user may write this device topic, whatever its write patterns say; null for a topic outside the device tree. */
function serviceOnDeviceTopic(username: string, topic: string, retain: boolean): string | null {
  if (!topic.startsWith(DEVICE_PREFIX)) return null;
  if (retain) return `service user ${username} may not retain on device topics`;
  const parsed = parseDeviceTopic(topic);
  if (!parsed.ok) return `service user ${username} may not write device topics (${parsed.reason})`;
  const t = parsed.topic;
  if (t.channel === 'cmd' || t.channel === 'rej') return `service user ${username} may not write device ${t.channel} topics`;
  if (t.channel === 'evt' && isGatewayRecord(t.kind, t.deviceId, t.type)) return `service user ${username} may not write ${t.kind} ${t.type} records: only the gateway writes them`;
  // Anything else under a device's topics would be a device speaking through someone else: it skips
  // ingest's validation and reaches in-process listeners (a forged payment result or scan at a kiosk).
  return `service user ${username} may not write device topics: only a device (or its bridge) speaks for it`;
}

export function canPublish(id: Identity, topic: string, retain = false): PublishDecision {
  if (topic.startsWith('$')) return DENY_SYS;
  if (id.type === 'service') {
    if (!id.write.some((p) => topicMatches(p, topic))) return { ok: false, reason: `service user ${id.username} may not write ${topic}` };
    const refused = serviceOnDeviceTopic(id.username, topic, retain);
    return refused ? { ok: false, reason: refused, refused: 'service_device_write' } : { ok: true, topic: null };
  }
  const parsed = parseDeviceTopic(topic);
  if (!parsed.ok) return { ok: false, reason: parsed.reason };
  const t = parsed.topic;
  if (!actsFor(id, t.kind, t.deviceId)) return { ok: false, reason: `${id.username} may not write under ${t.kind}/${t.deviceId}` };
  if (t.channel === 'cmd' || t.channel === 'rej') return { ok: false, reason: `${id.username} may not write ${t.channel} topics` };
  return { ok: true, topic: t };
}

/** True when every topic the filter can match is also matched by the pattern. */
export function filterCovered(filter: string, pattern: string): boolean {
  // [MQTT-4.7.2-1] a pattern starting with a wildcard never matches '$' topics.
  if (filter.startsWith('$') && (pattern.startsWith('+') || pattern.startsWith('#'))) return false;
  const f = filter.split('/');
  const p = pattern.split('/');
  for (let i = 0; i < f.length; i++) {
    if (p[i] === '#') return true;
    if (i >= p.length) return false;
    if (f[i] === '#') return false;
    if (p[i] === '+') continue;
    if (f[i] !== p[i]) return false;
  }
  return f.length === p.length;
}

export function canSubscribe(id: Identity, filter: string): AclDecision {
  if (filter.startsWith('$')) return DENY_SYS;
  if (id.type === 'service') {
    return id.read.some((p) => filterCovered(filter, p)) ? { ok: true } : { ok: false, reason: `service user ${id.username} may not read ${filter}` };
  }
  const parts = filter.split('/');
  // store/v1/dev/{kind}/{id}/cmd/{type|+|#} or …/rej, with the kind and id literal.
  if (parts.length >= 6 && `${parts[0]}/${parts[1]}/${parts[2]}` === DEVICE_ROOT) {
    const [, , , kind, deviceId, channel, type, ...rest] = parts;
    const literal = kind !== '+' && kind !== '#' && deviceId !== '+' && deviceId !== '#';
    if (literal && actsFor(id, kind as DeviceKind, deviceId) && rest.length === 0) {
      if (channel === 'rej' && type === undefined) return { ok: true };
      if (channel === 'cmd' && type !== undefined) return { ok: true };
    }
  }
  return { ok: false, reason: `${id.username} may only read its own cmd/# and rej (asked for ${filter})` };
}
