/**
 * The config checks a schema cannot express, run by `parseConfig` (config.ts) after ajv: duplicates
 * and references between sections (on any shape, so one schema error hides nothing), time zones
 * and address ranges, and the HQ link's files, resolved against the config file's folder and
 * required to be readable now rather than at the first connect attempt.
 */
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import path from 'node:path';
import { isIP } from 'node:net';
import type { Config } from './config.js';
import { addressListErrors } from './http/addressList.js';
import { exitGateErrors } from './items/exitGateConfig.js'; // exit gates
import { shelfErrors } from './items/shelfConfig.js'; // shelves

type Loose = Record<string, unknown>;
const listOf = (v: unknown): Loose[] => (Array.isArray(v) ? v.filter((x): x is Loose => typeof x === 'object' && x !== null) : []);

/** Checks a schema cannot express: duplicates and references between sections (on any shape). */
export function semanticErrors(obj: Loose): string[] {
  const c = {
    devices: listOf(obj.devices) as unknown as Config['devices'],
    bridges: listOf(obj.bridges) as unknown as Config['bridges'],
    opsUsers: listOf(obj.opsUsers) as unknown as Config['opsUsers'],
    kiosks: listOf(obj.kiosks) as unknown as Config['kiosks'],
  };
  const errors: string[] = [];
  const seen = new Map<string, number>();
  c.devices.forEach((d, i) => {
    if (typeof d.kind !== 'string' || typeof d.id !== 'string') return;
    const key = `${d.kind}/${d.id}`;
    if (seen.has(key)) errors.push(`devices[${i}].id: duplicates devices[${seen.get(key)}] (${key})`);
    else seen.set(key, i);
    if (!d.secretHash && !d.bridge) errors.push(`devices[${i}].secretHash: is required unless the device has a bridge`);
    if (d.bridge && !c.bridges.some((b) => b.id === d.bridge)) errors.push(`devices[${i}].bridge: no bridge "${d.bridge}" in bridges`);
  });
  const users = new Set<string>();
  c.opsUsers.forEach((u, i) => {
    if (users.has(u.username)) errors.push(`opsUsers[${i}].username: duplicate "${u.username}"`);
    users.add(u.username);
  });
  const tz = (obj.ops as { timezone?: unknown } | undefined)?.timezone;
  if (typeof tz === 'string' && !isTimeZone(tz)) errors.push(`ops.timezone: unknown time zone "${tz}" (an IANA name like Europe/Berlin)`); // ops
  errors.push(...addressListErrors((obj.http as { metrics?: { allow?: unknown } } | undefined)?.metrics?.allow, 'http.metrics.allow'));
  const kiosks = new Set<string>();
  c.kiosks.forEach((k, i) => {
    if (kiosks.has(k.id)) errors.push(`kiosks[${i}].id: duplicate "${k.id}"`);
    kiosks.add(k.id);
  });
  // The proxy list decides whose X-Forwarded-For is believed: a typo must not start as "trust nobody" silently.
  const proxies = (obj.http as { trustProxy?: unknown } | undefined)?.trustProxy;
  if (Array.isArray(proxies)) proxies.forEach((a, i) => typeof a === 'string' && !isAddressOrRange(a) && errors.push(`http.trustProxy[${i}]: "${a}" is not an IP address or CIDR range`));
  errors.push(...exitGateErrors(obj)); // exit gates
  errors.push(...shelfErrors(obj)); // shelves
  return errors;
}

const HQ_FILES = ['passwordFile', 'caFile', 'certFile', 'keyFile'] as const;

/** Uplink checks: resolves `hq.*File` against the config's folder, checks each is readable. */
export function uplinkErrors(c: Config, baseDir: string): string[] {
  const errors: string[] = [];
  if (c.uplink.backoffMaxMs < c.uplink.backoffInitialMs) errors.push(`uplink.backoffMaxMs: must be ≥ uplink.backoffInitialMs (${c.uplink.backoffInitialMs})`);
  if (c.compaction.windowMs % c.compaction.aggregateBucketMs !== 0) {
    errors.push(`compaction.windowMs: must be a multiple of compaction.aggregateBucketMs (${c.compaction.aggregateBucketMs})`);
  }
  const hq = c.hq;
  if (!hq) return errors;
  // The schema pattern checks the scheme; URL() also refuses a bad host or a port over 65535.
  if (!URL.canParse(hq.url)) errors.push(`hq.url: is not a valid URL (${hq.url})`);
  // An ack is only believed when it verifies with one of HQ's keys.
  if (hq.delivery === 'ingest-ack' && hq.publicKeys.length === 0) errors.push('hq.delivery: ingest-ack needs HQ\'s public keys in hq.publicKeys to verify the acknowledgements');
  for (const field of HQ_FILES) {
    const f = hq[field];
    if (f === undefined) continue;
    const abs = path.isAbsolute(f) ? f : path.resolve(baseDir, f);
    hq[field] = abs;
    try {
      accessSync(abs, fsConstants.R_OK);
      if (!statSync(abs).isFile()) errors.push(`hq.${field}: ${abs} is not a file`);
    } catch (err) {
      errors.push(`hq.${field}: cannot read ${abs} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  if ((hq.certFile === undefined) !== (hq.keyFile === undefined)) {
    errors.push(hq.certFile === undefined ? 'hq.certFile: is required with hq.keyFile (client certificate)' : 'hq.keyFile: is required with hq.certFile (client certificate)');
  }
  const tls = /^(mqtts|wss):/.test(hq.url);
  for (const field of ['caFile', 'certFile', 'keyFile'] as const) {
    if (hq[field] !== undefined && !tls) errors.push(`hq.${field}: needs a TLS url (mqtts:// or wss://), hq.url is ${hq.url}`);
  }
  if (hq.passwordFile !== undefined && hq.username === undefined) errors.push('hq.username: is required with hq.passwordFile');
  return errors;
}

/** An IPv4 or IPv6 address, or a CIDR range of one (http.trustProxy). */
function isAddressOrRange(s: string): boolean {
  const [addr, bits, extra] = s.split('/');
  const v = isIP(addr);
  if (v === 0 || extra !== undefined) return false;
  return bits === undefined || (/^[0-9]{1,3}$/.test(bits) && Number(bits) <= (v === 4 ? 32 : 128));
}

/** True for an IANA time zone this Node knows (ops.timezone). */
function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
