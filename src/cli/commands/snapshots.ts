/**
 * `ebak snapshots`: restic's listing. The ids given, or what --host, --tag,
 * --path select; `--latest N` keeps the newest N of each group (grouped as
 * `--group-by` says, host and paths by default when --latest is given, as in
 * restic); the table shows each snapshot's size (the bytes it backed up);
 * `--compact` leaves out the size and tags columns. `--json` is restic's
 * shape: a list of snapshots, or, with `--group-by`, a list of groups.
 */
import { EbakError } from '../../errors.js';
import type { SnapshotEntry } from '../../repository/api.js';
import { DEFAULT_GROUP_BY, describeKey, groupSnapshots, parseGroupBy, type GroupKey } from '../../retention/plan.js';
import { defineCommand, type Output } from '../command.js';
import { EXIT_PARTIAL } from '../exit.js';
import { formatBytes } from '../format.js';
import { selectSnapshots, snapshotFilter } from '../select.js';
import { withRepo } from '../session.js';

type Entry = SnapshotEntry['snapshot'] & { id: string };

export const snapshotsCommand = defineCommand({
  name: 'snapshots',
  usage: 'ebak snapshots [snapshot-id...] [--host H] [--tag T[,T]] [--path P] [--latest N] [--group-by host,paths,tags] [--compact] [--json]',
  async run({ positionals, values, lists, switches }, ctx) {
    const latest = values.latest === undefined ? undefined : count(values.latest);
    const explicit = values['group-by'] === undefined ? undefined : parseGroupBy(values['group-by']);
    const groupBy = explicit ?? (latest !== undefined ? DEFAULT_GROUP_BY : undefined);
    return withRepo(ctx, { readOnly: true }, async (repo) => {
      const { entries, damaged } = await selectSnapshots(repo, positionals, snapshotFilter(lists));
      const all = entries.map(({ id, snapshot }) => ({ ...snapshot, id }));
      const groups = groupBy ? groupSnapshots(all, groupBy) : [{ key: undefined, snapshots: all }];
      for (const g of groups) if (latest !== undefined) g.snapshots = g.snapshots.slice(-latest);
      for (const g of groups) printGroup(ctx.out, g.key, g.snapshots, switches.compact === true);
      // The intact ones are listed; each damaged one is named, and the exit code says the list is incomplete.
      for (const e of damaged) ctx.out.warn(e.message);
      ctx.out.result(explicit ? groups.map((g) => ({ group_key: g.key, snapshots: g.snapshots.map(json) })) : groups.flatMap((g) => g.snapshots.map(json)));
      return damaged.length > 0 ? EXIT_PARTIAL : 0;
    });
  },
});

function count(text: string): number {
  if (!/^[1-9]\d*$/.test(text)) throw new EbakError('USAGE', `--latest ${JSON.stringify(text)} is not a positive count`);
  return Number(text);
}

function printGroup(out: Output, key: GroupKey | undefined, list: Entry[], compact: boolean): void {
  if (key) out.line(`snapshots for ${describeKey(key)}:`);
  for (const s of list) {
    const size = s.summary ? formatBytes(s.summary.total_bytes) : '-';
    out.line(compact ? `${s.id.slice(0, 8)}  ${s.time}  ${s.hostname}  ${s.paths.join(' ')}` : `${s.id.slice(0, 8)}  ${s.time}  ${s.hostname}  ${s.tags.join(',') || '-'}  ${s.paths.join(' ')}  ${size}`);
  }
  out.info(`${list.length} snapshot${list.length === 1 ? '' : 's'}`);
}

const json = (s: Entry) => ({ ...s, short_id: s.id.slice(0, 8) });
