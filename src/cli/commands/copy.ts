/**
 * `ebak copy --from-repo LOCATION [snapshot-id...]` (restic's command):
 * snapshots of another repository rebuilt in this one, uploading only the
 * blobs this one lacks (src/operations/copy.ts). The source opens as any
 * repository does, with its own password (--from-password-file,
 * --from-password-command, EBAK_FROM_PASSWORD) or this machine's vault
 * device session for it. `--from-vault URL` names the source's vault: on a
 * machine with no device session for the source, copy logs in first (OPAQUE,
 * with the source password), as `ebak login` would, and keeps the session.
 */
import { environment, sourceEnvironment } from '../../config/index.js';
import { EbakError } from '../../errors.js';
import { copySnapshots, type CopyEvent } from '../../operations/index.js';
import { deviceVault, loginVault } from '../../keys/index.js';
import { defineCommand, type Context } from '../command.js';
import { EXIT_PARTIAL } from '../exit.js';
import { countLine } from '../progress.js';
import { selectSnapshots, snapshotFilter } from '../select.js';
import { passwordFromEnv } from '../secrets.js';
import { backendFor, interruptible, withRepo } from '../session.js';

export const copyCommand = defineCommand({
  name: 'copy',
  usage: 'ebak copy --from-repo LOCATION [--from-password-file F | --from-password-command C | --from-vault URL] [snapshot-id...] [--host H] [--tag T[,T]] [--path P] [--json]',
  async run({ positionals, values, lists }, ctx) {
    const from = sourceContext(ctx, values);
    if (values['from-vault'] !== undefined) await loginToSource(from, values['from-vault']);
    return withRepo(from, { index: true, pool: true, action: 'restore' }, (source, pool) => withRepo(ctx, { index: true, action: 'backup' }, async (target) => {
      const { entries, damaged } = await selectSnapshots(source, positionals, snapshotFilter(lists));
      for (const e of damaged) ctx.out.warn(`${e.message}; not copied`);
      let done = 0;
      const onEvent = (e: CopyEvent) => {
        if (e.type === 'warning') return ctx.out.warn(e.message);
        ctx.out.info(e.type === 'copied' ? `copied ${e.from.slice(0, 8)} → ${e.to.slice(0, 8)}` : `skipped ${e.id.slice(0, 8)}: already here as ${e.to.slice(0, 8)}`);
        ctx.out.progress(countLine('snapshots', ++done, entries.length));
      };
      ctx.out.progress(countLine('snapshots', 0, entries.length));
      const r = await interruptible(ctx, (signal) => copySnapshots(source, source.blobReader(pool!), target, pool!, entries, { signal, onEvent }));
      ctx.out.info(`${r.copied.length} snapshot${r.copied.length === 1 ? '' : 's'} copied, ${r.skipped} already present, ${r.blobsAdded} blobs uploaded`);
      ctx.out.result({ copied: r.copied.map((c) => ({ source_snapshot_id: c.from, snapshot_id: c.to })), skipped: r.skipped, blobs_added: r.blobsAdded });
      return damaged.length > 0 ? EXIT_PARTIAL : 0;
    }));
  },
});

/** The source's vault device session on this machine: the one it has, or a new one from a login with the source password. */
async function loginToSource(from: Context, url: string): Promise<void> {
  const { configDir, vaultTrust } = environment(from.env);
  const backend = await backendFor(from);
  try {
    const have = await deviceVault(backend, configDir);
    if (have !== undefined && have !== url) throw new EbakError('USAGE', `the source's device session on this machine is for the vault ${have}, not ${url}`);
    if (have !== undefined) return;
    const password = await passwordFromEnv(from);
    if (!password) throw new EbakError('USAGE', 'copy --from-vault: this machine has no device session for the source, and no source password to log in with', { hint: 'pass --from-password-file (or set EBAK_FROM_PASSWORD), or run `ebak login --vault URL` for the source first' });
    const r = await loginVault(backend, url, password, configDir, vaultTrust);
    from.out.info(`logged in to ${url} as ${r.account} for the source; device session saved in ${r.deviceFile}`);
  } finally {
    await backend.close();
  }
}

/** The context the source repository opens in: its own location and secrets, none of this repository's. */
function sourceContext(ctx: Context, values: Record<string, string | undefined>): Context {
  const env = sourceEnvironment(ctx.env);
  const repo = values['from-repo'];
  const given = environment(env);
  if (repo === undefined && values['from-repository-file'] === undefined && given.repository === undefined && given.repositoryFile === undefined)
    throw new EbakError('USAGE', 'copy needs --from-repo, the repository to copy from', { hint: 'pass --from-repo <location> (or set EBAK_FROM_REPOSITORY)' });
  return {
    ...ctx, env,
    globals: {
      ...(repo !== undefined ? { repo } : {}),
      ...(values['from-repository-file'] !== undefined ? { repositoryFile: values['from-repository-file'] } : {}),
      ...(values['from-password-file'] !== undefined ? { passwordFile: values['from-password-file'] } : {}),
      ...(values['from-password-command'] !== undefined ? { passwordCommand: values['from-password-command'] } : {}),
    },
  };
}
