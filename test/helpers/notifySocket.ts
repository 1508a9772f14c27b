/**
 * A stand-in for systemd's notification socket: a unix datagram socket the test reads.
 * Node cannot bind one, so a small python3 program does, and prints each datagram as a JSON line.
 * Like PID 1 it closes every file descriptor a message carries: that is how `systemd-notify`'s
 * `BARRIER=1` learns that the messages before it were read (the tool waits for it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { tempDir } from './tmp.js';

const READER = String.raw`
import array, json, os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
print(json.dumps({"listening": sys.argv[1]}), flush=True)
while True:
    msg, anc, _flags, _addr = s.recvmsg(4096, socket.CMSG_SPACE(64 * 4) + socket.CMSG_SPACE(12))
    fds = []
    pid = None
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            a = array.array("i")
            a.frombytes(data[: len(data) - len(data) % a.itemsize])
            fds.extend(a)
        elif level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = int.from_bytes(data[0:4], sys.byteorder)
    for fd in fds:
        os.close(fd)
    print(json.dumps({"state": msg.decode("utf-8", "replace"), "fds": len(fds), "pid": pid, "at": time.time() * 1000}), flush=True)
`;

export interface Notification {
  /** One line of the datagram (a datagram may carry several `KEY=value` lines). */
  state: string;
  /** File descriptors the datagram carried (BARRIER=1 carries one). */
  fds: number;
  /** The sender's PID from SCM_CREDENTIALS. */
  pid: number | null;
  /** When the socket's reader took it (ms since the epoch), as systemd would time it. */
  atMs: number;
}

export interface NotifySocket {
  /** The path to put in NOTIFY_SOCKET. */
  path: string;
  received: Notification[];
  /** Resolves with the n-th (1-based) notification whose state equals `state`. */
  nth(state: string, n: number): Promise<Notification>;
  close(): void;
}

export async function openNotifySocket(): Promise<NotifySocket> {
  const tmp = tempDir('sgw-notify-');
  const sock = path.join(tmp.dir, 'notify.sock');
  const proc: ChildProcess = spawn('python3', ['-c', READER, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  const received: Notification[] = [];
  const waiters = new Set<() => void>();
  let buf = '';
  let listening: () => void = () => undefined;
  const up = new Promise<void>((resolve, reject) => {
    listening = resolve;
    proc.once('exit', (code) => reject(new Error(`notify socket reader exited with ${code}`)));
  });
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const j = JSON.parse(buf.slice(0, nl)) as { listening?: string; state?: string; fds?: number; pid?: number | null; at?: number };
      buf = buf.slice(nl + 1);
      if (j.listening) listening();
      else for (const state of j.state!.split('\n').filter(Boolean)) received.push({ state, fds: j.fds ?? 0, pid: j.pid ?? null, atMs: j.at ?? Date.now() });
    }
    for (const w of [...waiters]) w();
  });
  await up;
  return {
    path: sock,
    received,
    nth: (state, n) =>
      new Promise((resolve) => {
        const w = () => {
          const hit = received.filter((r) => r.state === state)[n - 1];
          if (!hit) return;
          waiters.delete(w);
          resolve(hit);
        };
        waiters.add(w);
        w();
      }),
    close: () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      tmp.remove();
    },
  };
}
