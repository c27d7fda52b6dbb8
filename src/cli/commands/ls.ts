import { parseFlags } from '../../config/index.js';
import { EbakError } from '../../errors.js';
import { walk } from '../../walker/index.js';
import type { Command } from '../command.js';
import { selectOne, snapshotFilter } from '../select.js';
import { withRepo } from '../session.js';

export const lsCommand: Command = {
  name: 'ls',
  summary: 'list the files in a snapshot',
  usage: 'ebak ls <snapshot|latest> [path] | ls --at <time> [--host H] [--path P] [path]',
  async run(argv, ctx) {
    const { positionals, values, lists } = parseFlags('ls', argv, ctx.env);
    // With --at the snapshot is chosen by time and the one argument is the path (two arguments: a snapshot too, refused).
    const [ref, under] = values.at === undefined || positionals.length > 1 ? positionals : [undefined, ...positionals];
    if (!ref && values.at === undefined) throw new EbakError('USAGE', 'ls needs a snapshot (or --at)', { hint: lsCommand.usage });
    const prefix = under ? '/' + under.split('/').filter(Boolean).join('/') : '';
    return withRepo(ctx, { index: true, readOnly: true }, async (repo) => {
      const { snapshot } = await selectOne(repo, ref, values.at, snapshotFilter(lists), (m) => ctx.out.warn(m));
      const entries: object[] = [];
      await walk(repo, snapshot.tree, {
        node(path, node) {
          // Directories on the way to the prefix are walked, not listed; others outside it are not read.
          if (prefix && path !== prefix && !path.startsWith(prefix + '/')) return prefix.startsWith(path + '/') ? undefined : 'skip';
          ctx.out.line(path);
          entries.push({ path, type: node.type, size: node.size, mode: node.mode, mtime: nsToIso(node.mtime), ...(node.target ? { target: node.target } : {}) });
        },
      });
      // As restic, a path that matches nothing is no error (exit 0); it is named.
      if (prefix && entries.length === 0) ctx.out.warn(`${prefix} matches nothing in snapshot ${ref ?? `at ${values.at}`} (ebak snapshots shows its paths)`);
      ctx.out.result(entries);
      return 0;
    });
  },
};

function nsToIso(ns: string): string {
  return new Date(Number(BigInt(ns) / 1_000_000n)).toISOString();
}
