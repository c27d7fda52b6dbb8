/**
 * `ebak repair index` (restic's command): packs no readable index covers are
 * indexed from their own authenticated headers into one new index file, and
 * damaged index files are removed, under an exclusive lock. Data is never
 * deleted. (`repair snapshots` is not built yet: the command says so.)
 */
import { parseFlags } from '../../config/index.js';
import { EbakError } from '../../errors.js';
import { withLock } from '../../repository/locks.js';
import type { Command } from '../command.js';
import { withRepo } from '../session.js';

const USAGE = 'ebak repair index';

export const repairCommand: Command = {
  name: 'repair',
  summary: 'rebuild the index from pack headers (repair index)',
  usage: USAGE,
  async run(argv, ctx) {
    const { positionals } = parseFlags('repair', argv, ctx.env);
    if (positionals[0] === 'snapshots') throw new EbakError('NOT_IMPLEMENTED', '`ebak repair snapshots` is not built yet', { hint: 'restore what a damaged snapshot still reaches with `ebak restore`; a later release rewrites damaged snapshots' });
    if (positionals[0] !== 'index' || positionals.length !== 1) throw new EbakError('USAGE', `usage: ${USAGE}`);
    return withRepo(ctx, { cache: false }, async (repo, _pool, _backend, head) => {
      const r = await withLock(repo, 'exclusive', (m) => ctx.out.warn(m), () => repo.repairIndex(head));
      ctx.out.line(r.written
        ? `indexed ${r.packs} pack(s) from their headers into index/${r.written.slice(0, 10)}; removed ${r.removed.length} damaged index file(s)`
        : `every pack is indexed; removed ${r.removed.length} damaged index file(s)`);
      ctx.out.result(r);
      return 0;
    });
  },
};
