import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { withRepo } from '../session.js';

export const snapshotsCommand: Command = {
  name: 'snapshots',
  summary: 'list snapshots',
  usage: 'ebak snapshots [--tag t] [--host h]',
  async run(argv, ctx) {
    const { values } = parseArgs({ args: argv, options: { tag: { type: 'string', multiple: true }, host: { type: 'string' } } });
    return withRepo(ctx, {}, async (repo) => {
      const { snapshots, damaged } = await repo.readSnapshots();
      const list = snapshots.filter(
        ({ snapshot: s }) => (!values.host || s.hostname === values.host) && (values.tag ?? []).every((t) => s.tags.includes(t)),
      );
      for (const { id, snapshot: s } of list) ctx.out.line(`${id.slice(0, 8)}  ${s.time}  ${s.hostname}  ${s.tags.join(',') || '-'}  ${s.paths.join(' ')}`);
      ctx.out.line(`${list.length} snapshot${list.length === 1 ? '' : 's'}`);
      if (damaged[0]) throw damaged[0]; // the intact ones are listed above; the command still fails
      ctx.out.result(list.map(({ id, snapshot: s }) => ({ ...s, id, short_id: id.slice(0, 8) })));
      return 0;
    });
  },
};
