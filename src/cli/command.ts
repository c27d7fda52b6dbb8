/**
 * The shape of a CLI command. `src/cli/main.ts` parses global flags, finds the
 * command by name and calls `run`; commands parse their own arguments against
 * the one option schema (defineCommand below calls src/config's parseFlags,
 * which also fills a flag from its environment variable), do their work through library functions, and report
 * through `ctx.out`. Commands throw EbakError; only main.ts prints errors and
 * sets the exit code (src/cli/exit.ts).
 */
import { parseFlags, type ParsedFlags } from '../config/index.js';

export interface Output {
  /** True when the user asked for --json: print one JSON document, no prose. */
  readonly json: boolean;
  /** --quiet: no progress and no informational lines (results, warnings and errors stay). */
  readonly quiet: boolean;
  /** --verbose: the commands that have more detail print it (detail()). */
  readonly verbose: boolean;
  /** Human-readable line on stdout (suppressed under --json): the command's result as prose; bytes are written as they are (a name that is not UTF-8). */
  line(text: string | Uint8Array): void;
  /** Informational line on stdout (suppressed under --json and --quiet). */
  info(text: string): void;
  /** Detail line on stdout, only under --verbose (suppressed under --json). */
  detail(text: string): void;
  /** The command's machine-readable result (printed as JSON under --json). */
  result(value: unknown): void;
  /** One line of a streamed result (NDJSON, as restic's `ls --json`): compact JSON under --json. */
  record(value: unknown): void;
  /** Under --json only: one JSON line on stderr (restic's `error` messages of a backup). */
  errorRecord(value: unknown): void;
  /** Warning on stderr, one line (also under --json). */
  warn(text: string): void;
  /** Progress on a TTY only, never under --quiet or --json (stderr, overwritten in place). */
  progress(text: string): void;
}

/** Options valid before or after any command (parsed once by main.ts). */
export interface GlobalOptions {
  readonly repo?: string;
  readonly repositoryFile?: string;
  readonly passwordFile?: string;
  readonly passwordCommand?: string;
  readonly recoveryKeyFile?: string;
  readonly cacheDir?: string;
  readonly noCache?: boolean;
  /** --retry-lock: a duration ("5m"), parsed where the repository is opened. */
  readonly retryLock?: string;
  /** --no-lock: read-only commands take no lock (a repository on read-only storage). */
  readonly noLock?: boolean;
  /** --limit-upload / --limit-download, in KiB/s (checked by the schema). */
  readonly limitUpload?: string;
  readonly limitDownload?: string;
  /** --compression and --pack-size (checked by the schema). */
  readonly compression?: string;
  readonly packSize?: string;
  readonly quiet?: boolean;
  readonly verbose?: boolean;
}

export interface Context {
  readonly out: Output;
  /** The process environment: read only through src/config (parseFlags, environment). */
  readonly env: NodeJS.ProcessEnv;
  readonly globals: GlobalOptions;
}

export interface Command {
  readonly name: string;
  readonly usage: string;
  /** Returns the exit code (0 unless the command has a partial-success code). */
  run(argv: string[], ctx: Context): Promise<number>;
}

/** A command with its one-line summary (kept in registry.ts, so help lists every command without loading one). */
export interface ListedCommand extends Command {
  readonly summary: string;
}

/** A command whose arguments are parsed against the schema before it runs: `run` gets them typed, and `positionals: false` refuses any. */
export interface CommandSpec<C extends string> {
  readonly name: C;
  readonly usage: string;
  readonly positionals?: false;
  run(flags: ParsedFlags<C>, ctx: Context): Promise<number>;
}

/** The one place a command's own flags are parsed (a flag absent from argv from its variable). */
export function defineCommand<const C extends string>(spec: CommandSpec<C>): Command {
  const opts = spec.positionals === false ? { positionals: false as const } : {};
  return { name: spec.name, usage: spec.usage, run: async (argv, ctx) => spec.run(parseFlags(spec.name, argv, ctx.env, opts), ctx) };
}
