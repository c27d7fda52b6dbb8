/**
 * `ebak check`: the repository verified (src/operations/check.ts), then the
 * retention lock's max-days report: a snapshot kept longer than --max-days
 * is a warning line (exit 0, as check's other warnings; errors exit 1).
 */
import { environment } from '../../config/index.js';
import { EbakError, isEbakError } from '../../errors.js';
import { check } from '../../operations/index.js';
import { localRetention, overMaxDays } from '../../operations/retention.js';
import { defineCommand } from '../command.js';
import { interruptible, withRepo } from '../session.js';

export const checkCommand = defineCommand({
  name: 'check',
  usage: 'ebak check [--read-data]',
  positionals: false,
  async run({ switches }, ctx) {
    return withRepo(ctx, { cache: false, readOnly: true }, async (repo, _pool, _backend, head) => {
      const res = await interruptible(ctx, (signal) => check(repo, {
        readData: switches['read-data'] === true,
        signal,
        onEvent: (e) => (e.type === 'warning' ? ctx.out.warn(e.message) : ctx.out.progress(e.message)),
      }));
      // A damaged retention object is one of check's errors already: its max-days report is left out.
      const overdue = await overMaxDays(repo, head ?? localRetention(repo, environment(ctx.env).testNow ?? new Date())).catch((e: unknown) => {
        if (isEbakError(e) && res.errors.includes(e.message)) return [];
        throw e;
      });
      res.warnings.push(...overdue);
      for (const w of res.warnings) ctx.out.warn(w);
      for (const e of res.errors) ctx.out.line(`error: ${e}`);
      ctx.out.info(`${res.snapshots} snapshots, ${res.packs} packs, ${res.blobs} blobs: ${res.errors.length ? `${res.errors.length} errors` : 'no errors'}`);
      ctx.out.result({ ok: res.errors.length === 0, ...res });
      if (res.errors.length) throw new EbakError('CORRUPT', `check found ${res.errors.length} error${res.errors.length === 1 ? '' : 's'}; first: ${res.errors[0]}`);
      return 0;
    });
  },
});
