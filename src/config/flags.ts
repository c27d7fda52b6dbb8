/**
 * Parsing a command's arguments against the schema (src/config/schema.ts):
 * `--name value`, `--name=value`, `-x value`, booleans, repeatable flags and
 * `--` (everything after it is positional). A flag absent from argv takes
 * its environment variable. Every problem (an unknown flag, a missing value,
 * a value its check refuses) is collected and all are reported together in
 * one USAGE error (src/config/problems.ts), never Node's parseArgs text.
 */
import { GLOBAL, globalFlags, ownFlags, type FlagSpec, type FlagsOf } from './schema.js';
import { problemsError } from './problems.js';

/** What parseFlags gives command `C`: its flags by kind, typed from the schema (schema.ts FlagsOf). */
export type ParsedFlags<C extends string> = FlagsOf<C>;

interface Parse {
  readonly specs: readonly FlagSpec[];
  readonly out: { positionals: string[]; values: Record<string, string>; lists: Record<string, string[]>; switches: Record<string, boolean> };
  readonly problems: string[];
}

const isFlag = (token: string) => token.startsWith('-') && token !== '-';

/**
 * The flags of `command` in `argv` (global flags are main.ts's, taken out
 * before), each absent one from its variable in `env`. A command taking no
 * arguments says `{ positionals: false }`.
 */
export function parseFlags<const C extends string>(command: C, argv: readonly string[], env: NodeJS.ProcessEnv = {}, opts: { positionals?: false } = {}): ParsedFlags<C> {
  const p = newParse(ownFlags(command));
  scan(p, argv, (token) => void (isFlag(token) ? p.problems.push(`unknown flag ${token.split('=')[0]} for ebak ${command}`) : p.out.positionals.push(token)), true);
  if (opts.positionals === false && p.out.positionals.length > 0) p.problems.push(`ebak ${command} takes no argument ${JSON.stringify(p.out.positionals[0])}`);
  fromEnvironment(p, env);
  if (p.problems.length > 0) throw problemsError(p.problems, `run \`ebak ${command} --help\``);
  return p.out as ParsedFlags<C>;
}

/**
 * The global flags in `argv`, wherever they stand (before `--`); every other
 * token is left, in order, in `rest` for the command. Problems are thrown.
 */
export function parseGlobals(argv: readonly string[]): ParsedFlags<typeof GLOBAL> & { rest: string[] } {
  const p = newParse(globalFlags());
  const rest: string[] = [];
  scan(p, argv, (token) => void rest.push(token), false);
  if (p.problems.length > 0) throw problemsError(p.problems, 'run `ebak --help`');
  return { ...(p.out as ParsedFlags<typeof GLOBAL>), rest };
}

function newParse(specs: readonly FlagSpec[]): Parse {
  return { specs, out: { positionals: [], values: {}, lists: {}, switches: {} }, problems: [] };
}

/**
 * Walks argv: each flag of `p.specs` is stored, every other token goes to
 * `other`. After `--` nothing is a flag: the tokens are positional (or, when
 * `consumeDashes` is false, passed on with the `--`).
 */
function scan(p: Parse, argv: readonly string[], other: (token: string) => void, consumeDashes: boolean): void {
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--') {
      if (consumeDashes) p.out.positionals.push(...argv.slice(i + 1));
      else argv.slice(i).forEach(other);
      return;
    }
    const eq = token.startsWith('--') ? token.indexOf('=') : -1;
    const name = eq > 0 ? token.slice(0, eq) : token;
    const spec = isFlag(token) ? p.specs.find((f) => `--${f.name}` === name || (f.short !== undefined && `-${f.short}` === name)) : undefined;
    if (spec === undefined) other(token);
    else take(p, spec, name, eq > 0 ? token.slice(eq + 1) : undefined, () => argv[++i]);
  }
}

function take(p: Parse, spec: FlagSpec, given: string, inline: string | undefined, next: () => string | undefined): void {
  if (spec.type === 'boolean') {
    if (inline !== undefined) p.problems.push(`${given} takes no value`);
    else p.out.switches[spec.name] = true;
    return;
  }
  const value = inline ?? next();
  if (value === undefined) return void p.problems.push(`${given} needs a value`);
  const problem = spec.check?.(value);
  if (problem !== undefined) p.problems.push(problem);
  if (spec.multiple) (p.out.lists[spec.name] ??= []).push(value);
  else p.out.values[spec.name] = value;
}

/** Flags not given take their EBAK_* variable (a boolean is on when it is 1). */
function fromEnvironment(p: Parse, env: NodeJS.ProcessEnv): void {
  for (const spec of p.specs) {
    const value = spec.env === undefined ? undefined : env[spec.env];
    if (value === undefined) continue;
    if (spec.type === 'boolean') p.out.switches[spec.name] ||= value === '1';
    else p.out.values[spec.name] ??= value;
  }
}
