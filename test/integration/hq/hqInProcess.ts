/**
 * Runs a `storegw-hq` subcommand's `run(args, io)` in the test process, the way hq/main.ts
 * dispatches it, collecting what it writes. For test cases whose point is what a command decides,
 * not the process boundary: a Node start costs about a second of CPU, the call a few milliseconds.
 * Each file that uses this keeps at least one case on the real `dist/storegw-hq.js`. Not for
 * `ingest` or `import`: they load their SQL as text through the esbuild bundle (build.mjs).
 */
import type { HqCommand } from '../../../hq/main.js';

const COMMANDS: Record<string, () => Promise<HqCommand>> = {
  keys: async () => (await import('../../../hq/tools/keysCommand.js')).command,
  sign: async () => (await import('../../../hq/tools/signCommand.js')).command,
  publish: async () => (await import('../../../hq/tools/publishCommand.js')).command,
};

export interface HqResult {
  code: number;
  out: string;
  err: string;
}

export async function hqInProcess(name: string, args: string[]): Promise<HqResult> {
  const load = COMMANDS[name];
  if (!load) throw new Error(`hqInProcess: no command ${name}`);
  let out = '';
  let err = '';
  const code = await (await load()).run(args, { out: (s) => (out += s), err: (s) => (err += s), env: process.env });
  return { code, out, err };
}
