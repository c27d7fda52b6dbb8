/**
 * The three programs the side-by-side benchmark drives, each reduced to the same
 * four steps: init (untimed), backup of `corpus` run from the bench directory,
 * restore of the latest snapshot into an empty directory, and a snapshot count.
 * Each tool keeps its repository, caches and config under its own state dir
 * (XDG_* point there), so runs never touch the user's home and are wiped between runs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './measure.js';

export type ToolName = 'ebak' | 'restic' | 'borg';
export const TOOL_NAMES: readonly ToolName[] = ['ebak', 'restic', 'borg'];

/** Parses a comma-separated tool list such as BENCH_TOOLS. */
export function parseToolList(text: string): ToolName[] {
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  for (const t of names) {
    if (!TOOL_NAMES.includes(t as ToolName)) throw new Error(`BENCH_TOOLS: unknown tool "${t}" (use ${TOOL_NAMES.join(',')})`);
  }
  return names as ToolName[];
}

/** The project root (these files run from dist/bench/). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A throwaway password: these repositories exist for minutes and hold generated data. */
const PASSWORD = 'ebak-bench-password';

/** An S3-protocol server the tools use instead of a local directory (bench/run.ts: s3rver over TLS on loopback). */
export interface Remote {
  readonly endpoint: string;
  readonly caFile: string;
  readonly env: Readonly<Record<string, string>>;
  /** Where the server keeps a bucket on disk (for the repository size). */
  bucketDir(bucket: string): string;
}

export interface Tool {
  readonly name: ToolName;
  /** The settings used, as printed in the report. */
  readonly settings: string;
  readonly repo: string;
  /** Where the tool keeps its local cache (sized for the report). */
  readonly cacheDir: string;
  readonly env: NodeJS.ProcessEnv;
  /** Fails with a readable error when the program is missing. */
  version(): Promise<string>;
  init(): Promise<void>;
  /** argv for the n-th backup (1, 2, ...) of `corpus`, run with cwd = the bench dir. */
  backupArgv(n: number): string[];
  /** argv and cwd that restore the latest snapshot (backup number `last`) into `target`. */
  restore(target: string, last: number): { argv: string[]; cwd: string };
  snapshotCount(): Promise<number>;
}

function baseEnv(state: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    XDG_CACHE_HOME: join(state, 'xdg-cache'),
    XDG_CONFIG_HOME: join(state, 'xdg-config'),
    XDG_DATA_HOME: join(state, 'xdg-data'),
  };
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}

/** Counts snapshots in a JSON listing: an array, or an object holding one. */
function countListed(text: string, key: string): number {
  const v = JSON.parse(text) as unknown;
  if (Array.isArray(v)) return v.length;
  const inner = (v as Record<string, unknown>)[key];
  if (Array.isArray(inner)) return inner.length;
  throw new Error(`unexpected snapshot listing: ${text.slice(0, 200)}`);
}

/** package.json version plus the git commit, for a CLI without --version. */
async function sourceVersion(repoRoot: string): Promise<string> {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version?: string };
  let commit = 'unknown commit';
  try {
    commit = firstLine(await run(['git', 'rev-parse', '--short', 'HEAD'], { cwd: repoRoot, env: process.env }));
  } catch {
    // not a git checkout
  }
  return `ebak ${pkg.version ?? '?'} (${commit})`;
}

/** The repository location and its size on disk: a folder of `state`, or a bucket of the remote. */
function place(name: ToolName, state: string, remote: Remote | undefined): { location: string; disk: string } {
  if (!remote) return { location: join(state, 'repo'), disk: join(state, 'repo') };
  return { location: `s3:${remote.endpoint}/bench-${name}/repo`, disk: remote.bucketDir(`bench-${name}`) };
}

function ebak(repoRoot: string, state: string, remote?: Remote): Tool {
  const bin = join(repoRoot, 'bin', 'ebak');
  const { location: repo, disk } = place('ebak', state, remote);
  const s3 = remote ? { ...remote.env, NODE_EXTRA_CA_CERTS: remote.caFile } : {};
  const env = { ...baseEnv(state), ...s3, EBAK_REPOSITORY: repo, EBAK_PASSWORD: PASSWORD };
  const opts = { cwd: state, env };
  return {
    name: 'ebak',
    settings: `defaults (FastCDC ~1 MiB avg, zstd level 2, AES-256-GCM, local metadata cache), ${remote ? 'S3 repository' : 'local directory repository'}, password key`,
    repo: disk,
    cacheDir: join(state, 'xdg-cache'),
    env,
    async version() {
      if (!existsSync(bin)) throw new Error(`${bin} not found (the ebak CLI is not there yet)`);
      try {
        return firstLine(await run([bin, '--version'], opts));
      } catch {
        return await sourceVersion(repoRoot);
      }
    },
    async init() {
      await run([bin, 'init'], opts);
    },
    backupArgv: () => [bin, 'backup', 'corpus', '--json'],
    restore: (target) => ({ argv: [bin, 'restore', 'latest', '--target', target], cwd: state }),
    async snapshotCount() {
      return countListed(await run([bin, 'snapshots', '--json'], opts), 'snapshots');
    },
  };
}

function restic(state: string, remote?: Remote): Tool {
  const { location, disk } = place('restic', state, remote);
  const repo = location;
  const cacert = remote ? ['--cacert', remote.caFile] : [];
  const env = { ...baseEnv(state), ...remote?.env, RESTIC_PASSWORD: PASSWORD, RESTIC_REPOSITORY: repo };
  const opts = { cwd: state, env };
  return {
    name: 'restic',
    settings: `repository v2 (restic 0.14 default), compression auto (klauspost zstd SpeedDefault, restic's default), default chunker (~1 MiB avg), ${remote ? 'S3 repository' : 'local directory repository'}`,
    repo: disk,
    cacheDir: join(state, 'xdg-cache'),
    env,
    version: async () => firstLine(await run(['restic', 'version'], opts)),
    async init() {
      await run(['restic', 'init', ...cacert, '--repo', repo], opts);
    },
    backupArgv: () => ['restic', 'backup', ...cacert, '--repo', repo, 'corpus'],
    restore: (target) => ({ argv: ['restic', 'restore', 'latest', ...cacert, '--repo', repo, '--target', target], cwd: state }),
    async snapshotCount() {
      return countListed(await run(['restic', 'snapshots', '--json', ...cacert, '--repo', repo], opts), 'snapshots');
    },
  };
}

function borg(state: string): Tool {
  const repo = join(state, 'repo');
  const env = {
    ...baseEnv(state),
    BORG_PASSPHRASE: PASSWORD,
    // borg 1.2 prefers its own variables over XDG_*: name its cache, keys and security dirs.
    BORG_CACHE_DIR: join(state, 'xdg-cache', 'borg'),
    BORG_CONFIG_DIR: join(state, 'xdg-config', 'borg'),
    BORG_DISPLAY_PASSPHRASE: 'no',
    BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: 'yes',
    BORG_RELOCATED_REPO_ACCESS_IS_OK: 'yes',
  };
  const opts = { cwd: state, env };
  return {
    name: 'borg',
    settings: 'encryption repokey-blake2, compression zstd,3, default chunker (buzhash, ~2 MiB avg)',
    repo,
    cacheDir: join(state, 'xdg-cache'),
    env,
    version: async () => firstLine(await run(['borg', '--version'], opts)),
    async init() {
      await run(['borg', 'init', '--encryption=repokey-blake2', repo], opts);
    },
    backupArgv: (n) => ['borg', 'create', '--compression', 'zstd,3', `${repo}::bench-${n}`, 'corpus'],
    // borg has no "latest": name the last archive; extract writes into the current directory.
    restore: (target, last) => ({ argv: ['borg', 'extract', `${repo}::bench-${last}`], cwd: target }),
    async snapshotCount() {
      return countListed(await run(['borg', 'list', '--json', repo], opts), 'archives');
    },
  };
}

/** The tool keeping its state in `state`; with `remote`, its repository is a bucket there (ebak and restic only). */
export function makeTool(name: ToolName, state: string, remote?: Remote, repoRoot = REPO_ROOT): Tool {
  switch (name) {
    case 'ebak':
      return ebak(repoRoot, state, remote);
    case 'restic':
      return restic(state, remote);
    case 'borg':
      if (remote) throw new Error('borg has no S3 backend');
      return borg(state);
  }
}
