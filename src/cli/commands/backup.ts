import { parseFlags } from '../../config/index.js';
import { scan, type ScanTotal } from '../../archiver/scan.js';
import { EbakError } from '../../errors.js';
import { parseLocation } from '../../storage/location.js';
import { DATA_STORAGE_CLASSES, type DataStorageClass } from '../../storage/s3/index.js';
import { backup, type BackupEvent } from '../../operations/index.js';
import type { Command } from '../command.js';
import { EXIT_PARTIAL } from '../exit.js';
import { interruptible, repoLocation, withRepo } from '../session.js';
import { formatBytes, formatRate } from '../format.js';

export const backupCommand: Command = {
  name: 'backup',
  summary: 'back up files and directories into a new snapshot',
  usage: 'ebak backup <path>... [--tag t]... [--exclude glob]... [--host h] [--time ISO] [--parent id] [--s3-data-storage-class STANDARD_IA|GLACIER_IR|GLACIER|DEEP_ARCHIVE]',
  async run(argv, ctx) {
    const { positionals, values, lists } = parseFlags('backup', argv, ctx.env);
    if (positionals.length === 0) throw new EbakError('USAGE', 'backup needs at least one path', { hint: backupCommand.usage });
    const time = values.time === undefined ? undefined : new Date(values.time); // checked by the schema
    const storageClass = values['s3-data-storage-class'];
    if (storageClass !== undefined) checkStorageClass(storageClass, repoLocation(ctx));
    const storage = storageClass === undefined ? {} : { dataStorageClass: storageClass as DataStorageClass };
    const started = Date.now();
    let total: ScanTotal | undefined;
    if (process.stderr.isTTY && !ctx.out.json) void scan(positionals, lists.exclude).then((t) => (total = t));
    return withRepo(ctx, { index: true, pool: true, storage, action: 'backup' }, async (repo, pool, backend) => {
      // Released before the summary, so its request counts include the unlock.
      const onEvent = (e: BackupEvent) => {
        if (e.type === 'warning') ctx.out.warn(e.message);
        else if (e.type === 'file') ctx.out.detail(`${e.status === 'new' ? 'new     ' : 'modified'}  ${e.path.toString()}`);
        else ctx.out.progress(progressLine(e, total, Date.now() - started));
      };
      const res = await interruptible(ctx, (signal) => backup(repo, pool!, {
        paths: positionals,
        tags: lists.tag ?? [],
        excludes: lists.exclude ?? [],
        ...(values.host ? { hostname: values.host } : {}),
        ...(time ? { time } : {}),
        ...(values.parent ? { parent: values.parent } : {}),
        signal,
        onEvent,
      }));
      const s = res.summary;
      const secs = (Date.now() - started) / 1000;
      ctx.out.info(`Files: ${s.files_new} new, ${s.files_changed} changed, ${s.files_unmodified} unmodified${s.files_unreadable ? `, ${s.files_unreadable} unreadable` : ''}`);
      ctx.out.info(`Dirs: ${s.dirs}`);
      ctx.out.info(`Added to the repository: ${formatBytes(s.data_added)} (${formatBytes(s.bytes_processed)} read of ${formatBytes(s.total_bytes)})`);
      ctx.out.info(`snapshot ${res.id.slice(0, 8)} saved in ${secs.toFixed(2)}s (${formatRate(s.total_bytes, secs * 1000)})`);
      ctx.out.result({ message_type: 'summary', snapshot_id: res.id, ...s, total_duration: secs, requests: backend.requests() });
      return s.files_unreadable > 0 ? EXIT_PARTIAL : 0;
    });
  },
};

/** "files, bytes, rate", plus percent and ETA once the size scan has finished. */
function progressLine(p: { files: number; bytes: number }, total: ScanTotal | undefined, ms: number): string {
  const base = `${p.files} files, ${formatBytes(p.bytes)}, ${formatRate(p.bytes, ms)}`;
  if (!total || total.bytes === 0 || p.bytes === 0) return base;
  const pct = Math.min(100, (100 * p.bytes) / total.bytes);
  const etaS = Math.max(0, ((total.bytes - p.bytes) * ms) / p.bytes / 1000);
  return `${base}, ${pct.toFixed(1)}% of ${formatBytes(total.bytes)} in ${total.files} files, ETA ${formatDuration(etaS)}`;
}

function formatDuration(s: number): string {
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
}

/** Refused before any request: an unknown class, or a class for a repository that has none. */
function checkStorageClass(value: string, location: string): void {
  if (!(DATA_STORAGE_CLASSES as readonly string[]).includes(value))
    throw new EbakError('USAGE', `unknown S3 data storage class ${JSON.stringify(value)}`, { hint: `use one of ${DATA_STORAGE_CLASSES.join(', ')}` });
  if (parseLocation(location).kind !== 's3') throw new EbakError('USAGE', '--s3-data-storage-class applies only to S3 repositories');
}
