/** Bad HQ link config is refused at check-config time (parseConfig), each error naming its field. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../../../gateway/config.js';
import { HqConnection } from '../../../../gateway/hq/hqConnection.js';
import { tempDir } from '../../../helpers/tmp.js';

const tmp = tempDir('sgw-upcfg-');
afterAll(() => tmp.remove());
const ca = path.join(tmp.dir, 'ca.pem');
writeFileSync(ca, '-----BEGIN CERTIFICATE-----\n');
writeFileSync(path.join(tmp.dir, 'hq.pass'), 'secret\n');

function parse(hq: Record<string, unknown> | undefined, extra: Record<string, unknown> = {}) {
  return parseConfig(stringify({ storeId: 's1', data: { dir: 'data' }, ...(hq ? { hq } : {}), ...extra }), {}, tmp.dir);
}
function errors(hq: Record<string, unknown>, extra: Record<string, unknown> = {}): string[] {
  const r = parse(hq, extra);
  return r.ok ? [] : r.errors;
}

describe('hq config', () => {
  it('accepts a TLS link with a CA and a password file, resolving paths against the config folder', () => {
    const r = parse({ url: 'mqtts://hq.example.com:8883', username: 'store-s1', passwordFile: 'hq.pass', caFile: 'ca.pem' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.hq!.caFile).toBe(ca);
    expect(r.config.uplink.batchMaxRecords).toBe(5000);
    expect(r.config.hq).toMatchObject({ delivery: 'broker-puback', ackTimeoutMs: 60_000, maxUnackedBatches: 8 });
    expect(r.config.compaction.windowMs).toBe(300_000);
  });

  it('names the field of each mistake', () => {
    expect(errors({ url: 'http://hq.example.com' })).toEqual([expect.stringMatching(/^hq\.url: /)]);
    expect(errors({ url: 'mqtt://hq.example.com:99999' })).toEqual(['hq.url: is not a valid URL (mqtt://hq.example.com:99999)']);
    expect(errors({ url: 'mqtts://hq.example.com', caFile: 'missing-ca.pem' })).toEqual([expect.stringMatching(/^hq\.caFile: cannot read .*missing-ca\.pem \(ENOENT\)$/)]);
    expect(errors({ url: 'mqtts://hq.example.com', caFile: '.' })).toEqual([expect.stringMatching(/^hq\.caFile: .* is not a file$/)]);
    expect(errors({ url: 'mqtts://hq.example.com', certFile: 'ca.pem' })).toEqual(['hq.keyFile: is required with hq.certFile (client certificate)']);
    expect(errors({ url: 'mqtts://hq.example.com', certFile: 'ca.pem', keyFile: 'nokey.pem' })).toEqual([expect.stringMatching(/^hq\.keyFile: cannot read /)]);
    // An ingest ack is believed only when it verifies with one of HQ's keys.
    expect(errors({ url: 'mqtt://hq.example.com', delivery: 'ingest-ack' })).toEqual([expect.stringMatching(/^hq\.delivery: ingest-ack needs HQ's public keys/)]);
    expect(errors({ url: 'mqtt://hq.example.com', delivery: 'exactly-once' })).toEqual([expect.stringMatching(/hq\.delivery/)]);
    expect(errors({ url: 'mqtt://hq.example.com', caFile: 'ca.pem' })).toEqual(['hq.caFile: needs a TLS url (mqtts:// or wss://), hq.url is mqtt://hq.example.com']);
    expect(errors({ url: 'mqtt://hq.example.com', passwordFile: 'hq.pass' })).toEqual(['hq.username: is required with hq.passwordFile']);
    expect(errors({ url: 'mqtt://hq.example.com', compression: 'zip' })).toEqual([expect.stringMatching(/^hq\.compression: must be one of "gzip", "brotli"/)]);
  });

  it('names uplink and compaction fields too', () => {
    expect(errors({ url: 'mqtt://h' }, { compaction: { windowMs: 90_000 } })).toEqual(['compaction.windowMs: must be a multiple of compaction.aggregateBucketMs (60000)']);
    expect(errors({ url: 'mqtt://h' }, { uplink: { backoffInitialMs: 5000, backoffMaxMs: 1000 } })).toEqual(['uplink.backoffMaxMs: must be ≥ uplink.backoffInitialMs (5000)']);
    expect(parse(undefined, { uplink: { batchMaxRecords: 0 } }).ok).toBe(false);
  });

  it('a key file gone between check-config and start: start() fails naming the field', async () => {
    const r = parse({ url: 'mqtts://hq.example.com', caFile: 'ca.pem' });
    if (!r.ok) throw new Error(r.errors.join());
    const hq = { ...r.config.hq!, caFile: path.join(tmp.dir, 'gone.pem') };
    const connection = new HqConnection(hq);
    expect(() => connection.start()).toThrow(/^hq\.caFile: cannot read .*gone\.pem \(ENOENT\)/);
  });

  it('reads the password and CA once, into the options every HQ client shares', () => {
    const r = parse({ url: 'mqtts://hq.example.com', username: 'store-s1', passwordFile: 'hq.pass', caFile: 'ca.pem' });
    if (!r.ok) throw new Error(r.errors.join());
    const connection = new HqConnection(r.config.hq!);
    connection.start();
    const opts = connection.options({ clientId: 'c1', clean: false, reconnectPeriod: 1000, connectTimeout: 5000 });
    expect(opts).toMatchObject({ protocolVersion: 5, clientId: 'c1', clean: false, username: 'store-s1', password: 'secret', rejectUnauthorized: true });
    expect(opts.ca?.toString()).toBe('-----BEGIN CERTIFICATE-----\n');
  });
});
