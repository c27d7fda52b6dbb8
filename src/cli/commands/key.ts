import { environment } from '../../config/index.js';
import { EbakError } from '../../errors.js';
import { opensWriteOnly } from '../../keys/index.js';
import { listKeys } from '../../repository/keyring.js';
import { writeOnlyRefusal } from '../../repository/writeonly/credential.js';
import { withLock } from '../../repository/locks.js';
import { rotateMaster, type RotateResult } from '../../operations/index.js';
import { formatRecoveryCode, generateRecoveryCode, normalizeRecoveryCode } from '../../repository/format/keyfile.js';
import { vaultAccountOf } from '../../repository/keyring.js';
import type { RotationSecrets, RotationVault } from '../../repository/rotate.js';
import type { Backend } from '../../storage/backend.js';
import { DEVICE_FORMAT, findDevice } from '../../vault/client/devicefile.js';
import type { Repository } from '../../repository/repository.js';
import { defineCommand, type Command, type Context } from '../command.js';
import { firstLine, passwordFromEnv, prompt, secretFor } from '../secrets.js';
import { backendFor, interruptible, withRepo } from '../session.js';
import { OFFLINE_WARNING } from './init.js';

export const keyCommand = defineCommand({
  name: 'key',
  usage: [
    'ebak key list | ebak key add [--recovery | --write-only] [--new-password-file f] | ebak key passwd [--new-password-file f] | ebak key remove <id>',
    '       ebak key rotate-master [--rewrite] [--resume] [--dry-run]',
    '',
    'rotate-master: a new master key; everything written from now on is sealed under it, and the old key (kept',
    'wrapped under the new one) still reads what it sealed. The key file of the password given (EBAK_PASSWORD,',
    '--password-file) is re-wrapped, and the recovery key\'s only with --recovery-key-file. EVERY OTHER KEY FILE IS',
    'REMOVED: other passwords, write-only credentials, the recovery key unless given. It lists them first',
    '(--dry-run only lists); their holders need `ebak key add` (or `key add --recovery`) again. --rewrite also',
    're-encrypts everything the old keys sealed (a prune that moves their packs; snapshot ids change) and then',
    'drops the old keys, so a leaked old key file opens nothing at all. Interrupted, it leaves a repository the',
    'password opens; run it again (--resume: finish without a new key) to complete. In vault mode it needs the',
    'password and --recovery-key-file; the vault re-wraps its envelope, every device follows, write-only devices are retired.',
  ].join('\n'),
  async run({ positionals, values, switches }, ctx) {
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
    if (sub === 'rotate-master') return rotate(ctx, { rewrite: switches.rewrite === true, resume: switches.resume === true, dryRun: switches['dry-run'] === true });
    if (sub === 'remove' && id) {
      return withRepo(ctx, {}, async (repo) => {
        const removed = await withLock(repo, 'exclusive', (m) => ctx.out.warn(m), () => repo.removeKey(id));
        ctx.out.line(`removed key ${removed.slice(0, 8)}`);
        ctx.out.result({ removed });
        return 0;
      });
    }
    throw new EbakError('USAGE', 'key needs list, add, passwd, remove <id> or rotate-master', { hint: keyCommand.usage.split('\n')[0]! });
  },
});

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

/**
 * `key rotate-master` (docs/format.md, "Master-key rotation";
 * operations/rotate.ts): lists the key files it re-wraps and removes, then
 * rotates; progress lines go to stderr. In vault mode (a device session
 * opened the repository) the vault gets the new key too (vaultRotation); a
 * vault's repository opened with its recovery key is refused (the vault's
 * envelopes would wrap the retired key).
 */
async function rotate(ctx: Context, flags: { rewrite: boolean; resume: boolean; dryRun: boolean }): Promise<number> {
  return withRepo(ctx, { pool: flags.rewrite, deviceFirst: true }, async (repo, pool, backend, head) => {
    const progress = (m: string) => ctx.out.quiet || process.stderr.write(`rotate-master: ${m}\n`);
    const held = head ? undefined : vaultAccountOf(await repo.listKeys());
    if (held) throw new EbakError('USAGE', `vault account ${held} holds this repository: rotating it with the recovery key would leave the vault's envelopes wrapping the retired key; nothing was changed`, { hint: 'log in with `ebak login` and run `ebak key rotate-master` through the vault' });
    const vault = head ? await vaultRotation(ctx, backend) : undefined;
    const secrets = vault ? vault.secrets : await rotationSecrets(ctx);
    const res = await interruptible(ctx, (signal) => rotateMaster(repo, pool, {
      ...flags, secrets, signal, vault: vault?.port, head,
      onEvent: (e) => (e.type === 'warning' ? ctx.out.warn(e.message) : progress(e.message)),
    }));
    printRotation(ctx, res);
    ctx.out.result(res.plan || res.rewrite ? rotationJson(res) : { generation: res.generation, nothing_to_do: true });
    return 0;
  });
}

/**
 * Vault mode: the password is the vault's (a step-up login whose export key
 * wraps the new envelope), and the recovery key's file is the one key file
 * re-wrapped, so both are required; the device file is this machine's.
 */
async function vaultRotation(ctx: Context, backend: Backend): Promise<{ secrets: RotationSecrets; port: RotationVault }> {
  const password = await passwordFromEnv(ctx);
  const { recoveryCode } = await rotationSecrets(ctx);
  if (password === undefined || recoveryCode === undefined)
    throw new EbakError('USAGE', 'rotate-master in vault mode needs the password (EBAK_PASSWORD or --password-file: the vault re-wraps its envelope) and the recovery key (--recovery-key-file: it is re-wrapped too)');
  const device = await findDevice(backend, environment(ctx.env).configDir);
  if (device?.format !== DEVICE_FORMAT) throw new EbakError('USAGE', 'rotate-master in vault mode runs on a full device');
  const { rotateWithVault } = await import('../../vault/client/device.js');
  return {
    secrets: { recoveryCode },
    port: { account: device.account, rotate: async (next, current, held) => (await rotateWithVault(device, password, next, current, held)).retired.map((d) => d.id) },
  };
}

/** The secrets whose key files are re-wrapped: the password (if given) and the recovery key (only with --recovery-key-file). */
async function rotationSecrets(ctx: Context): Promise<RotationSecrets> {
  const file = ctx.globals.recoveryKeyFile ?? environment(ctx.env).recoveryKeyFile;
  return { password: await passwordFromEnv(ctx), recoveryCode: file === undefined ? undefined : normalizeRecoveryCode(await firstLine(file)) };
}

function printRotation(ctx: Context, r: RotateResult): void {
  const p = r.plan;
  if (p) {
    ctx.out.line(p.resuming ? `finishing the interrupted rotation to master-key generation ${p.generation}` : `${r.dryRun ? 'would rotate' : 'rotated'} to master-key generation ${p.generation}`);
    for (const k of p.keyFiles) ctx.out.line(`  ${k.id.slice(0, 8)}  ${k.kind.padEnd(10)}  ${k.fate === 'rewrapped' ? 're-wrapped to the new key' : 'removed: its holder needs `ebak key add` again'}`);
    for (const id of r.retired) ctx.out.line(`  write-only device ${id.slice(0, 8)} retired by the vault: add it again with \`ebak device add --write-only\``);
  } else if (!r.rewrite) ctx.out.line('no interrupted rotation to finish');
  const w = r.rewrite;
  if (w) {
    const left = w.remaining.packs.length + w.remaining.index.length + w.remaining.snapshots.length;
    ctx.out.line(w.dropped ? 'the old master keys are dropped: an old key file opens nothing now' : `${left} object(s) an old key sealed remain (snapshots a retention lock or hold protects, packs another process's lock keeps, or archived ones); the old keys stay: run \`ebak key rotate-master --resume --rewrite\` later`);
  }
  if (r.dryRun) ctx.out.line('dry run: nothing was changed');
}

function rotationJson(r: RotateResult): unknown {
  return {
    dry_run: r.dryRun,
    generation: r.plan?.generation ?? r.generation,
    resumed: r.plan?.resuming ?? false,
    key_files: (r.plan?.keyFiles ?? []).map((k) => ({ id: k.id, kind: k.kind, fate: k.fate })),
    removed: r.removed,
    retired_devices: r.retired,
    ...(r.rewrite ? { rewrite: { snapshots: r.rewrite.snapshots, old_keys_dropped: r.rewrite.dropped, remaining: r.rewrite.remaining, protected: r.rewrite.protected } } : {}),
  };
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
