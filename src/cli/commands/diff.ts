import { parseArgs } from 'node:util';
import { EbakError } from '../../errors.js';
import type { TreeNode } from '../../repository/format/tree.js';
import type { Repository } from '../../repository/repository.js';
import type { Command } from '../command.js';
import { withRepo } from '../session.js';

interface Change {
  path: string;
  change: 'added' | 'removed' | 'modified';
}

export const diffCommand: Command = {
  name: 'diff',
  summary: 'show what changed between two snapshots',
  usage: 'ebak diff <snapshot-a> <snapshot-b>',
  async run(argv, ctx) {
    const { positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} });
    if (positionals.length !== 2) throw new EbakError('USAGE', 'diff needs two snapshots', { hint: diffCommand.usage });
    return withRepo(ctx, { index: true }, async (repo) => {
      const a = await repo.findSnapshot(positionals[0]!);
      const b = await repo.findSnapshot(positionals[1]!);
      const changes: Change[] = [];
      await diffTrees(repo, a.snapshot.tree, b.snapshot.tree, '', changes);
      for (const c of changes) ctx.out.line(`${c.change === 'added' ? '+' : c.change === 'removed' ? '-' : 'M'}    ${c.path}`);
      ctx.out.result(changes);
      return 0;
    });
  },
};

/** Walks both trees together, descending only where subtree ids differ. */
async function diffTrees(repo: Repository, a: string | undefined, b: string | undefined, base: string, out: Change[]): Promise<void> {
  if (a === b) return;
  const na = new Map((a ? await repo.loadTree(a) : []).map((n) => [n.name, n]));
  const nb = new Map((b ? await repo.loadTree(b) : []).map((n) => [n.name, n]));
  const names = [...new Set([...na.keys(), ...nb.keys()])].sort();
  for (const name of names) {
    const x = na.get(name);
    const y = nb.get(name);
    const path = `${base}/${name}`;
    if (!x || !y) {
      out.push({ path, change: x ? 'removed' : 'added' });
      if ((x ?? y)!.type === 'dir') await diffTrees(repo, x?.subtree, y?.subtree, path, out);
    } else if (x.type === 'dir' && y.type === 'dir') {
      await diffTrees(repo, x.subtree, y.subtree, path, out);
    } else if (differs(x, y)) out.push({ path, change: 'modified' });
  }
}

function differs(x: TreeNode, y: TreeNode): boolean {
  return x.type !== y.type || x.mode !== y.mode || x.target !== y.target || x.size !== y.size || JSON.stringify(x.content) !== JSON.stringify(y.content);
}
