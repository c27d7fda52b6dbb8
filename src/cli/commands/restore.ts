
import { EbakError } from '../../errors.js';
import { restore, type OverwriteMode, type RestoreEvent, type RestoreResult } from '../../operations/restore.js';
import { defineCommand } from '../command.js';
import { EXIT_PARTIAL } from '../exit.js';
import { formatBytes, formatRate } from '../format.js';
import { restoreLine, showsProgress } from '../progress.js';
import { isEmptyFilter } from '../../retention/plan.js';
import { selectOne, snapshotFilter } from '../select.js';
import { interruptible, withRepo } from '../session.js';
import { restoreSettings, type RestoreTier } from '../../storage/s3/thaw.js';

export const restoreCommand = defineCommand({
  name: 'restore',
  usage: 'ebak restore <snapshot|latest> | --at <time> [--host H] [--path P] --target <dir> [--include <glob>]... | [--exclude <glob>]... [--overwrite always|if-changed|if-newer|never] [--delete] [--dry-run] [-v] [--verify] [--sparse] [--allow-outside-symlinks] [--s3-restore-days N] [--s3-restore-tier Expedited|Standard|Bulk]',
  async run({ positionals, values, lists, switches }, ctx) {
    if ((!positionals[0] && values.at === undefined) || !values.target) throw new EbakError('USAGE', 'restore needs a snapshot (or --at) and --target', { hint: restoreCommand.usage });
    // For packs in S3 archive storage (GLACIER, DEEP_ARCHIVE); checked before any request.
    const archiveRestore = {
      ...(values['s3-restore-days'] === undefined ? {} : { days: Number(values['s3-restore-days']) }),
      ...(values['s3-restore-tier'] === undefined ? {} : { tier: values['s3-restore-tier'] as RestoreTier }),
    };
    restoreSettings(archiveRestore);
    if (switches['allow-outside-symlinks']) ctx.out.warn('--allow-outside-symlinks is deprecated and has no effect: symlinks are always restored as recorded');
    const dryRun = switches['dry-run'] === true;
    const started = Date.now();
    return withRepo(ctx, { index: true, pool: true, action: 'restore', storage: { archiveRestore }, readOnly: true }, async (repo, pool) => {
      // A plain reference is resolved by the operation, under its lock; --at and the filter choose here.
      const filter = snapshotFilter(lists);
      const snapshot = values.at === undefined && isEmptyFilter(filter) ? positionals[0]! : (await selectOne(repo, positionals[0], values.at, filter, (m) => ctx.out.warn(m))).id;
      const restoring = Date.now();
      // The percent's total: the snapshot's size, read only when progress shows (the operation resolves the reference again, under its lock).
      const total = showsProgress(ctx.out) && !lists.include && !lists.exclude ? (await repo.findSnapshot(snapshot)).snapshot.summary?.total_bytes : undefined;
      const onEvent = (e: RestoreEvent) => {
        if (e.type === 'warning') ctx.out.warn(e.message);
        else if (e.type === 'action') ctx.out.detail(`${dryRun ? 'would be ' : ''}${e.action} ${e.path}`);
        else if (e.type === 'prepare') ctx.out.progress(`waiting for S3 to restore archived data packs: ${e.ready} of ${e.total} ready`);
        else ctx.out.progress(restoreLine(e, total, Date.now() - restoring));
      };
      const { id, ...r } = await interruptible(ctx, (signal) => restore(repo, repo.blobReader(pool!), {
        snapshot,
        target: values.target!,
        ...(lists.include ? { includes: lists.include } : {}),
        ...(lists.exclude ? { excludes: lists.exclude } : {}),
        overwrite: (values.overwrite ?? 'always') as OverwriteMode, // checked by the schema
        delete: switches.delete === true,
        dryRun,
        verify: switches.verify === true,
        sparse: switches.sparse === true,
        signal,
        onEvent,
      }));
      const ms = Date.now() - started;
      ctx.out.info(`${dryRun ? 'dry run, nothing written: would restore' : 'restored'} snapshot ${id.slice(0, 8)} to ${values.target}: ${r.files} files, ${r.dirs} dirs, ${r.symlinks} symlinks, ${formatBytes(r.bytes)} in ${(ms / 1000).toFixed(2)}s (${formatRate(r.bytes, ms)})${counts(r)}`);
      ctx.out.result({ snapshot_id: id, ...r, dry_run: dryRun, total_duration: ms / 1000 });
      return r.errors > 0 ? EXIT_PARTIAL : 0;
    });
  },
});

/** The counts a plain first restore does not have, when not zero. */
function counts(r: RestoreResult): string {
  const parts = [[r.unchanged, 'unchanged'], [r.skipped, 'skipped'], [r.deleted, 'deleted'], [r.verified, 'verified'], [r.errors, 'errors']] as const;
  return parts.filter(([n]) => n > 0).map(([n, what]) => `, ${n} ${what}`).join('');
}
