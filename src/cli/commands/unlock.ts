/**
 * `ebak unlock` (restic's command): removes stale locks, those not
 * refreshed for 30 minutes or held by a process gone from this host; with
 * `--remove-all`, every lock (only when no ebak runs on the repository).
 */
import { defineCommand } from '../command.js';
import { withRepo } from '../session.js';

export const unlockCommand = defineCommand({
  name: 'unlock',
  usage: 'ebak unlock [--remove-all]',
  positionals: false,
  async run({ switches }, ctx) {
    return withRepo(ctx, {}, async (repo) => {
      const removed = await repo.removeLocks(switches['remove-all'] === true);
      for (const id of removed) ctx.out.line(`removed lock locks/${id}`);
      ctx.out.info(`successfully removed ${removed.length} lock${removed.length === 1 ? '' : 's'}`);
      ctx.out.result({ removed });
      return 0;
    });
  },
});
