/**
 * CPU and memory of a process read from outside, from /proc (Linux): CPU time from
 * /proc/<pid>/stat (utime + stime of all its threads, in clock ticks) and RSS from
 * /proc/<pid>/status (VmRSS, and VmHWM = peak RSS).
 */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let ticksPerSecond = 100;
try {
  ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // getconf missing: Linux uses 100 Hz for USER_HZ on every common architecture
}

/** CPU seconds (user + system) the process used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces: split after its closing parenthesis.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime is field 14, stime field 15.
  const utime = Number(rest[14 - 3]);
  const stime = Number(rest[15 - 3]);
  return (utime + stime) / ticksPerSecond;
}

/** Resident set size and its peak, in bytes. */
/**
 * A process's memory from /proc/<pid>/status: resident set (anonymous: heaps, SQLite's page
 * caches; file-backed: the mapped binary and libraries), its peak, and its thread count (each
 * worker thread adds a V8 isolate and its heaps).
 */
export function memory(pid: number): { rss: number; peak: number; anon: number; file: number; threads: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) * 1024 : NaN;
  };
  const threads = /^Threads:\s+(\d+)/m.exec(status);
  return { rss: kb('VmRSS'), peak: kb('VmHWM'), anon: kb('RssAnon'), file: kb('RssFile'), threads: threads ? Number(threads[1]) : NaN };
}

/** CPU% of one core over a window: start() then stop() → percent (100 = one core busy). */
export class CpuWindow {
  private c0 = 0;
  private t0 = 0;
  constructor(private readonly pid: number) {}
  start(): void {
    this.c0 = cpuSeconds(this.pid);
    this.t0 = performance.now();
  }
  stop(): number {
    const dt = (performance.now() - this.t0) / 1000;
    return dt > 0 ? ((cpuSeconds(this.pid) - this.c0) / dt) * 100 : NaN;
  }
}

/** The same for this process (the load generator). */
export class SelfCpuWindow {
  private c0 = process.cpuUsage();
  private t0 = performance.now();
  start(): void {
    this.c0 = process.cpuUsage();
    this.t0 = performance.now();
  }
  stop(): number {
    const d = process.cpuUsage(this.c0);
    const dt = (performance.now() - this.t0) / 1000;
    return dt > 0 ? ((d.user + d.system) / 1e6 / dt) * 100 : NaN;
  }
}

/** CPU seconds the whole machine spent busy (all cores; /proc/stat: everything but idle and iowait). */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
  const busy = f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0);
  return busy / ticksPerSecond;
}

/**
 * CPU used by everything except the server and this process during a window (% of one core):
 * other programs on the box (tests, builds) that disturb the measurement.
 */
export class BackgroundCpuWindow {
  private m0 = 0;
  private s0 = 0;
  private self0 = process.cpuUsage();
  private t0 = 0;
  constructor(private readonly pid: number) {}
  start(): void {
    this.m0 = machineBusySeconds();
    this.s0 = cpuSeconds(this.pid);
    this.self0 = process.cpuUsage();
    this.t0 = performance.now();
  }
  stop(): number {
    const dt = (performance.now() - this.t0) / 1000;
    const self = process.cpuUsage(this.self0);
    const other = machineBusySeconds() - this.m0 - (cpuSeconds(this.pid) - this.s0) - (self.user + self.system) / 1e6;
    return dt > 0 ? Math.max(0, (other / dt) * 100) : NaN;
  }
}
