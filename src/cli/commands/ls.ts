import { parseArgs } from 'node:util';
import { EbakError } from '../../errors.js';
import type { TreeNode } from '../../repository/format/tree.js';
import type { Repository } from '../../repository/repository.js';
import type { Command } from '../command.js';
import { withRepo } from '../session.js';

export const lsCommand: Command = {
  name: 'ls',
  summary: 'list the files in a snapshot',
  usage: 'ebak ls <snapshot|latest> [path]',
  async run(argv, ctx) {
    const { positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} });
    if (!positionals[0]) throw new EbakError('USAGE', 'ls needs a snapshot', { hint: lsCommand.usage });
    const prefix = positionals[1] ? '/' + positionals[1].split('/').filter(Boolean).join('/') : '';
    return withRepo(ctx, { index: true }, async (repo) => {
      const { snapshot } = await repo.findSnapshot(positionals[0]!);
      const entries: object[] = [];
      for await (const { path, node } of walk(repo, snapshot.tree, '')) {
        if (prefix && path !== prefix && !path.startsWith(prefix + '/')) continue;
        ctx.out.line(path);
        entries.push({ path, type: node.type, size: node.size, mode: node.mode, mtime: nsToIso(node.mtime), ...(node.target ? { target: node.target } : {}) });
      }
      ctx.out.result(entries);
      return 0;
    });
  },
};

/** Depth-first walk of a tree, yielding each entry with its path ("/a/b"). Skips subtrees outside nothing. */
export async function* walk(repo: Repository, treeId: string, base: string): AsyncGenerator<{ path: string; node: TreeNode }> {
  for (const node of await repo.loadTree(treeId)) {
    const path = `${base}/${node.name}`;
    yield { path, node };
    if (node.type === 'dir') yield* walk(repo, node.subtree!, path);
  }
}

export function nsToIso(ns: string): string {
  return new Date(Number(BigInt(ns) / 1_000_000n)).toISOString();
}
