/**
 * ebak backup: restic's flags read into the backup operation's options.
 * What is backed up comes from the paths, the --files-from lists
 * (archiver/sources.ts) or a stream (--stdin, or --stdin-from-command's
 * command output); what is left out is archiver/exclude.ts's Selection,
 * built here from the flags. A listed path that is missing, like an
 * unreadable file, makes the exit code 3.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { type ParsedFlags } from '../../config/index.js';
import { scan } from '../../archiver/scan.js';
import { CACHEDIR_TAG, type SelectOptions } from '../../archiver/exclude.js';
import { readFilesFrom, readPatternFile, type SourcePath } from '../../archiver/sources.js';
import type { StreamSource } from '../../archiver/stdin.js';
import { EbakError } from '../../errors.js';
import { parseSize } from '../../retention/prune-options.js';
import { patternProblem } from '../../util/glob.js';
import { parseLocation } from '../../storage/location.js';
import { DATA_STORAGE_CLASSES, type DataStorageClass } from '../../storage/s3/index.js';
import { backup } from '../../operations/backup.js';
import { BackupReport } from '../backup-report.js';
import type { BackupResult } from '../../archiver/index.js';
import { defineCommand, type Output } from '../command.js';
import { EXIT_PARTIAL } from '../exit.js';
import { interruptible, repoLocation, withBackupRepo } from '../session.js';
import { formatBytes, formatRate } from '../format.js';
import type { BackupSummary } from '../../repository/format/snapshot.js';

export const backupCommand = defineCommand({
  name: 'backup',
  usage: 'ebak backup <path>... | --files-from f | --stdin | --stdin-from-command -- <command>... [--tag t]... [--exclude glob]... [--host h] [--time ISO] [--parent id] [--dry-run] [--skip-if-unchanged] [--read-concurrency n] [--s3-data-storage-class STANDARD_IA|GLACIER_IR|GLACIER|DEEP_ARCHIVE]',
  async run(flags, ctx) {
    const { values, lists, switches } = flags;
    const select = selectOptions(flags, ctx.env);
    const input = sources(flags, (m) => ctx.out.warn(m));
    const time = values.time === undefined ? undefined : new Date(values.time); // checked by the schema
    const storageClass = values['s3-data-storage-class'];
    if (storageClass !== undefined) checkStorageClass(storageClass, repoLocation(ctx));
    const storage = storageClass === undefined ? {} : { dataStorageClass: storageClass as DataStorageClass };
    const started = new Date();
    const report = new BackupReport(ctx.out);
    const scanning = new AbortController();
    if (report.wantsTotal && !input.stream) void scan(input.paths, select, { total: report.total, signal: scanning.signal }).then((t) => t.done && report.scanned(Date.now() - started.getTime()));
    return withBackupRepo(ctx, { index: true, pool: true, storage, action: 'backup' }, async (repo, pool, backend, _head, packSets) => {
      report.start();
      // Released before the summary, so its request counts include the unlock.
      const res = await interruptible(ctx, (signal) => backup(repo, pool!, {
        paths: input.paths,
        ...(input.stream ? { stdin: input.stream(signal) } : {}),
        tags: lists.tag ?? [],
        excludes: lists.exclude ?? [],
        select,
        force: switches.force === true,
        dryRun: switches['dry-run'] === true,
        skipIfUnchanged: switches['skip-if-unchanged'] === true,
        ...(values.host ? { hostname: values.host } : {}),
        ...(time ? { time } : {}),
        ...(values.parent ? { parent: values.parent } : {}),
        ...(values['read-concurrency'] === undefined ? {} : { readConcurrency: Number(values['read-concurrency']) }),
        signal,
        onEvent: report.onEvent,
        storage: backend,
        packSets,
      })).finally(() => {
        report.stop();
        scanning.abort();
      });
      printSummary(ctx.out, res, started, backend.requests(), report.dirs);
      return res.summary.files_unreadable > 0 || input.missing > 0 ? EXIT_PARTIAL : 0;
    });
  },
});

/** The summary: prose (informational: --quiet leaves it out), and under --json the last NDJSON line, restic's `summary`. */
function printSummary(out: Output, res: BackupResult, started: Date, requests: unknown, dirs: BackupReport['dirs']): void {
  const s = res.summary;
  const ended = new Date();
  const secs = (ended.getTime() - started.getTime()) / 1000;
  out.info(`Files: ${s.files_new} new, ${s.files_changed} changed, ${s.files_unmodified} unmodified${s.files_unreadable ? `, ${s.files_unreadable} unreadable` : ''}`);
  out.info(`Dirs: ${s.dirs}`);
  out.info(`${res.skipped === 'dry-run' ? 'Would add' : 'Added'} to the repository: ${formatBytes(s.data_added)} (${formatBytes(s.bytes_processed)} read of ${formatBytes(s.total_bytes)})`);
  out.info(`${outcome(res.id, res.skipped)} in ${secs.toFixed(2)}s (${formatRate(s.total_bytes, secs * 1000)})`);
  const times = { backup_start: started.toISOString(), backup_end: ended.toISOString(), total_duration: secs };
  const dirCounts = { dirs_new: dirs.new, dirs_changed: dirs.changed, dirs_unmodified: dirs.unchanged };
  out.record({ message_type: 'summary', ...(res.skipped === 'dry-run' ? { dry_run: true } : {}), ...(res.id ? { snapshot_id: res.id } : {}), ...s, ...resticNames(s), ...dirCounts, ...times, requests });
}

/**
 * restic's summary names for what ebak's summary (stored in the snapshot)
 * calls otherwise; data_added_packed is what was written to storage, which
 * ebak's own data_added already counts. (dirs_new, dirs_changed and
 * dirs_unmodified come from the report: every directory below the root.)
 */
function resticNames(s: BackupSummary) {
  return {
    data_blobs: s.data_blobs_added, tree_blobs: s.tree_blobs_added, data_added_packed: s.data_added,
    total_files_processed: s.files_new + s.files_changed + s.files_unmodified, total_bytes_processed: s.total_bytes,
  };
}

function outcome(id: string, skipped: 'dry-run' | 'unchanged' | undefined): string {
  if (skipped === 'dry-run') return 'dry run: no snapshot saved, nothing written';
  if (skipped === 'unchanged') return 'snapshot not saved: nothing changed since the parent snapshot (--skip-if-unchanged)';
  return `snapshot ${id.slice(0, 8)} saved`;
}

/** What leaves entries out: patterns (given and from files), tag files, a size limit, other file systems. */
function selectOptions({ values, lists, switches }: ParsedFlags<'backup'>, env: NodeJS.ProcessEnv): SelectOptions {
  const fromFiles = (flag: 'exclude-file' | 'iexclude-file'): string[] => (lists[flag] ?? []).flatMap((file) => checkedPatterns(readPatternFile(file, `--${flag}`, env), `--${flag} ${file}`));
  return {
    excludes: fromFiles('exclude-file'),
    iexcludes: [...(lists.iexclude ?? []), ...fromFiles('iexclude-file')],
    ifPresent: [...(lists['exclude-if-present'] ?? []), ...(switches['exclude-caches'] ? [CACHEDIR_TAG] : [])],
    ...(values['exclude-larger-than'] === undefined ? {} : { largerThan: sizeLimit(values['exclude-larger-than']) }),
    oneFileSystem: switches['one-file-system'] === true,
  };
}

/** restic's ParseBytes: prune's sizes, and a "b" suffix for bytes. */
function sizeLimit(text: string): number {
  return parseSize(text.replace(/(?<=\d)b$/i, ''), '--exclude-larger-than');
}

/** A pattern file's patterns, each one checked: an empty one (an unset $VAR) would leave out everything. */
function checkedPatterns(patterns: string[], what: string): string[] {
  for (const p of patterns) {
    const problem = p.trim() === '' ? 'a pattern is empty (after $VAR expansion)' : patternProblem(p);
    if (problem !== undefined) throw new EbakError('USAGE', `${what}: ${problem}`);
  }
  return patterns;
}

interface Sources {
  paths: SourcePath[];
  /** The stream, made when the backup starts; Ctrl-C ends it (so a silent command or an idle stdin never holds the backup up). */
  stream?: (signal: AbortSignal) => StreamSource;
  /** Listed paths that do not exist (each warned about): the exit code is 3. */
  missing: number;
}

/** The paths to back up (arguments and --files-from lists), or the stream of --stdin / --stdin-from-command. */
function sources({ positionals, values, lists, switches }: ParsedFlags<'backup'>, warn: (m: string) => void): Sources {
  const lists3 = { filesFrom: lists['files-from'], verbatim: lists['files-from-verbatim'], raw: lists['files-from-raw'] };
  const listed = Object.values(lists3).some((l) => l !== undefined);
  const fromCommand = switches['stdin-from-command'] === true;
  if (switches.stdin || fromCommand) {
    const flag = fromCommand ? '--stdin-from-command' : '--stdin';
    if (listed) throw new EbakError('USAGE', `${flag} and --files-from cannot be used together`);
    if (!fromCommand && positionals.length > 0) throw new EbakError('USAGE', `--stdin backs up standard input: it takes no paths (${JSON.stringify(positionals[0])} given)`);
    if (fromCommand && positionals.length === 0) throw new EbakError('USAGE', '--stdin-from-command needs the command to run', { hint: 'ebak backup --stdin-from-command -- pg_dump mydb' });
    const name = values['stdin-filename'] ?? 'stdin';
    const stream = (signal: AbortSignal): StreamSource => ({ name, source: fromCommand ? commandOutput(positionals, warn, signal) : untilAborted(process.stdin, signal) });
    return { paths: [], missing: 0, stream };
  }
  const fromLists = listed ? readFilesFrom(lists3, warn) : { paths: [], missing: 0 };
  const paths = [...fromLists.paths, ...positionals];
  if (paths.length === 0) {
    if (listed) throw new EbakError('USAGE', 'nothing to back up: the --files-from lists name no existing path');
    throw new EbakError('USAGE', 'backup needs at least one path', { hint: backupCommand.usage });
  }
  return { paths, missing: fromLists.missing };
}

/**
 * The standard output of `argv` run as a command (restic's commandReader):
 * its stderr lines are warnings, and a command that fails (exit status not
 * 0, a signal, not found) fails the backup, so no snapshot is saved.
 */
async function* commandOutput(argv: string[], warn: (m: string) => void, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  const [cmd, ...args] = argv as [string, ...string[]];
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], signal });
  const exited = new Promise<string | undefined>((res, rej) => {
    child.on('error', (e) => rej(new EbakError('IO', `--stdin-from-command: cannot run ${cmd}: ${e.message}`, { cause: e })));
    child.on('close', (code, killedBy) => res(code === 0 ? undefined : killedBy ? `killed by ${killedBy}` : `exit status ${code}`));
  });
  exited.catch(() => undefined); // awaited below; the stream's own end comes first
  createInterface({ input: child.stderr }).on('line', (l) => warn(`${cmd}: ${l}`));
  let done = false;
  try {
    yield* child.stdout;
    done = true;
  } finally {
    if (!done) child.kill();
  }
  if (signal.aborted) return; // killed by Ctrl-C: the backup reports its own cancellation
  const failed = await exited;
  if (failed) throw new EbakError('IO', `--stdin-from-command: ${cmd} failed (${failed}); no snapshot saved`);
}

/** The stream's bytes until Ctrl-C, which ends it (the backup then reports its cancellation). */
async function* untilAborted(stream: NodeJS.ReadStream, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  signal.addEventListener('abort', () => stream.destroy(), { once: true });
  try {
    yield* stream;
  } catch (e) {
    if (!signal.aborted) throw e;
  }
}

/** Refused before any request: an unknown class, or a class for a repository that has none. */
function checkStorageClass(value: string, location: string): void {
  if (!(DATA_STORAGE_CLASSES as readonly string[]).includes(value))
    throw new EbakError('USAGE', `unknown S3 data storage class ${JSON.stringify(value)}`, { hint: `use one of ${DATA_STORAGE_CLASSES.join(', ')}` });
  if (parseLocation(location).kind !== 's3') throw new EbakError('USAGE', '--s3-data-storage-class applies only to S3 repositories');
}
