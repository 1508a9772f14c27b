/**
 * Topic contract v1 (protocol/README.md §Topics). Builders and one parser that returns a typed
 * result or a reason; every other module goes through here, never through string concatenation.
 */
export const DEVICE_KINDS = ['esl', 'scale', 'scanner', 'rfid', 'footfall', 'light', 'payment', 'kiosk', 'printer'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

export const DEVICE_ROOT = 'store/v1/dev';
export const HQ_ROOT = 'hq/v1';

/** Device ids and store ids: one topic level, no MQTT wildcards, no slashes, bounded length. */
export const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$';
const ID_RE = new RegExp(ID_PATTERN);
const TYPE_RE = /^[a-z][a-zA-Z0-9]{0,31}$/;

export function isDeviceKind(s: string): s is DeviceKind {
  return (DEVICE_KINDS as readonly string[]).includes(s);
}
export function isValidId(s: string): boolean {
  return ID_RE.test(s);
}

export type DeviceChannel = 'birth' | 'state' | 'evt' | 'cmd' | 'rej';

export type DeviceTopic =
  | { channel: 'birth' | 'state' | 'rej'; kind: DeviceKind; deviceId: string }
  | { channel: 'evt' | 'cmd'; kind: DeviceKind; deviceId: string; type: string };

export type TopicParse = { ok: true; topic: DeviceTopic } | { ok: false; reason: string };

export const topics = {
  deviceBase: (kind: DeviceKind, id: string) => `${DEVICE_ROOT}/${kind}/${id}`,
  birth: (kind: DeviceKind, id: string) => `${DEVICE_ROOT}/${kind}/${id}/birth`,
  state: (kind: DeviceKind, id: string) => `${DEVICE_ROOT}/${kind}/${id}/state`,
  evt: (kind: DeviceKind, id: string, type: string) => `${DEVICE_ROOT}/${kind}/${id}/evt/${type}`,
  cmd: (kind: DeviceKind, id: string, type: string) => `${DEVICE_ROOT}/${kind}/${id}/cmd/${type}`,
  rej: (kind: DeviceKind, id: string) => `${DEVICE_ROOT}/${kind}/${id}/rej`,
  hqBatch: (storeId: string) => `${HQ_ROOT}/store/${storeId}/batch`,
  hqStatus: (storeId: string) => `${HQ_ROOT}/store/${storeId}/status`,
  /** HQ's ingest → one store: signed acknowledgements of the batches it stored (schemas/ingestAck.ts). */
  hqAck: (storeId: string) => `${HQ_ROOT}/store/${storeId}/ack`,
  hqReport: (storeId: string, what: string) => `${HQ_ROOT}/store/${storeId}/report/${what}`,
  hqStoreFeed: (storeId: string, feed: string) => `${HQ_ROOT}/store/${storeId}/${feed}`,
  hqAllFeed: (feed: string) => `${HQ_ROOT}/all/${feed}`,
};

/** The MQTT username of a device is `{kind}/{id}` (protocol/README.md §Topics). */
export function deviceUsername(kind: DeviceKind, id: string): string {
  return `${kind}/${id}`;
}

export function parseDeviceUsername(username: string): { kind: DeviceKind; deviceId: string } | null {
  const slash = username.indexOf('/');
  if (slash < 0) return null;
  const kind = username.slice(0, slash);
  const deviceId = username.slice(slash + 1);
  if (!isDeviceKind(kind) || !isValidId(deviceId)) return null;
  return { kind, deviceId };
}

/** Parses `store/v1/dev/{kind}/{id}/{channel}[/{type}]`; the reason names the level that is wrong. */
export function parseDeviceTopic(topic: string): TopicParse {
  const parts = topic.split('/');
  if (parts.length < 6 || parts[0] !== 'store' || parts[1] !== 'v1' || parts[2] !== 'dev') {
    return { ok: false, reason: `topic: must look like ${DEVICE_ROOT}/{kind}/{id}/{birth|state|evt/{type}|cmd/{type}|rej}` };
  }
  const [, , , kind, deviceId, channel, type, ...extra] = parts;
  if (!isDeviceKind(kind)) return { ok: false, reason: `topic.kind: must be one of ${DEVICE_KINDS.join(', ')} (got "${kind}")` };
  if (!isValidId(deviceId)) return { ok: false, reason: `topic.deviceId: must match ${ID_PATTERN}` };
  if (extra.length > 0) return { ok: false, reason: 'topic: too many levels' };
  switch (channel) {
    case 'birth':
    case 'state':
    case 'rej':
      if (type !== undefined) return { ok: false, reason: `topic: ${channel} takes no further level` };
      return { ok: true, topic: { channel, kind, deviceId } };
    case 'evt':
    case 'cmd':
      if (type === undefined || !TYPE_RE.test(type)) return { ok: false, reason: `topic.type: must be a lowerCamel word after ${channel}/` };
      return { ok: true, topic: { channel, kind, deviceId, type } };
    default:
      return { ok: false, reason: `topic.channel: must be one of birth, state, evt, cmd, rej (got "${channel}")` };
  }
}

/** MQTT topic filter match ([MQTT-4.7.1]): `+` one level, `#` the rest (and the parent level). */
export function topicMatches(filter: string, topic: string): boolean {
  // [MQTT-4.7.2-1] a filter starting with a wildcard does not match topics starting with '$'.
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
