/**
 * `ebak forget`: removes snapshots, named by id or chosen by a keep policy
 * decided as restic decides (src/retention; docs/retention.md). Only the
 * snapshot objects go: the data they used stays until prune. Everything is
 * checked before anything is deleted: flags, ids (each must resolve), the
 * policy (restic refuses an empty one and one that keeps nothing of a
 * group). Deleting runs under an exclusive lock; a dry run only reads, under
 * a shared one. `--json` prints restic's `forget --json` shape. `--prune`
 * runs prune (with its defaults; a dry run with --dry-run) once the
 * exclusive lock is released, when snapshots were removed (as restic).
 * A retention lock or legal hold keeps what it protects ("kept: retention
 * lock until DATE"); naming a protected snapshot is refused (RETENTION, exit 1).
 */
import { resolve } from 'node:path';
import { environment, type ParsedFlags } from '../../config/index.js';
import { EbakError } from '../../errors.js';
import type { VaultHead } from '../../keys/index.js';
import type { VaultDeleter } from '../../vault/client/deleter.js';
import type { Snapshot } from '../../repository/format/snapshot.js';
import type { Repository } from '../../repository/repository.js';
import { parseDuration } from '../../retention/duration.js';
import { describeKey, isEmptyFilter, parseGroupBy, parseTagList, requirePolicy, type ForgetGroup, type GroupBy, type SnapshotFilter } from '../../retention/plan.js';
import { isEmptyPolicy, type CountRule, type ForgetPolicy, type WithinRule } from '../../retention/policy.js';
import { DEFAULT_MAX_UNUSED, parseMaxUnused } from '../../retention/prune-options.js';
import { forget as forgetSnapshots } from '../../operations/index.js';
import { defineCommand, type Output } from '../command.js';
import { withRepo } from '../session.js';
import { runPrune } from './prune.js';

const COUNT_FLAGS = [
  ['keep-last', 'last'], ['keep-hourly', 'hourly'], ['keep-daily', 'daily'], ['keep-weekly', 'weekly'], ['keep-monthly', 'monthly'], ['keep-yearly', 'yearly'],
] as const satisfies readonly (readonly [string, CountRule])[];
const DURATION_FLAGS = [
  ['keep-within', 'within'], ['keep-within-hourly', 'withinHourly'], ['keep-within-daily', 'withinDaily'], ['keep-within-weekly', 'withinWeekly'],
  ['keep-within-monthly', 'withinMonthly'], ['keep-within-yearly', 'withinYearly'],
] as const satisfies readonly (readonly [string, WithinRule | 'within'])[];
interface ForgetRequest {
  ids: string[];
  policy: ForgetPolicy;
  filter: SnapshotFilter;
  groupBy?: GroupBy;
  dryRun: boolean;
}

type Entry = Snapshot & { id: string };

export const forgetCommand = defineCommand({
  name: 'forget',
  usage: 'ebak forget [snapshot-id...] [--keep-last N] [--keep-hourly N] [--keep-daily N] [--keep-weekly N] [--keep-monthly N] [--keep-yearly N] ' +
    '[--keep-within DURATION] [--keep-within-{hourly,daily,weekly,monthly,yearly} DURATION] [--keep-tag TAG[,TAG]] [--host H] [--tag T[,T]] [--path P] ' +
    '[--group-by host,paths,tags] [--dry-run] [--prune] [--json]   (N: a count or unlimited/-1; DURATION: e.g. 1y2m3d4h)',
  async run(flags, ctx) {
    const req = request(flags, flags.positionals);
    return withRepo(ctx, { pool: flags.switches.prune === true }, async (repo, pool, _backend, head) => {
      const deleter = req.dryRun ? undefined : await head?.deleter();
      const removed = await forget(repo, { ...req, head, deleter, now: environment(ctx.env).testNow }, ctx.out);
      // As restic: prune only when snapshots were (or, in a dry run, would be) removed.
      if (pool && removed > 0) await runPrune(ctx, repo, pool, { maxUnused: parseMaxUnused(DEFAULT_MAX_UNUSED), maxRepackBytes: Infinity, dryRun: req.dryRun, head });
      return 0;
    });
  },
});

/** The flags as a request, every problem found before the repository is opened. */
function request({ values, lists, switches }: ParsedFlags<'forget'>, ids: string[]): ForgetRequest {
  const policy: ForgetPolicy = {};
  for (const [flag, rule] of COUNT_FLAGS) {
    const v = values[flag];
    if (v !== undefined) policy[rule] = parseCount(flag, v);
  }
  for (const [flag, rule] of DURATION_FLAGS) {
    const v = values[flag];
    if (v !== undefined) policy[rule] = parseDuration(v, `--${flag}`);
  }
  if (lists['keep-tag']) policy.tags = lists['keep-tag'].map(parseTagList);
  const filter: SnapshotFilter = {
    hosts: lists.host ?? [],
    tags: (lists.tag ?? []).map(parseTagList),
    paths: (lists.path ?? []).map((p) => resolve(p)),
  };
  const groupBy = values['group-by'] === undefined ? undefined : parseGroupBy(values['group-by']);
  if (ids.length === 0) requirePolicy(policy);
  else if (!isEmptyPolicy(policy) || !isEmptyFilter(filter) || groupBy)
    throw new EbakError('USAGE', 'forget takes snapshot ids or a policy (with --host/--tag/--path/--group-by), not both', { hint: forgetCommand.usage });
  return { ids, policy, filter, ...(groupBy ? { groupBy } : {}), dryRun: switches['dry-run'] === true };
}

/** restic's counts: a whole number, or "unlimited" (also -1) for every bucket. */
function parseCount(flag: string, text: string): number {
  if (text === 'unlimited' || text === '-1') return -1;
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n)) throw new EbakError('USAGE', `--${flag} ${JSON.stringify(text)} is not a count`, { hint: 'give a whole number, or unlimited' });
  return n;
}

/** Removes (or, in a dry run, lists) the snapshots (src/operations/forget.ts); returns how many. */
async function forget(repo: Repository, req: ForgetRequest & { head: VaultHead | undefined; deleter: VaultDeleter | undefined; now: Date | undefined }, out: Output): Promise<number> {
  const { groups, removed } = await forgetSnapshots(repo, { ...req, onEvent: (e) => out.warn(e.message) });
  for (const g of groups) printGroup(out, g);
  out.line(`${req.dryRun ? 'would remove' : 'removed'} ${removed.length} snapshot${removed.length === 1 ? '' : 's'}${removed.length && !req.dryRun ? ' (their data stays until prune)' : ''}`);
  out.result(req.ids.length ? [] : groups.map(jsonGroup));
  return removed.length;
}

function printGroup(out: Output, g: ForgetGroup<Entry>): void {
  if (g.key.hostname || g.key.paths || g.key.tags) out.line(`snapshots for ${describeKey(g.key)}:`);
  for (const { snapshot: s, keep, reasons, protectedBy } of g.decisions) {
    const why = protectedBy ? `  (kept: ${protectedBy})` : keep ? `  (${reasons.join(', ')})` : '';
    out.line(`  ${keep ? 'keep  ' : 'remove'}  ${s.id.slice(0, 8)}  ${s.time}  ${s.hostname}  ${s.tags.join(',') || '-'}  ${s.paths.join(' ')}${why}`);
  }
}

/** restic's ForgetGroup: lists are null when empty, as Go encodes them. */
function jsonGroup(g: ForgetGroup<Entry>) {
  const view = (s: Entry) => ({ ...s, short_id: s.id.slice(0, 8) });
  const orNull = <T>(l: T[]) => (l.length ? l : null);
  const kept = g.decisions.filter((d) => d.keep);
  return {
    tags: g.key.tags, host: g.key.hostname, paths: g.key.paths,
    keep: orNull(kept.map((d) => view(d.snapshot))),
    remove: orNull(g.decisions.filter((d) => !d.keep).map((d) => view(d.snapshot))),
    reasons: orNull(kept.map((d) => ({ snapshot: view(d.snapshot), matches: d.protectedBy ? [`kept: ${d.protectedBy}`] : d.reasons }))),
  };
}
