/**
 * `ebak repair index` and `ebak repair snapshots` (restic's commands).
 * - index: packs no readable index covers are indexed from their own
 *   authenticated headers into one new index file, and damaged index files
 *   are removed, under an exclusive lock. Data is never deleted.
 * - snapshots: damaged snapshots are rewritten to name only what the index
 *   holds (src/operations/repair.ts); `--forget` removes the damaged ones,
 *   `--dry-run` says what would change. Run `repair index` first.
 */
import { environment } from '../../config/index.js';
import { EbakError } from '../../errors.js';
import { repairSnapshots, type RepairEvent } from '../../operations/repair.js';
import { localRetention } from '../../operations/retention.js';
import { withLock } from '../../repository/locks.js';
import { defineCommand, type Context } from '../command.js';
import { selectSnapshots, snapshotFilter } from '../select.js';
import { withRepo } from '../session.js';

const USAGE = 'ebak repair index | ebak repair snapshots [snapshot-id...] [--forget] [-n|--dry-run] [--host H] [--tag T[,T]] [--path P]';

export const repairCommand = defineCommand({
  name: 'repair',
  usage: USAGE,
  async run({ positionals, lists, switches }, ctx) {
    const [what, ...ids] = positionals;
    if (what === 'index' && ids.length === 0) return repairIndex(ctx);
    if (what === 'snapshots') return repairSnapshotsCommand(ctx, ids, lists, switches.forget === true, switches['dry-run'] === true);
    throw new EbakError('USAGE', `usage: ${USAGE}`);
  },
});

function repairIndex(ctx: Context): Promise<number> {
  return withRepo(ctx, { cache: false }, async (repo, _pool, _backend, head) => {
    const r = await withLock(repo, 'exclusive', (m) => ctx.out.warn(m), () => repo.repairIndex(head));
    ctx.out.line(r.written
      ? `indexed ${r.packs} pack(s) from their headers into index/${r.written.slice(0, 10)}; removed ${r.removed.length} damaged index file(s)`
      : `every pack is indexed; removed ${r.removed.length} damaged index file(s)`);
    for (const p of r.missing) ctx.out.warn(`pack data/${p} is missing from the storage: dropped from the index (\`ebak repair snapshots\` rewrites the snapshots that need it)`);
    ctx.out.result(r);
    return 0;
  });
}

function repairSnapshotsCommand(ctx: Context, ids: string[], lists: Record<string, string[] | undefined>, forget: boolean, dryRun: boolean): Promise<number> {
  return withRepo(ctx, { index: true, pool: true, cache: false, action: forget ? 'delete' : 'backup' }, async (repo, pool, _backend, head) => {
    const { entries, damaged } = await selectSnapshots(repo, ids, snapshotFilter(lists));
    for (const e of damaged) ctx.out.warn(`${e.message}; it cannot be repaired (its snapshot object is damaged)`);
    const retention = forget ? (head ?? localRetention(repo, environment(ctx.env).testNow ?? new Date())) : undefined;
    const deleter = forget && !dryRun ? await head?.deleter() : undefined; // where the vault holds the delete credential, it removes the damaged ones
    const r = await repairSnapshots(repo, pool!, entries, { forget: retention, dryRun, head, deleter, onEvent: (e) => report(ctx, e) });
    const verb = dryRun ? 'would modify' : 'modified';
    ctx.out.line(`${verb} ${r.repaired.length} snapshot${r.repaired.length === 1 ? '' : 's'}; ${r.unchanged} had nothing to repair${r.unrepairable.length ? `; ${r.unrepairable.length} cannot be repaired (root tree unreadable)` : ''}`);
    if (r.repaired.length && !forget && !dryRun) ctx.out.line(`the damaged snapshots are still there: remove them with \`ebak forget ${r.repaired.map((x) => x.from.slice(0, 8)).join(' ')}\` (or rerun with --forget)`);
    ctx.out.result({ ...r, dry_run: dryRun });
    return r.unrepairable.length || damaged.length ? 3 : 0;
  });
}

function report(ctx: Context, e: RepairEvent): void {
  if (e.type === 'snapshot') ctx.out.line(`snapshot ${e.id.slice(0, 8)}`);
  else if (e.type === 'file') ctx.out.line(`  file ${JSON.stringify(e.path)}: ${e.what}`);
  else if (e.type === 'dir') ctx.out.line(`  dir ${JSON.stringify(e.path)}: ${e.what}`);
  else if (e.type === 'saved') ctx.out.line(`  saved new snapshot ${e.to.slice(0, 8)}`);
  else if (e.type === 'removed') ctx.out.line(`  removed old snapshot ${e.id.slice(0, 8)}`);
  else if (e.type === 'unrepairable') ctx.out.line('  its root tree cannot be read: not repaired');
  else ctx.out.warn(e.message);
}
