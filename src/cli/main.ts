/**
 * The ebak command line: parses global options, dispatches to a command,
 * and is the only place that prints errors and chooses the exit code.
 */
import { EbakError, isEbakError } from '../errors.js';
import type { Command, GlobalOptions } from './command.js';
import { attestationCommand } from './commands/attestation.js';
import { backupCommand } from './commands/backup.js';
import { catCommand } from './commands/cat.js';
import { checkCommand } from './commands/check.js';
import { diffCommand } from './commands/diff.js';
import { forgetCommand } from './commands/forget.js';
import { hsmCommand } from './commands/hsm.js';
import { initCommand } from './commands/init.js';
import { keyCommand } from './commands/key.js';
import { keyserviceCommand } from './commands/keyservice.js';
import { lsCommand } from './commands/ls.js';
import { repairCommand } from './commands/repair.js';
import { restoreCommand } from './commands/restore.js';
import { snapshotsCommand } from './commands/snapshots.js';
import { loginCommand } from './commands/login.js';
import { auditCommand, deviceCommand, vaultCommand } from './commands/vault.js';
import { exitCodeFor, exitHelp, EXIT_FATAL } from './exit.js';
import { TerminalOutput } from './output.js';
import { VERSION } from '../version.js';

const COMMANDS: Command[] = [initCommand, backupCommand, snapshotsCommand, lsCommand, diffCommand, restoreCommand, catCommand, checkCommand, forgetCommand, repairCommand, keyCommand, hsmCommand, attestationCommand, vaultCommand, loginCommand, deviceCommand, auditCommand, keyserviceCommand];

const GLOBAL_VALUE_FLAGS: Record<string, keyof GlobalOptions> = {
  '-r': 'repo',
  '--repo': 'repo',
  '--password-file': 'passwordFile',
  '--recovery-key-file': 'recoveryKeyFile',
};

/** Pulls global options out of argv wherever they appear; the rest goes to the command. */
export function splitGlobals(argv: string[]): { globals: GlobalOptions; json: boolean; help: boolean; rest: string[] } {
  const globals: Record<string, string> = {};
  const rest: string[] = [];
  let json = false;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    if (flag === '--json') json = true;
    else if (flag === '--help' || flag === '-h') help = true;
    else if (flag in GLOBAL_VALUE_FLAGS) {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new EbakError('USAGE', `${flag} needs a value`);
      globals[GLOBAL_VALUE_FLAGS[flag]!] = v;
    } else rest.push(a);
  }
  return { globals, json, help, rest };
}

function usage(): string {
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`);
  return [
    'usage: ebak [-r <repository>] [--json] <command> [options]    (ebak --version)',
    '',
    'commands:',
    ...lines,
    '',
    'environment: EBAK_REPOSITORY, EBAK_PASSWORD, EBAK_PASSWORD_FILE, EBAK_RECOVERY_KEY_FILE',
    ...exitHelp(),
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  // A reader that stops early (`ebak ls latest | head`) is not an error worth a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });
  let json = argv.includes('--json');
  try {
    const parsed = splitGlobals(argv);
    json = parsed.json;
    const [name, ...args] = parsed.rest;
    if (name === '--version' || name === 'version') {
      process.stdout.write(json ? `${JSON.stringify({ version: VERSION, node: process.version })}\n` : `ebak ${VERSION} (node ${process.version})\n`);
      return 0;
    }
    const cmd = COMMANDS.find((c) => c.name === name);
    if (!name || (parsed.help && !cmd)) {
      process.stdout.write(usage() + '\n');
      return name || parsed.help ? 0 : EXIT_FATAL;
    }
    if (!cmd) throw new EbakError('USAGE', `unknown command ${JSON.stringify(name)}`, { hint: 'run `ebak --help` for the list' });
    if (parsed.help) {
      process.stdout.write(`usage: ${cmd.usage}\n${cmd.summary}\n`);
      return 0;
    }
    const out = new TerminalOutput(json);
    try {
      return await cmd.run(args, { out, env: process.env, globals: parsed.globals });
    } finally {
      out.clearProgress();
    }
  } catch (e) {
    return report(e, json);
  }
}

function report(e: unknown, json: boolean): number {
  const err = isEbakError(e) ? e : toEbakError(e);
  if (json) process.stderr.write(JSON.stringify({ error: { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) } }) + '\n');
  else process.stderr.write(`ebak: ${err.message}\n${err.hint ? `hint: ${err.hint}\n` : ''}`);
  if (!isEbakError(e) && process.env.EBAK_DEBUG) process.stderr.write(`${(e as Error)?.stack}\n`);
  return exitCodeFor(err.code);
}

/** Node's own errors (parseArgs, an aborted AbortSignal, I/O) become one line too. */
function toEbakError(e: unknown): EbakError {
  const code = (e as { code?: string })?.code ?? '';
  if (code.startsWith('ERR_PARSE_ARGS')) return new EbakError('USAGE', (e as Error).message);
  if (code === 'ABORT_ERR' || (e as Error)?.name === 'AbortError') return new EbakError('CANCELLED', 'the operation was cancelled', { cause: e });
  return new EbakError('IO', `unexpected error: ${(e as Error)?.message ?? String(e)}`, { hint: 'set EBAK_DEBUG=1 for a stack trace and report it' });
}
