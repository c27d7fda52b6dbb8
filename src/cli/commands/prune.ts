/**
 * `ebak prune` (restic's command, two-phase: docs/format.md, "Deleting
 * data"): deletes the packs no snapshot needs and repacks the partly used
 * ones beyond `--max-unused`, under a prune lock that backups run beside.
 * Prints restic's summary; `--dry-run` prints the plan and changes nothing.
 * Packs younger than their S3 class's minimum storage duration are held
 * back (named in a dry run) unless `--early-delete` is given. Archived packs
 * (GLACIER, DEEP_ARCHIVE) are left alone unless `--repack-archived`: then
 * they are restored and repacked like the others.
 * `runPrune` is also what `forget --prune` runs. Where the vault holds the
 * delete credential, it deletes the packs, and the packs its protected
 * snapshots recorded are kept whole (docs/retention.md).
 */
import { prune, type PruneResult } from '../../operations/index.js';
import type { VaultHead } from '../../keys/index.js';
import type { Repository } from '../../repository/repository.js';
import type { WorkerPool } from '../../repository/workers.js';
import { formatUsd } from '../../retention/prune-cost.js';
import { DEFAULT_MAX_UNUSED, parseMaxUnused, parseSize } from '../../retention/prune-options.js';
import type { MaxUnused, PruneStats } from '../../retention/prune-plan.js';
import { defineCommand, type Context, type Output } from '../command.js';
import { formatBytes } from '../format.js';
import { interruptible, withRepo } from '../session.js';

export interface PruneRequest {
  maxUnused: MaxUnused;
  maxRepackBytes: number;
  dryRun: boolean;
  earlyDelete?: boolean;
  repackArchived?: boolean;
  head?: VaultHead | undefined;
}

export const pruneCommand = defineCommand({
  name: 'prune',
  usage: 'ebak prune [--max-unused PERCENT|SIZE|unlimited] [--max-repack-size SIZE] [--early-delete] [--repack-archived] [--dry-run] [--json]',
  positionals: false,
  async run({ values, switches }, ctx) {
    const req: PruneRequest = {
      maxUnused: parseMaxUnused(values['max-unused'] ?? DEFAULT_MAX_UNUSED),
      maxRepackBytes: values['max-repack-size'] === undefined ? Infinity : parseSize(values['max-repack-size'], '--max-repack-size'),
      dryRun: switches['dry-run'] === true,
      earlyDelete: switches['early-delete'] === true,
      repackArchived: switches['repack-archived'] === true,
    };
    return withRepo(ctx, { pool: true, action: 'delete' }, async (repo, pool, _backend, head) => {
      const res = await runPrune(ctx, repo, pool!, { ...req, head });
      ctx.out.result(jsonResult(res));
      return 0;
    });
  },
});

/** Runs prune on an open repository and prints its summary. */
export async function runPrune(ctx: Context, repo: Repository, pool: WorkerPool, req: PruneRequest): Promise<PruneResult> {
  const deleter = await req.head?.deleter();
  const res = await interruptible(ctx, (signal) => prune(repo, pool, {
    ...req,
    deleter,
    pinned: deleter?.pinned,
    signal,
    onEvent: (e) => (e.type === 'warning' ? ctx.out.warn(e.message) : ctx.out.progress(e.message)),
  }));
  printSummary(ctx.out, res.stats);
  printOutcome(ctx.out, res);
  return res;
}

/** restic's table of what prune does: informational (--quiet leaves it out). */
function printSummary(out: Output, s: PruneStats): void {
  const row = (label: string, t: { blobs: number; bytes: number }) => out.info(`${label.padEnd(22)}${String(t.blobs).padStart(8)} blobs / ${formatBytes(t.bytes)}`);
  row('to repack:', s.toRepack);
  row('this removes:', s.repackRemoves);
  row('to delete:', s.toDelete);
  row('total prune:', { blobs: s.repackRemoves.blobs + s.toDelete.blobs, bytes: s.freed });
  row('remaining:', s.remaining);
  const share = s.remaining.bytes ? (100 * s.unusedAfter) / s.remaining.bytes : 0;
  out.info(`unused size after prune: ${formatBytes(s.unusedAfter)} (${share.toFixed(2)}% of remaining size)`);
  out.info('');
  const count = (label: string, n: number, unit = '') => out.info(`${label.padEnd(22)}${String(n).padStart(8)}${unit}`);
  count('totally used packs:', s.packs.used);
  count('partly used packs:', s.packs.partlyUsed);
  count('unused packs:', s.packs.unused);
  out.info('');
  count('to keep:', s.packs.keep, ' packs');
  count('to repack:', s.packs.repack, ' packs');
  count('to delete:', s.packs.delete, ' packs');
}

/** What prune left alone, recovered or left pending, and a dry run's outcome, stay under --quiet; the counts of a run that went as planned do not. */
function printOutcome(out: Output, r: PruneResult): void {
  if (r.archived.length) out.line(`left alone: ${r.archived.length} packs in an archive storage class (GLACIER, DEEP_ARCHIVE): prune neither repacks nor deletes them while they are in use (\`ebak prune --repack-archived\` restores and repacks them)`);
  printHeld(out, r);
  printRestored(out, r);
  if (r.unreadable.length) out.line(`left alone: ${r.unreadable.length} packs no index covers whose header cannot be read (see \`ebak check\`)`);
  if (r.dryRun) {
    out.line(`would free ${formatBytes(r.stats.freed)}; nothing was changed (dry run)`);
    return;
  }
  if (r.recovered) out.line(`recovered ${r.recovered} packs marked for deletion that a snapshot needs again`);
  out.info(`removed ${r.deleted.length} packs`);
  if (r.pending) out.line(`${r.pending} packs are marked for deletion: another operation that started before the mark still runs; the next prune deletes them`);
  out.info('done');
}

/** Packs kept back by their class's minimum storage duration: each named in a dry run, counted otherwise. */
function printHeld(out: Output, r: PruneResult): void {
  if (r.held.length === 0) return;
  if (r.dryRun) for (const h of r.held) out.line(`held back: data/${h.id} is in ${h.storageClass} until ${h.until} (its minimum storage duration: deleting or repacking it earlier is billed anyway, about ${formatUsd(h.earlyDeleteUsd)})`);
  out.line(`held back: ${r.held.length} packs younger than their storage class's minimum duration; \`ebak prune --early-delete\` deletes or repacks them all the same, for about ${formatUsd(earlyTotal(r))} of early-delete charges (S3 us-east-1 list prices)`);
}

/** Archived packs restored to be repacked (--repack-archived): each named in a dry run, and what repacking them early costs. */
function printRestored(out: Output, r: PruneResult): void {
  if (r.restored.length === 0) return;
  if (r.dryRun) for (const h of r.restored) out.line(`to restore: data/${h.id} (${h.storageClass}, its minimum until ${h.until}) is restored, then repacked`);
  const usd = r.restored.reduce((sum, h) => sum + h.earlyDeleteUsd, 0);
  out.line(`${r.dryRun ? 'would restore' : 'restored'} ${r.restored.length} archived packs to repack them (S3 also bills the retrievals); early-delete charges about ${formatUsd(usd)} (S3 us-east-1 list prices)`);
}

/** What deleting every held pack now would cost (retention/prune-cost.ts). */
const earlyTotal = (r: PruneResult) => r.held.reduce((sum, h) => sum + h.earlyDeleteUsd, 0);

function jsonResult(r: PruneResult) {
  return {
    message_type: 'summary', dry_run: r.dryRun, ...r.stats,
    packs_to_delete: r.toDelete, packs_to_repack: r.toRepack, packs_deleted: r.deleted, packs_pending_deletion: r.pending,
    packs_recovered: r.recovered, packs_archived: r.archived, packs_held: r.held, packs_restored: r.restored, early_delete_usd: earlyTotal(r), packs_unreadable: r.unreadable, index_written: r.indexWritten,
  };
}
