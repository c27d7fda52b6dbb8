import { environment, parseFlags } from '../../config/index.js';
import { EbakError } from '../../errors.js';
import { opensWriteOnly } from '../../keys/index.js';
import { listKeys } from '../../repository/keyring.js';
import { writeOnlyRefusal } from '../../repository/writeonly/credential.js';
import { withLock } from '../../repository/locks.js';
import { formatRecoveryCode, generateRecoveryCode } from '../../repository/format/keyfile.js';
import type { Repository } from '../../repository/repository.js';
import type { Command } from '../command.js';
import { firstLine, passwordFromEnv, prompt, secretFor } from '../secrets.js';
import { backendFor, withRepo } from '../session.js';
import { OFFLINE_WARNING } from './init.js';

export const keyCommand: Command = {
  name: 'key',
  summary: 'manage key envelopes: list, add (password, recovery or write-only), passwd, remove',
  usage: 'ebak key list | ebak key add [--recovery | --write-only] [--new-password-file f] | ebak key passwd [--new-password-file f] | ebak key remove <id>',
  async run(argv, ctx) {
    const { positionals, values, switches } = parseFlags('key', argv, ctx.env);
    const [sub, id] = positionals;
    if (sub === 'list') return list(ctx);
    if (sub === 'add') {
      return withRepo(ctx, {}, async (repo) => {
        if (switches['write-only']) return addWriteOnly(repo, ctx, values['new-password-file'], switches.recovery);
        const current = await secretFor(ctx);
        if (switches.recovery) {
          const code = generateRecoveryCode();
          const kid = await repo.addKey(current, 'recovery', code);
          ctx.out.line(`added recovery key ${kid.slice(0, 8)}:\n  ${formatRecoveryCode(code)}`);
          ctx.out.result({ id: kid, kind: 'recovery', recovery_key: formatRecoveryCode(code) });
        } else {
          const pw = await newPassword(values['new-password-file']);
          const kid = await repo.addKey(current, 'password', pw);
          ctx.out.line(`added password key ${kid.slice(0, 8)}`);
          ctx.out.warn(OFFLINE_WARNING);
          ctx.out.result({ id: kid, kind: 'password' });
        }
        return 0;
      });
    }
    if (sub === 'passwd') return passwd(ctx, values['new-password-file']);
    if (sub === 'remove' && id) {
      return withRepo(ctx, {}, async (repo) => {
        const removed = await withLock(repo, 'exclusive', (m) => ctx.out.warn(m), () => repo.removeKey(id));
        ctx.out.line(`removed key ${removed.slice(0, 8)}`);
        ctx.out.result({ removed });
        return 0;
      });
    }
    throw new EbakError('USAGE', 'key needs list, add, passwd or remove <id>', { hint: keyCommand.usage });
  },
};

async function list(ctx: Parameters<Command['run']>[1]): Promise<number> {
  // Listing needs no secret: envelopes are readable without one, which is also what lets `check` name damaged keys.
  // A write-only credential is refused all the same, as by every key command.
  const backend = await backendFor(ctx);
  try {
    const e = environment(ctx.env);
    const recovery = Boolean(ctx.globals.recoveryKeyFile ?? e.recoveryKeyFile);
    if (!recovery && (await opensWriteOnly(backend, e.configDir, await passwordFromEnv(ctx)))) throw writeOnlyRefusal();
    const keys = await listKeys(backend);
    for (const k of keys) ctx.out.line(`${k.id.slice(0, 8)}  ${k.file ? `${k.file.kind}  ${k.file.created}  ${k.file.username}@${k.file.hostname}` : `DAMAGED: ${k.damaged}`}`);
    ctx.out.result(keys.map((k) => ({ id: k.id, ...(k.file ? { kind: k.file.kind, created: k.file.created, hostname: k.file.hostname, username: k.file.username } : { damaged: k.damaged }) })));
    return 0;
  } finally {
    await backend.close();
  }
}

/** `key add --write-only`: a credential with its own password that can run `backup` and nothing else. */
async function addWriteOnly(repo: Repository, ctx: Parameters<Command['run']>[1], passwordFile: string | undefined, recovery: boolean | undefined): Promise<number> {
  if (recovery) throw new EbakError('USAGE', '--write-only and --recovery are mutually exclusive');
  const kid = await repo.addWriteOnlyKey(await newPassword(passwordFile));
  ctx.out.line(`added write-only key ${kid.slice(0, 8)}: its password can run \`backup\` and nothing else`);
  ctx.out.warn(OFFLINE_WARNING);
  ctx.out.result({ id: kid, kind: 'write-only' });
  return 0;
}

/**
 * `key passwd` (restic's): the password of the key this session opened
 * changes, as a new key envelope saved before the old one is removed
 * (Repository.replacePasswordKey), under an exclusive lock.
 */
async function passwd(ctx: Parameters<Command['run']>[1], file: string | undefined): Promise<number> {
  return withRepo(ctx, {}, async (repo) => {
    const current = await secretFor(ctx);
    if (current.recoveryCode !== undefined)
      throw new EbakError('USAGE', 'key passwd changes a password; this session opened the repository with the recovery key', { hint: 'open it with the password to change, or add a password key with `ebak key add`' });
    const pw = await newPassword(file);
    const { added, removed } = await withLock(repo, 'exclusive', (m) => ctx.out.warn(m), () => repo.replacePasswordKey(current, pw));
    ctx.out.line(`saved new key as ${added.slice(0, 8)}, removed old key ${removed.slice(0, 8)}`);
    ctx.out.result({ added, removed });
    return 0;
  });
}

async function newPassword(file: string | undefined): Promise<string> {
  if (file) {
    const pw = await firstLine(file);
    if (pw === '') throw new EbakError('USAGE', `${file}: the new password is empty; no key added`);
    return pw;
  }
  if (!process.stdin.isTTY) throw new EbakError('USAGE', 'key add needs --new-password-file when not on a terminal');
  const a = await prompt('new password: ');
  if (!a || (await prompt('repeat the new password: ')) !== a) throw new EbakError('USAGE', 'the passwords are empty or differ; no key added');
  return a;
}
