/**
 * `ebak cold --after-days N [--storage-class C] [--dry-run] [--json]`: the
 * cold transition a plan's `cold_after_days` runs (src/operations/cold.ts),
 * for an operator without a plan. Refused before the repository is opened
 * for a local directory, which has no storage classes.
 */
import { EbakError } from '../../errors.js';
import { checkColdClass, DEFAULT_COLD_CLASS, moveCold, type ColdResult } from '../../operations/index.js';
import { parseLocation } from '../../storage/location.js';
import { defineCommand, type Context } from '../command.js';
import { interruptible, repoLocation, withRepo } from '../session.js';

const USAGE = 'ebak cold --after-days N [--storage-class STANDARD_IA|GLACIER_IR|GLACIER|DEEP_ARCHIVE] [--dry-run] [--json]';

export interface ColdRequest {
  afterDays: number;
  storageClass: string;
  dryRun: boolean;
}

export const coldCommand = defineCommand({
  name: 'cold',
  usage: USAGE,
  positionals: false,
  async run({ values, switches }, ctx) {
    const days = values['after-days'];
    if (days === undefined || !/^\d+$/.test(days) || Number(days) < 1) throw new EbakError('USAGE', '--after-days needs a whole number of days, at least 1', { hint: USAGE });
    const req = { afterDays: Number(days), storageClass: checkColdClass(values['storage-class'] ?? DEFAULT_COLD_CLASS, '--storage-class'), dryRun: switches['dry-run'] === true };
    const res = await runCold(ctx, req);
    ctx.out.result({ message_type: 'summary', dry_run: res.dryRun, storage_class: res.storageClass, cutoff: res.cutoff, packs_candidate: res.candidates, packs_moved: res.moved, packs_already: res.already, packs_hot: res.hot });
    return 0;
  },
});

/** The transition and its summary line. */
async function runCold(ctx: Context, req: ColdRequest): Promise<ColdResult> {
  const res = await interruptible(ctx, (signal) => coldTransition(ctx, req, signal));
  const verb = res.dryRun ? 'would move' : 'moved';
  ctx.out.line(`${verb} ${res.dryRun ? res.candidates.length : res.moved.length} data packs to ${res.storageClass} (needed only by snapshots older than ${res.cutoff})` +
    `${res.already.length ? `; ${res.already.length} already there` : ''}; ${res.hot} stay for newer snapshots${res.dryRun ? '; nothing was changed (dry run)' : ''}`);
  return res;
}

/** The transition on the context's repository, printing nothing (also a plan run's step, src/cli/planrun.ts). */
export async function coldTransition(ctx: Context, req: ColdRequest, signal: AbortSignal): Promise<ColdResult> {
  const location = repoLocation(ctx);
  if (parseLocation(location).kind !== 's3') throw new EbakError('USAGE', `${location} is a local directory: cold storage moves data packs to a colder S3 class, and a directory has none`, { hint: 'use it on an s3: repository' });
  return withRepo(ctx, {}, (repo, _pool, backend) => moveCold(repo, backend, {
    ...req, signal, onEvent: (e) => (e.type === 'warning' ? ctx.out.warn(e.message) : ctx.out.progress(e.message)),
  }));
}
