/**
 * A serial transport closed by its owner while a write is in flight: the far end of the pty may
 * vanish at the same moment (Ctrl-C reaches socat and the bridge together), so the write fails with
 * EIO and serialport emits it as 'error' too. The owner stopped listening when it closed the port;
 * that late error must not become an uncaught exception that ends the bridge with exit code 1.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/tmp.js';
import { SerialTransport } from '../../../firmware-bridge/transports/serial.js';

const tmp = tempDir('sgw-serial-close-');
afterAll(() => tmp.remove());

describe('a serial transport closed while its pty goes away', () => {
  it('swallows the late write error after close(); the write itself still rejects', async () => {
    const host = path.join(tmp.dir, 'host');
    const proc = spawn('/usr/bin/socat', ['-d', '-d', `pty,raw,echo=0,link=${host}`, `pty,raw,echo=0,link=${host}.sim`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    await new Promise<void>((resolve, reject) => {
      proc.stderr!.on('data', (d: Buffer) => {
        log += d.toString();
        if (log.includes('starting data transfer loop')) resolve();
      });
      proc.once('exit', (code) => reject(new Error(`socat exited (${code}): ${log}`)));
    });
    const t = new SerialTransport({ path: host, baudRate: 9600, presenceCheckMs: 0 });
    await t.open();
    expect(t.isOpen).toBe(true);
    // The far end goes: socat killed, the pty pair is gone.
    const exited = once(proc, 'exit');
    proc.kill('SIGKILL');
    await exited;
    // No 'error' listener, as after a driver's stop(): a write in flight, then close().
    expect(t.listenerCount('error')).toBe(0);
    const write = t.write(Buffer.alloc(4096, 0x55)).then(
      () => 'written',
      (err: NodeJS.ErrnoException) => err.code ?? err.message,
    );
    await t.close();
    expect(await write).toMatch(/written|EIO|not open|closed/i);
    expect(t.isOpen).toBe(false);
    // An uncaught 'error' would have failed this file (vitest reports it) before this point.
    await new Promise((r) => setImmediate(r));
  });
});
