import { parseFlags } from '../../config/index.js';
import type { Command } from '../command.js';
import { EXIT_PARTIAL } from '../exit.js';
import { withRepo } from '../session.js';

export const snapshotsCommand: Command = {
  name: 'snapshots',
  summary: 'list snapshots',
  usage: 'ebak snapshots [--tag t] [--host h]',
  async run(argv, ctx) {
    const { values, lists } = parseFlags('snapshots', argv, ctx.env, { positionals: false });
    return withRepo(ctx, {}, async (repo) => {
      const { snapshots, damaged } = await repo.readSnapshots();
      const list = snapshots.filter(
        ({ snapshot: s }) => (!values.host || s.hostname === values.host) && (lists.tag ?? []).every((t) => s.tags.includes(t)),
      );
      for (const { id, snapshot: s } of list) ctx.out.line(`${id.slice(0, 8)}  ${s.time}  ${s.hostname}  ${s.tags.join(',') || '-'}  ${s.paths.join(' ')}`);
      ctx.out.line(`${list.length} snapshot${list.length === 1 ? '' : 's'}`);
      // The intact ones are listed; each damaged one is named, and the exit code says the list is incomplete.
      for (const e of damaged) ctx.out.warn(e.message);
      ctx.out.result(list.map(({ id, snapshot: s }) => ({ ...s, id, short_id: id.slice(0, 8) })));
      return damaged.length > 0 ? EXIT_PARTIAL : 0;
    });
  },
};
