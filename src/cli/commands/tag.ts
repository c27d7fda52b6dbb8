/**
 * `ebak tag`: changes the tags of snapshots, restic's command. A snapshot is
 * an immutable, content-named object, so a changed one is written anew (its
 * `original` field keeps the first id, as restic's does) and the old objects
 * removed after all are written (in two steps posted to a vault's repository
 * head): a crash in between leaves both, never neither. Runs under
 * an exclusive lock, as forget does, because it removes snapshot objects;
 * and, as forget, it removes none that a retention lock or legal hold
 * protects: such a snapshot's tags cannot change (a hold names the snapshot
 * by id), so the command is refused before anything is written.
 */
import { environment } from '../../config/index.js';
import { EbakError } from '../../errors.js';
import { removeRecorded } from '../../operations/index.js';
import { localRetention } from '../../operations/retention.js';
import { reasonFor } from '../../retention/lock.js';
import type { SnapshotEntry } from '../../repository/api.js';
import { withLock } from '../../repository/locks.js';
import { parseTagList } from '../../retention/plan.js';
import { defineCommand } from '../command.js';
import { selectSnapshots, snapshotFilter } from '../select.js';
import { withRepo } from '../session.js';

interface TagChange {
  add: string[];
  remove: string[];
  set?: string[];
}

export const tagCommand = defineCommand({
  name: 'tag',
  usage: 'ebak tag [snapshot-id...] (--add T[,T] | --remove T[,T] | --set T[,T]) [--host H] [--tag T[,T]] [--path P] [--json]',
  async run({ lists, positionals }, ctx) {
    const change = tagChange(lists);
    const filter = snapshotFilter(lists);
    return withRepo(ctx, {}, (repo, _pool, _backend, head) => withLock(repo, 'exclusive', (m) => ctx.out.warn(m), async () => {
      const { entries, damaged } = await selectSnapshots(repo, positionals, filter);
      for (const e of damaged) ctx.out.warn(`${e.message}; left as it is`);
      const retagged = entries.flatMap((e) => {
        const tags = newTags(e, change);
        return tags ? [{ e, tags }] : [];
      });
      const facts = await (head ?? localRetention(repo, environment(ctx.env).testNow ?? new Date())).retentionFacts();
      for (const { e } of retagged) {
        const reason = reasonFor(facts, { id: e.id, time: e.snapshot.time });
        if (reason) throw new EbakError('RETENTION', `snapshot ${e.id.slice(0, 8)} is protected (${reason}): its tags cannot change; nothing was changed`, { hint: 'see `ebak retention show`' });
      }
      const deleter = await head?.deleter(); // where the vault holds the delete credential, it removes the replaced snapshots
      const changed: { old_snapshot_id: string; new_snapshot_id: string }[] = [];
      for (const { e, tags } of retagged) {
        const id = await repo.saveSnapshot({ ...e.snapshot, tags, original: e.snapshot.original ?? e.id });
        changed.push({ old_snapshot_id: e.id, new_snapshot_id: id });
      }
      await removeRecorded(head, 'snapshots', changed.map((c) => c.old_snapshot_id), (old) => (deleter ?? repo).removeSnapshot(old));
      for (const c of changed) ctx.out.line(`${c.old_snapshot_id.slice(0, 8)} → ${c.new_snapshot_id.slice(0, 8)}`);
      ctx.out.info(`modified ${changed.length} snapshot${changed.length === 1 ? '' : 's'}`);
      ctx.out.result({ changed, changed_snapshots: changed.length });
      return 0;
    }));
  },
});

/** restic's rules: --set alone, or --add and/or --remove; at least one of them. */
function tagChange(lists: Record<string, string[] | undefined>): TagChange {
  const list = (flag: string) => (lists[flag] ?? []).flatMap(parseTagList).filter((t) => t !== '');
  const change: TagChange = { add: list('add'), remove: list('remove'), ...(lists.set ? { set: list('set') } : {}) };
  if (change.set && (change.add.length || change.remove.length)) throw new EbakError('USAGE', '--set cannot be combined with --add or --remove', { hint: tagCommand.usage });
  if (!change.set && !change.add.length && !change.remove.length) throw new EbakError('USAGE', 'tag needs --add, --remove or --set', { hint: tagCommand.usage });
  return change;
}

/** The snapshot's tags after `change`; undefined when they stay as they were. */
function newTags({ snapshot }: SnapshotEntry, change: TagChange): string[] | undefined {
  const tags = change.set ?? [...new Set([...snapshot.tags, ...change.add])].filter((t) => !change.remove.includes(t));
  return tags.length === snapshot.tags.length && tags.every((t, i) => t === snapshot.tags[i]) ? undefined : tags;
}
