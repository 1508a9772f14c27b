/**
 * Which files hold secrets, and whether their modes keep them to the service user. Pure policy over
 * `stat` results (the caller does the I/O), so the rule is tested without touching a disk.
 *
 * - Key and password files (`hq.passwordFile`, `hq.keyFile`, `mqtt.tls.keyFile`, `http.tls.keyFile`)
 *   are the service user's alone: 0600 or less; root-owned 0640 is accepted (root:storegw, the
 *   rule PostgreSQL applies to its TLS key), nothing for others.
 * - The config file holds scrypt hashes of every device secret, token and ops password: offline
 *   guessing of a weak password needs only a copy of it. Group-readable is fine (root:storegw 0640
 *   in /etc/storegw), readable by others or writable by anyone but its owner is refused (a writable
 *   config lets anyone put their own hash in). A `demo: true` config is exempt: it is published.
 */
import type { Config } from './config.js';

export interface FileStat {
  mode: number;
  uid: number;
}

/** The problem with a key/password file's mode, or null when only its user (or root-owned 0640) can read it. */
export function keyFileProblem(field: string, file: string, st: FileStat): string | null {
  const perm = st.mode & 0o777;
  const allowed = st.uid === 0 ? 0o037 : 0o077; // bits that must be clear
  if ((perm & allowed) === 0) return null;
  return `${field}: ${file} can be read or written by group/others (mode ${octal(perm)}); chmod 600 it (or 640 owned by root)`;
}

/** The problem with the config file's mode, or null. */
export function configFileProblem(file: string, st: FileStat): string | null {
  const perm = st.mode & 0o777;
  if ((perm & 0o026) === 0) return null;
  return `(config file) ${file}: holds password hashes and can be ${perm & 0o022 ? 'written by group/others' : 'read by others'} (mode ${octal(perm)}); chmod 640 it`;
}

/** Every `(field, absolute path)` of a config that holds a private key or a password. */
export function secretFilesOf(c: Readonly<Config>): [string, string][] {
  const files: [string, string | undefined][] = [
    ['hq.passwordFile', c.hq?.passwordFile],
    ['hq.keyFile', c.hq?.keyFile],
    ['mqtt.tls.keyFile', c.mqtt.tls?.keyFile],
    ['http.tls.keyFile', c.http.tls?.keyFile],
  ];
  return files.filter((f): f is [string, string] => f[1] !== undefined);
}

/** Every secrets-file problem of a loaded config (I/O through `stat`). */
export function secretFileProblems(c: Readonly<Config>, configFile: string, stat: (file: string) => FileStat): string[] {
  const problems: string[] = [];
  if (!c.demo) {
    const p = configFileProblem(configFile, stat(configFile));
    if (p) problems.push(p);
  }
  for (const [field, file] of secretFilesOf(c)) {
    const p = keyFileProblem(field, file, stat(file));
    if (p) problems.push(p);
  }
  return problems;
}

const octal = (perm: number) => `0${perm.toString(8).padStart(3, '0')}`;
