/**
 * The ebak command line: parses global options (src/config), dispatches to a
 * command, prints the help generated from the schema, and is the only place
 * that prints errors and chooses the exit code.
 */
import { EbakError, isEbakError } from '../errors.js';
import type { GlobalOptions } from './command.js';
import { exitCodeFor, exitHelp, EXIT_FATAL } from './exit.js';
import { handleInterrupts } from './interrupt.js';
import { TerminalOutput } from './output.js';
import { COMMAND_SUMMARIES, loadCommand } from './registry.js';
import { commandHelp, environment, mainHelp, parseGlobals, writingEnvironment } from '../config/index.js';
import { VERSION } from '../version.js';

/** The global flags (src/config/schema.ts) wherever they stand; the rest goes to the command. */
export function splitGlobals(argv: string[]): { globals: GlobalOptions; json: boolean; help: boolean; rest: string[] } {
  const { values, switches, rest } = parseGlobals(argv);
  const globals = {
    repo: values.repo, repositoryFile: values['repository-file'],
    passwordFile: values['password-file'], passwordCommand: values['password-command'], recoveryKeyFile: values['recovery-key-file'],
    cacheDir: values['cache-dir'], noCache: switches['no-cache'] === true, retryLock: values['retry-lock'], noLock: switches['no-lock'] === true,
    limitUpload: values['limit-upload'], limitDownload: values['limit-download'],
    compression: values.compression, packSize: values['pack-size'],
    quiet: switches.quiet === true, verbose: switches.verbose === true,
  };
  return { globals, json: switches.json === true, help: switches.help === true, rest };
}

export async function main(argv: string[]): Promise<number> {
  // A reader that stops early (`ebak ls latest | head`) is not an error worth a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });
  handleInterrupts();
  let json = argv.includes('--json');
  try {
    const parsed = splitGlobals(argv);
    json = parsed.json;
    const [name, ...args] = parsed.rest;
    if (name === '--version' || name === 'version') {
      process.stdout.write(json ? `${JSON.stringify({ version: VERSION, node: process.version })}\n` : `ebak ${VERSION} (node ${process.version})\n`);
      return 0;
    }
    if (name === 'help') return await help(args[0]);
    if (name?.startsWith('-')) throw new EbakError('USAGE', `unknown flag ${name.split('=')[0]}`, { hint: 'run `ebak --help`' });
    const cmd = name === undefined ? undefined : await loadCommand(name);
    if (!name || (parsed.help && !cmd)) {
      process.stdout.write(mainHelp(COMMAND_SUMMARIES, exitHelp()) + '\n');
      return name || parsed.help ? 0 : EXIT_FATAL;
    }
    if (!cmd) throw unknownCommand(name);
    if (parsed.help) return await help(cmd.name);
    const out = new TerminalOutput(json, parsed.globals);
    if (environment(process.env).testFastKdf) (await import('../repository/format/keyfile.js')).useTestKdfCost();
    try {
      return await cmd.run(args, { out, env: process.env, globals: withVariables(parsed.globals, process.env) });
    } finally {
      out.clearProgress();
    }
  } catch (e) {
    return report(e, json);
  }
}

/** The global flags not given, from their variables (EBAK_COMPRESSION, EBAK_PACK_SIZE); the others are read where they are used. */
function withVariables(globals: GlobalOptions, env: NodeJS.ProcessEnv): GlobalOptions {
  const w = writingEnvironment(env);
  return { ...globals, compression: globals.compression ?? w.compression, packSize: globals.packSize ?? w.packSize };
}

/** `ebak help [<command>]`: generated from the schema (src/config/help.ts). */
async function help(name: string | undefined): Promise<number> {
  const cmd = name === undefined ? undefined : await loadCommand(name);
  if (name !== undefined && !cmd) throw unknownCommand(name);
  process.stdout.write(`${cmd ? commandHelp(cmd, exitHelp()) : mainHelp(COMMAND_SUMMARIES, exitHelp())}\n`);
  return 0;
}

const unknownCommand = (name: string) => new EbakError('USAGE', `unknown command ${JSON.stringify(name)}`, { hint: 'run `ebak --help` for the list' });

function report(e: unknown, json: boolean): number {
  const err = isEbakError(e) ? e : toEbakError(e);
  if (json) process.stderr.write(JSON.stringify({ error: { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) } }) + '\n');
  else process.stderr.write(`ebak: ${err.message}\n${err.hint ? `hint: ${err.hint}\n` : ''}`);
  if (!isEbakError(e) && environment(process.env).debug) process.stderr.write(`${(e as Error)?.stack}\n`);
  return exitCodeFor(err.code);
}

/** Node's own errors (an aborted AbortSignal, I/O) become one line too. */
function toEbakError(e: unknown): EbakError {
  const code = (e as { code?: string })?.code ?? '';
  if (code === 'ABORT_ERR' || (e as Error)?.name === 'AbortError') return new EbakError('CANCELLED', 'the operation was cancelled', { cause: e });
  return new EbakError('IO', `unexpected error: ${(e as Error)?.message ?? String(e)}`, { hint: 'set EBAK_DEBUG=1 for a stack trace and report it' });
}
