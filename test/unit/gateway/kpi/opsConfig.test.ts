/** The `ops` config block: defaults, an IANA time zone checked at load, the example file. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { parseConfig } from '../../../../gateway/config.js';

const base = { storeId: 's', data: { dir: '/var/lib/storegw' }, devices: [] };

describe('ops config', () => {
  it('defaults to UTC and the live-page cadences', () => {
    const r = parseConfig(stringify(base), {});
    expect(r.ok && r.config.ops).toEqual({ timezone: 'UTC', healthEveryMs: 500, kpiFlushMs: 1000, kpiReportEveryMs: 60_000 });
  });

  it('takes an IANA zone and names a wrong one', () => {
    const ok = parseConfig(stringify({ ...base, ops: { timezone: 'Asia/Kolkata' } }), {});
    expect(ok.ok && ok.config.ops.timezone).toBe('Asia/Kolkata');
    const bad = parseConfig(stringify({ ...base, ops: { timezone: 'Mars/Base' } }), {});
    expect(bad.ok ? [] : bad.errors).toEqual(['ops.timezone: unknown time zone "Mars/Base" (an IANA name like Europe/Berlin)']);
  });

  it('is shown in config/example.yaml', () => {
    expect((parse(readFileSync('config/example.yaml', 'utf8')) as { ops: unknown }).ops).toEqual({ timezone: 'Europe/Berlin' });
  });
});
