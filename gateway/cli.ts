/**
 * The `storegw` command line (a contract with scripts and operators, see the README): run, check-config, device add, outbox
 * stats|export, hash. Output goes to the streams passed in; exit codes: 0 ok, 1 failure, 2 bad
 * config or usage.
 */
import path from 'node:path';
import { mkdirSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfigFile, type Config } from './config.js';
import { DeviceStore } from './devices/store.js';
import { OutboxStore } from './outbox/store.js';
import { toBatchRecord } from './protocol/envelopes.js';
import { exportBatches } from './uplink/outboxExport.js';
import { createLogger } from './log.js';
import { demoSecretsIn } from './demoSecrets.js';
import { secretFileProblems } from './secretFiles.js';
import { isDeviceKind, isValidId, DEVICE_KINDS } from './protocol/topics.js';
import { DEVICE_SECRET_COST, PASSWORD_COST, hashSecret, newDeviceSecret } from './scryptHash.js';

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  env: Record<string, string | undefined>;
  readStdin: () => Promise<string>;
}

export const USAGE = `usage:
  storegw run --config FILE
  storegw check-config FILE
  storegw device add --config FILE --kind KIND --id ID [--location TEXT]
  storegw outbox stats --config FILE
  storegw outbox export --config FILE [--from SEQ]   (the rows as stored, for inspection)
  storegw outbox export --config FILE --batches      (for HQ's import: batches, each then awaits HQ's ack)
  storegw outbox dead-letters --config FILE   (JSON lines, oldest first)
  storegw hash [--device]            (reads the secret from stdin, prints its scrypt hash)
  storegw config-reference           (every setting, as the README's Markdown table)
`;

function loadOrReport(file: string | undefined, io: Io): Readonly<Config> | null {
  if (!file) {
    io.err('storegw: --config FILE is required\n' + USAGE);
    return null;
  }
  const res = loadConfigFile(file, io.env);
  if (!res.ok) {
    io.err(`storegw: ${file} has ${res.errors.length} error(s):\n${res.errors.map((e) => `  ${e}`).join('\n')}\n`);
    return null;
  }
  return res.config;
}

export async function checkConfig(file: string | undefined, io: Io): Promise<number> {
  if (!file) {
    io.err(USAGE);
    return 2;
  }
  const cfg = loadOrReport(file, io);
  if (!cfg) return 2;
  // The same refusal as `run`, so ExecStartPre stops a unit before it restarts in a loop.
  const demo = [...secretFileProblems(cfg, file, statSync), ...(cfg.demo ? [] : await demoSecretsIn(cfg))];
  if (demo.length > 0) {
    io.err(`storegw: ${file} has ${demo.length} error(s):\n${demo.map((e) => `  ${e}`).join('\n')}\n`);
    return 2;
  }
  io.out(`${file}: OK (store ${cfg.storeId}, ${cfg.devices.length} devices, ${cfg.opsUsers.length} ops users)\n`);
  return 0;
}

export async function deviceAdd(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' }, kind: { type: 'string' }, id: { type: 'string' }, location: { type: 'string' } }, strict: true });
  const cfg = loadOrReport(values.config, io);
  if (!cfg) return 2;
  if (!values.kind || !isDeviceKind(values.kind)) {
    io.err(`storegw: --kind: must be one of ${DEVICE_KINDS.join(', ')}\n`);
    return 2;
  }
  if (!values.id || !isValidId(values.id)) {
    io.err('storegw: --id: must be 1-64 characters of A-Z a-z 0-9 . _ : - (starting with a letter or digit)\n');
    return 2;
  }
  if (cfg.devices.some((d) => d.kind === values.kind && d.id === values.id)) {
    io.err(`storegw: ${values.kind}/${values.id} is declared in the config file; change its secretHash there\n`);
    return 1;
  }
  mkdirSync(cfg.data.dir, { recursive: true });
  const store = new DeviceStore(path.join(cfg.data.dir, 'state.db'));
  await store.start();
  try {
    const password = newDeviceSecret();
    const secretHash = await hashSecret(password, DEVICE_SECRET_COST);
    const added = await store.provision({ kind: values.kind, id: values.id, secretHash, location: values.location ?? null, disabled: false }, Date.now());
    if (!added) {
      io.err(`storegw: ${values.kind}/${values.id} is already provisioned\n`);
      return 1;
    }
    // The secret is shown once; only its hash is stored.
    io.out(JSON.stringify({ username: `${values.kind}/${values.id}`, password }) + '\n');
    return 0;
  } finally {
    await store.stop();
  }
}

async function withOutbox<T>(cfg: Readonly<Config>, fn: (o: OutboxStore) => Promise<T>): Promise<T> {
  // Read-only while the gateway runs: WAL lets a reader in beside the writer.
  const store = new OutboxStore(path.join(cfg.data.dir, 'outbox.db'), { readonly: true });
  await store.start();
  try {
    return await fn(store);
  } finally {
    await store.stop();
  }
}

export async function outbox(args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  const { values } = parseArgs({ args: rest, options: { config: { type: 'string' }, from: { type: 'string' }, batches: { type: 'boolean', default: false } }, strict: true });
  const cfg = loadOrReport(values.config, io);
  if (!cfg) return 2;
  if (sub === 'stats') {
    const stats = await withOutbox(cfg, (o) => o.stats());
    io.out(JSON.stringify(stats, null, 2) + '\n');
    return 0;
  }
  if (sub === 'export' && values.batches) {
    if (values.from !== undefined) {
      io.err('storegw: --from: does not go with --batches (the export holds everything HQ has not acknowledged)\n');
      return 2;
    }
    // Writes: it compacts and registers each batch as awaiting HQ's ack (WAL lets it in beside a running gateway).
    const file = path.join(cfg.data.dir, 'outbox.db');
    const store = new OutboxStore(file);
    await store.start();
    try {
      const sum = await exportBatches({ config: cfg, outbox: store, file, write: io.out, now: Date.now, log: createLogger({ level: 'silent' }) });
      io.err(`storegw: exported ${sum.batches} batch(es), ${sum.records} record(s)${sum.again ? ` (${sum.again} batch(es) already awaiting HQ's ack, written again)` : ''}${sum.oversize ? `; ${sum.oversize} record(s) too large for any batch stay in the outbox` : ''}\n`);
    } finally {
      await store.stop();
    }
    return 0;
  }
  if (sub === 'export') {
    let from = values.from === undefined ? 0 : Number(values.from);
    if (!Number.isInteger(from) || from < 0) {
      io.err('storegw: --from: must be a non-negative integer\n');
      return 2;
    }
    await withOutbox(cfg, async (o) => {
      for (;;) {
        const rows = await o.read(from, 5000);
        for (const r of rows) {
          io.out(JSON.stringify(toBatchRecord(r)) + '\n');
        }
        if (rows.length < 5000) break;
        from = rows[rows.length - 1].seq + 1;
      }
    });
    return 0;
  }
  if (sub === 'dead-letters') {
    await withOutbox(cfg, async (o) => {
      if (!o.dead.started) return; // no dead letter yet: the file does not exist
      for (let from = 0; ; ) {
        const rows = await o.dead.page(from, 5000);
        for (const r of rows) io.out(JSON.stringify(r) + '\n');
        if (rows.length < 5000) break;
        from = rows[rows.length - 1].id + 1;
      }
    });
    return 0;
  }
  io.err(USAGE);
  return 2;
}

export async function hash(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args, options: { device: { type: 'boolean', default: false } }, strict: true });
  const secret = (await io.readStdin()).replace(/\r?\n$/, '');
  if (secret.length === 0) {
    io.err('storegw hash: give the secret on stdin\n');
    return 2;
  }
  io.out((await hashSecret(secret, values.device ? DEVICE_SECRET_COST : PASSWORD_COST)) + '\n');
  return 0;
}
