import { describe, expect, it } from 'vitest';
import { HashGate } from '../../../../gateway/http/hashGate.js';
import { GuessPolicy, DEFAULT_GUESS_LIMITS } from '../../../../gateway/http/guessPolicy.js';
import { originRefusal } from '../../../../gateway/http/originCheck.js';

describe('HashGate', () => {
  it('runs at most `concurrent` at once, queues `queued`, refuses the rest', async () => {
    const gate = new HashGate({ concurrent: 2, queued: 3 });
    let running = 0;
    let peak = 0;
    const releases: (() => void)[] = [];
    const job = () =>
      new Promise<number>((resolve) => {
        running++;
        peak = Math.max(peak, running);
        releases.push(() => {
          running--;
          resolve(1);
        });
      });
    const all = Array.from({ length: 10 }, () => gate.run(job));
    const settled = await Promise.race([Promise.all(all.slice(5)), new Promise((r) => setTimeout(r, 50, 'pending'))]);
    expect(settled).toEqual(Array(5).fill({ busy: true }));
    while (releases.length > 0 || running > 0) {
      releases.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    expect((await Promise.all(all.slice(0, 5))).every((r) => !r.busy)).toBe(true);
    expect(peak).toBe(2);
    expect(gate.active).toBe(0);
  });

  it('refuses bad options naming them', () => {
    expect(() => new HashGate({ concurrent: 0, queued: 1 })).toThrow(/concurrent/);
  });
});

describe('GuessPolicy', () => {
  it('charges before the hash: the sixth parallel attempt of one pair waits', () => {
    const p = new GuessPolicy();
    const r = Array.from({ length: 6 }, () => p.admit('admin', '10.0.0.9', 0));
    expect(r.slice(0, 5).every((x) => x.ok)).toBe(true);
    expect(r[5]).toMatchObject({ ok: false, why: 'pair', retryAfterS: DEFAULT_GUESS_LIMITS.pairBaseDelayS });
  });

  it('slows down, never locks: the wait doubles and is capped', () => {
    const p = new GuessPolicy();
    let t = 0;
    const waits: number[] = [];
    for (let i = 0; i < 12; i++) {
      let a = p.admit('admin', '10.0.0.9', t);
      if (!a.ok) {
        waits.push(a.retryAfterS);
        t += a.retryAfterS * 1000;
        a = p.admit('admin', '10.0.0.9', t);
      }
      expect(a.ok || a.why !== 'pair').toBe(true);
      t += 1;
    }
    expect(waits.slice(0, 4)).toEqual([30, 60, 120, 240]);
    expect(Math.max(...waits)).toBeLessThanOrEqual(DEFAULT_GUESS_LIMITS.pairMaxDelayS);
  });

  it('a success clears the pair and makes the address known-good past the per-user limit', () => {
    const p = new GuessPolicy();
    const ok = p.admit('admin', 'desk', 0);
    if (ok.ok) p.succeeded(ok.ticket, 0);
    for (let i = 0; i < DEFAULT_GUESS_LIMITS.userFailures; i++) expect(p.admit('admin', `10.1.0.${i}`, 1).ok).toBe(true);
    expect(p.admit('admin', 'elsewhere', 2)).toMatchObject({ ok: false, why: 'user' });
    expect(p.admit('admin', 'desk', 2).ok).toBe(true);
    expect(p.admit('admin', 'elsewhere', 2 + DEFAULT_GUESS_LIMITS.userWindowMs).ok).toBe(true);
  });

  it('keeps its maps bounded', () => {
    const p = new GuessPolicy({ ...DEFAULT_GUESS_LIMITS, maxKeys: 100 });
    for (let i = 0; i < 10_000; i++) p.admit(`u${i}`, `a${i}`, 0);
    const sizes = Object.values(p as unknown as Record<string, Map<string, unknown>>).filter((v) => v instanceof Map).map((m) => m.size);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(100);
  });
});

describe('originRefusal', () => {
  const f = { method: 'POST', origin: undefined as string | undefined, fetchSite: undefined as string | undefined, protocol: 'http', host: '192.168.1.2:8080', upgrade: false };
  const none = new Set<string>();
  it('allows its own origin (default ports folded), refuses another port on the same host', () => {
    expect(originRefusal({ ...f, origin: 'http://192.168.1.2:8080' }, none)).toBeNull();
    expect(originRefusal({ ...f, origin: 'https://gw', protocol: 'https', host: 'gw:443' }, none)).toBeNull();
    expect(originRefusal({ ...f, origin: 'http://192.168.1.2:8081' }, none)).toMatch(/not this page's origin/);
    expect(originRefusal({ ...f, origin: 'https://192.168.1.2:8080' }, none)).not.toBeNull();
  });
  it('lets GET through, and a request without Origin unless fetch metadata says cross-site', () => {
    expect(originRefusal({ ...f, method: 'GET', origin: 'http://evil' }, none)).toBeNull();
    expect(originRefusal({ ...f, method: 'GET', origin: 'http://evil', upgrade: true }, none)).not.toBeNull();
    expect(originRefusal(f, none)).toBeNull();
    expect(originRefusal({ ...f, fetchSite: 'cross-site' }, none)).not.toBeNull();
    expect(originRefusal({ ...f, origin: 'null' }, none)).toMatch(/not a web origin/);
  });
});

describe('http.trustProxy in the config', () => {
  it('accepts addresses and CIDR ranges, refuses anything else naming the entry', async () => {
    const { parseConfig } = await import('../../../../gateway/config.js');
    const base = 'storeId: s1\ndata: { dir: /tmp/x }\n';
    expect(parseConfig(base + 'http: { trustProxy: ["10.0.0.1", "192.168.0.0/16", "::1", "fd00::/8"] }\n').ok).toBe(true);
    const bad = parseConfig(base + 'http: { trustProxy: ["10.0.0.1", "999.1.1.1", "10.0.0.0/33"] }\n');
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.errors).toContain('http.trustProxy[1]: "999.1.1.1" is not an IP address or CIDR range');
      expect(bad.errors).toContain('http.trustProxy[2]: "10.0.0.0/33" is not an IP address or CIDR range');
    }
  });
});
