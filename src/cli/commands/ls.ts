import { parseFlags } from '../../config/index.js';
import { EbakError } from '../../errors.js';
import { walk } from '../../walker/index.js';
import type { Command } from '../command.js';
import { withRepo } from '../session.js';

export const lsCommand: Command = {
  name: 'ls',
  summary: 'list the files in a snapshot',
  usage: 'ebak ls <snapshot|latest> [path]',
  async run(argv, ctx) {
    const { positionals } = parseFlags('ls', argv, ctx.env);
    if (!positionals[0]) throw new EbakError('USAGE', 'ls needs a snapshot', { hint: lsCommand.usage });
    const prefix = positionals[1] ? '/' + positionals[1].split('/').filter(Boolean).join('/') : '';
    return withRepo(ctx, { index: true, readOnly: true }, async (repo) => {
      const { snapshot } = await repo.findSnapshot(positionals[0]!);
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
      if (prefix && entries.length === 0) ctx.out.warn(`${prefix} matches nothing in snapshot ${positionals[0]} (ebak snapshots shows its paths)`);
      ctx.out.result(entries);
      return 0;
    });
  },
};

function nsToIso(ns: string): string {
  return new Date(Number(BigInt(ns) / 1_000_000n)).toISOString();
}
