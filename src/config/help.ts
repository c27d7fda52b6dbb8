/**
 * Help text generated from the schema (src/config/schema.ts): `ebak help`
 * lists the commands, the global flags, every environment variable and the
 * exit codes; `ebak help <command>` (or `ebak <command> --help`) adds every
 * flag of the command with its variable and default. The exit-code lines
 * come from the caller (src/cli/exit.ts owns that table).
 */
import { globalFlags, ownFlags, VARIABLES, type FlagSpec } from './schema.js';

export interface HelpCommand {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
}

const WIDTH = 36;

function flagLine(f: FlagSpec): string {
  const names = `${f.short ? `-${f.short}, ` : '    '}--${f.name}${f.arg ? ` <${f.arg}>` : ''}`;
  const notes = [f.multiple ? 'repeatable' : '', f.env ? `env ${f.env}${f.type === 'boolean' ? '=1' : ''}` : '', f.default ? `default: ${f.default}` : ''].filter((n) => n !== '');
  return `  ${names.padEnd(WIDTH - 2)} ${f.help}${notes.length ? ` (${notes.join('; ')})` : ''}`;
}

function variableLines(): string[] {
  return VARIABLES.map((v) => {
    const notes = [v.flag ? `or ${v.flag}` : '', v.default ? `default: ${v.default}` : ''].filter((n) => n !== '');
    return `  ${v.name.padEnd(WIDTH - 2)} ${v.help}${notes.length ? ` (${notes.join('; ')})` : ''}`;
  });
}

/** `ebak help`: commands, global flags, environment, exit codes. */
export function mainHelp(commands: readonly Pick<HelpCommand, 'name' | 'summary'>[], exitLines: readonly string[]): string {
  return [
    'usage: ebak [-r <repository>] [--json] <command> [options]    (ebak --version)',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`),
    '',
    'global options (before or after the command):',
    ...globalFlags().map(flagLine),
    '',
    'environment:',
    ...variableLines(),
    '',
    ...exitLines,
    '',
    'run `ebak help <command>` (or `ebak <command> --help`) for the flags of a command',
  ].join('\n');
}

/** `ebak help <command>`: its usage, every flag it takes, the global flags and the exit codes. */
export function commandHelp(command: HelpCommand, exitLines: readonly string[]): string {
  const own = ownFlags(command.name);
  return [
    `usage: ${command.usage}`,
    command.summary,
    '',
    ...(own.length ? ['options:', ...own.map(flagLine), ''] : []),
    'global options:',
    ...globalFlags().map(flagLine),
    '',
    ...exitLines,
  ].join('\n');
}
