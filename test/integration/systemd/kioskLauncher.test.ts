/**
 * The kiosk browser's launcher, run as the unit runs it (`/bin/sh … BROWSER ARGS`), with a
 * stand-in browser that prints its arguments: the browser gets a private file:// page and no token;
 * the page sends it on to the checkout page as #k=…&t=…, each byte encoded so the page reads the
 * exact value back. The real browser path is test/e2e/kioskLaunch.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/tmp.js';

const LAUNCHER = path.resolve('systemd/storegw-kiosk-launch.sh');
const tmp = tempDir('sgw-kiosk-launch-');
afterAll(() => tmp.remove());

/** Runs the launcher with `printf` as the browser: one argument a line. */
function launch(env: Record<string, string>): { status: number | null; args: string[]; stderr: string } {
  const r = spawnSync('/bin/sh', [LAUNCHER, 'printf', '%s\\n', '--kiosk', '--no-first-run'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', RUNTIME_DIRECTORY: tmp.dir, ...env },
    encoding: 'utf8',
  });
  return { status: r.status, args: r.stdout.split('\n').filter(Boolean), stderr: r.stderr };
}

/** The address the launch page sends the browser to. */
function target(page: string): string {
  const m = /location\.replace\("([^"]*)"\)/.exec(readFileSync(page, 'utf8'));
  if (!m) throw new Error(`no location.replace in ${page}`);
  return m[1];
}

describe('storegw-kiosk-launch.sh', () => {
  it('opens a private launch page on file://: the token is on no command line, the page carries it to the checkout page', () => {
    const token = 'tok+en&t=x#%"</script> 令';
    const r = launch({ KIOSK_ID: 'k1', KIOSK_TOKEN: token, KIOSK_URL: 'http://127.0.0.1:8080/kiosk/' });
    expect(r.status).toBe(0);
    expect(r.args.slice(0, 2)).toEqual(['--kiosk', '--no-first-run']);
    expect(r.args).toHaveLength(3);
    const page = fileURLToPath(r.args[2]);
    expect(page).toBe(path.join(tmp.dir, 'kiosk-open.html'));
    expect(r.args.join(' ')).not.toContain('tok');
    // Only the kiosk user may read it.
    expect(statSync(page).mode & 0o777).toBe(0o600);
    const url = new URL(target(page));
    expect(url.origin + url.pathname).toBe('http://127.0.0.1:8080/kiosk/');
    const frag = new URLSearchParams(url.hash.slice(1));
    expect({ k: frag.get('k'), t: frag.get('t') }).toEqual({ k: 'k1', t: token });
    // Nothing of the token can close the script string or the element it sits in.
    expect(readFileSync(page, 'utf8')).not.toMatch(/<\/script> |令|"<|&t=x/);
    expect(r.stderr).toBe('');
  });

  it('uses the gateway on this box by default, and keeps an https address of another box', () => {
    const r = launch({ KIOSK_ID: 'k-2.a', KIOSK_TOKEN: 'abc' });
    expect(r.status).toBe(0);
    expect(target(fileURLToPath(r.args[2]))).toBe('http://127.0.0.1:8080/kiosk/#k=%6b%2d%32%2e%61&t=%61%62%63');
    const r2 = launch({ KIOSK_ID: 'k3', KIOSK_TOKEN: 'abc', KIOSK_URL: 'https://gw.store.lan/kiosk/' });
    expect(new URL(target(fileURLToPath(r2.args[2]))).origin).toBe('https://gw.store.lan');
  });

  it('without an id and token opens the page as it is and says which file to fill in', () => {
    const r = launch({ KIOSK_ID: 'k1' });
    expect(r.status).toBe(0);
    expect(target(fileURLToPath(r.args[2]))).toBe('http://127.0.0.1:8080/kiosk/');
    expect(r.stderr).toMatch(/KIOSK_ID and KIOSK_TOKEN .*\/etc\/storegw\/kiosk\.env/);
  });

  it('refuses a malformed id or page address with exit 2, naming the variable, and starts no browser', () => {
    for (const [env, field] of [
      [{ KIOSK_ID: 'k 1', KIOSK_TOKEN: 'x' }, 'KIOSK_ID'],
      [{ KIOSK_ID: '-k1', KIOSK_TOKEN: 'x' }, 'KIOSK_ID'],
      [{ KIOSK_ID: 'k1', KIOSK_TOKEN: 'x', KIOSK_URL: 'http://gw/kiosk/#k=other' }, 'KIOSK_URL'],
      [{ KIOSK_ID: 'k1', KIOSK_TOKEN: 'x', KIOSK_URL: 'javascript:alert(1)' }, 'KIOSK_URL'],
      [{ KIOSK_ID: 'k1', KIOSK_TOKEN: 'x', KIOSK_URL: 'http://gw/");alert(1);("' }, 'KIOSK_URL'],
      [{ KIOSK_ID: 'k1', KIOSK_TOKEN: 'two\nlines' }, 'KIOSK_TOKEN'],
    ] as const) {
      const r = launch(env);
      expect({ status: r.status, args: r.args }, JSON.stringify(env)).toEqual({ status: 2, args: [] });
      expect(r.stderr).toMatch(new RegExp(`^storegw-kiosk-launch: ${field}: `));
    }
  });

  it('does not hand the token to the browser in its environment either', () => {
    const r = spawnSync('/bin/sh', [LAUNCHER, '/bin/sh', '-c', 'env'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', RUNTIME_DIRECTORY: tmp.dir, KIOSK_ID: 'k1', KIOSK_TOKEN: 'secret-token-1' },
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('RUNTIME_DIRECTORY=');
    expect(r.stdout).not.toMatch(/KIOSK_|secret-token-1/);
  });
});
