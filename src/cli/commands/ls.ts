/**
 * `ebak ls <snapshot> [dir...]`, restic's command and semantics (0.17+):
 * without a directory, every entry of the snapshot; with directories, each
 * one and the entries directly in it, or with `--recursive` everything
 * below it (the directories on the way are walked, not listed). `-l` prints
 * restic's long line; `--json` is restic's NDJSON: a snapshot line
 * (`struct_type: "snapshot"`), then one node line per entry. A name that is
 * not UTF-8 is printed as its bytes, in JSON with U+FFFD (listing.ts).
 */
import { EbakError } from '../../errors.js';
import type { Step } from '../../walker/index.js';
import { walk } from '../../walker/index.js';
import { defineCommand } from '../command.js';
import { entryLine, jsonNode, PathBytes } from '../listing.js';
import { selectOne, snapshotFilter } from '../select.js';
import { withRepo } from '../session.js';

export const lsCommand = defineCommand({
  name: 'ls',
  usage: 'ebak ls <snapshot|latest> [dir...] | ls --at <time> [--host H] [--path P] [dir...]   [-l] [--recursive] [--json]',
  async run({ positionals, switches, values, lists }, ctx) {
    // With --at the snapshot is chosen by time and the one argument is a directory (two arguments: a snapshot too, refused).
    const [ref, ...rest] = values.at === undefined || positionals.length > 1 ? positionals : [undefined, ...positionals];
    if (!ref && values.at === undefined) throw new EbakError('USAGE', 'ls needs a snapshot (or --at)', { hint: lsCommand.usage });
    const dirs = rest.map((p) => '/' + p!.split('/').filter(Boolean).join('/'));
    const select = selector(dirs, switches.recursive === true);
    return withRepo(ctx, { index: true, readOnly: true }, async (repo) => {
      const { id, snapshot } = await selectOne(repo, ref, values.at, snapshotFilter(lists), (m) => ctx.out.warn(m));
      ctx.out.record({ ...snapshot, id, short_id: id.slice(0, 8), message_type: 'snapshot', struct_type: 'snapshot' });
      let listed = 0;
      const bytes = new PathBytes();
      await walk(repo, snapshot.tree, {
        node(path, node) {
          const raw = bytes.of(path, node);
          const { list, step } = select(path, node.type === 'dir');
          if (!list) return step;
          listed++;
          ctx.out.line(entryLine(path, node, switches.long === true, raw));
          ctx.out.record({ ...jsonNode(path, node), message_type: 'node' });
          return step;
        },
      });
      // As restic, a directory that matches nothing is no error (exit 0); it is named.
      if (dirs.length > 0 && listed === 0) ctx.out.warn(`${dirs.join(', ')} matches nothing in snapshot ${ref ?? `at ${values.at}`} (ebak snapshots shows its paths)`);
      return 0;
    });
  },
});

/**
 * Whether the entry at `path` is listed, and whether the walk goes below it:
 * an entry in (or at) a directory is listed; the walk descends into one
 * that leads to a directory, or anywhere below one with `recursive`.
 */
function selector(dirs: readonly string[], recursive: boolean): (path: string, isDir: boolean) => { list: boolean; step: Step } {
  const under = (path: string, dir: string) => path === dir || path.startsWith(dir === '/' ? '/' : dir + '/');
  return (path, isDir) => {
    if (dirs.length === 0) return { list: true, step: undefined };
    const list = dirs.some((d) => under(path, d));
    const descend = (list && recursive) || dirs.some((d) => under(d, path));
    return { list, step: descend || !isDir ? undefined : 'skip' };
  };
}
