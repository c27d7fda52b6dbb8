import { parseFlags } from '../../config/index.js';
import { EbakError } from '../../errors.js';
import type { TreeLoader } from '../../repository/api.js';
import type { TreeNode } from '../../repository/format/tree.js';
import { walk } from '../../walker/index.js';
import type { Command } from '../command.js';
import { selectOne, snapshotFilter } from '../select.js';
import { withRepo } from '../session.js';

interface Change {
  path: string;
  change: 'added' | 'removed' | 'modified';
}

export const diffCommand: Command = {
  name: 'diff',
  summary: 'show what changed between two snapshots',
  usage: 'ebak diff <snapshot-a> <snapshot-b> | diff --at <time> [--host H] [--path P] <snapshot-b>',
  async run(argv, ctx) {
    const { positionals, values, lists } = parseFlags('diff', argv, ctx.env);
    // --at stands for the first snapshot: what changed between then and snapshot-b.
    const wanted = values.at === undefined ? 2 : 1;
    if (positionals.length !== wanted) throw new EbakError('USAGE', values.at === undefined ? 'diff needs two snapshots' : 'diff --at needs one snapshot (the one compared with the snapshot at that time)', { hint: diffCommand.usage });
    return withRepo(ctx, { index: true, readOnly: true }, async (repo) => {
      const a = await selectOne(repo, wanted === 2 ? positionals[0] : undefined, values.at, snapshotFilter(lists), (m) => ctx.out.warn(m));
      const b = await repo.findSnapshot(positionals.at(-1)!);
      const changes: Change[] = [];
      await diffTrees(repo, a.snapshot.tree, b.snapshot.tree, '', changes);
      for (const c of changes) ctx.out.line(`${c.change === 'added' ? '+' : c.change === 'removed' ? '-' : 'M'}    ${c.path}`);
      ctx.out.result(changes);
      return 0;
    });
  },
};

/**
 * Compares two trees side by side, descending only where subtree ids
 * differ; below an entry only one side has, the walker lists every node.
 */
async function diffTrees(trees: TreeLoader, a: string, b: string, base: string, out: Change[]): Promise<void> {
  if (a === b) return;
  const na = new Map((await trees.loadTree(a)).map((n) => [n.name, n]));
  const nb = new Map((await trees.loadTree(b)).map((n) => [n.name, n]));
  const names = [...new Set([...na.keys(), ...nb.keys()])].sort();
  for (const name of names) {
    const x = na.get(name);
    const y = nb.get(name);
    const path = `${base}/${name}`;
    if (!x || !y) {
      const change = x ? 'removed' : 'added';
      out.push({ path, change });
      const only = (x ?? y)!;
      if (only.type === 'dir') await walk(trees, only.subtree!, { node: (p) => void out.push({ path: p, change }) }, path);
    } else if (x.type === 'dir' && y.type === 'dir') {
      await diffTrees(trees, x.subtree!, y.subtree!, path, out);
    } else if (differs(x, y)) out.push({ path, change: 'modified' });
  }
}

function differs(x: TreeNode, y: TreeNode): boolean {
  return x.type !== y.type || x.mode !== y.mode || x.target !== y.target || x.size !== y.size || JSON.stringify(x.content) !== JSON.stringify(y.content);
}
