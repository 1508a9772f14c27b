/**
 * storegw-hq: HQ's side of the store contract, for a chain — the reference ingest and the tools an
 * HQ integration engineer runs (hq/README.md). One entry point with subcommands; each subcommand
 * lives in its own module and is loaded only when asked for. hq/ shares only gateway/protocol/ with
 * the rest of the repository: the wire contract is the one thing both sides must agree on.
 */
export interface HqIo {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
}

export interface HqCommand {
  summary: string;
  run: (args: string[], io: HqIo) => Promise<number>;
}

/** Subcommand name → its module. Add one line per subcommand. */
const COMMANDS: Record<string, () => Promise<HqCommand>> = {
  keys: async () => (await import('./tools/keysCommand.js')).command,
  sign: async () => (await import('./tools/signCommand.js')).command,
  publish: async () => (await import('./tools/publishCommand.js')).command,
  ingest: async () => (await import('./ingest/command.js')).default,
  import: async () => (await import('./import/importCommand.js')).command,
  chain: async () => (await import('./chain/chainCommand.js')).command,
};

const io: HqIo = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s), env: process.env };

async function usage(): Promise<string> {
  const lines = ['usage: storegw-hq <command> [options]', '', 'commands:'];
  for (const [name, load] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(10)} ${(await load()).summary}`);
  return lines.join('\n') + '\n';
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const load = name === undefined ? undefined : COMMANDS[name];
  if (!load) {
    io.err((name && name !== '--help' ? `storegw-hq: unknown command "${name}"\n` : '') + (await usage()));
    return name === '--help' ? 0 : 2;
  }
  return (await load()).run(rest, io);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`storegw-hq: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
