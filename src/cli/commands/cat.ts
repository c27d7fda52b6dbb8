import { parseFlags } from '../../config/index.js';
import { EbakError } from '../../errors.js';
import type { Command } from '../command.js';
import { withRepo } from '../session.js';

export const catCommand: Command = {
  name: 'cat',
  summary: 'print the decrypted config or a snapshot (for debugging)',
  usage: 'ebak cat config | ebak cat snapshot <id>',
  async run(argv, ctx) {
    const { positionals } = parseFlags('cat', argv, ctx.env);
    const [what, id] = positionals;
    if (what !== 'config' && !(what === 'snapshot' && id)) throw new EbakError('USAGE', 'cat needs "config" or "snapshot <id>"', { hint: catCommand.usage });
    return withRepo(ctx, {}, async (repo) => {
      const value = what === 'config' ? repo.config : (await repo.findSnapshot(id!)).snapshot;
      process.stdout.write(JSON.stringify(value, null, 2) + '\n');
      return 0;
    });
  },
};
