/**
 * Every command by name, in the order `ebak help` lists them, each module
 * loaded only when it runs: a command imports only what it uses, so `ebak
 * snapshots` on a local repository does not load the vault, the HSM, the
 * KMS or the plan parser (loading every module cost ~0.8 s a start).
 * Help, the man pages and the completions load them all.
 */
import type { Command } from './command.js';

const LOADERS: readonly (readonly [string, () => Promise<Command>])[] = [
  ['init', async () => (await import('./commands/init.js')).initCommand],
  ['backup', async () => (await import('./commands/backup.js')).backupCommand],
  ['snapshots', async () => (await import('./commands/snapshots.js')).snapshotsCommand],
  ['ls', async () => (await import('./commands/ls.js')).lsCommand],
  ['find', async () => (await import('./commands/find.js')).findCommand],
  ['diff', async () => (await import('./commands/diff.js')).diffCommand],
  ['dump', async () => (await import('./commands/dump.js')).dumpCommand],
  ['restore', async () => (await import('./commands/restore.js')).restoreCommand],
  ['cat', async () => (await import('./commands/cat.js')).catCommand],
  ['stats', async () => (await import('./commands/stats.js')).statsCommand],
  ['check', async () => (await import('./commands/check.js')).checkCommand],
  ['forget', async () => (await import('./commands/forget.js')).forgetCommand],
  ['prune', async () => (await import('./commands/prune.js')).pruneCommand],
  ['cold', async () => (await import('./commands/cold.js')).coldCommand],
  ['unlock', async () => (await import('./commands/unlock.js')).unlockCommand],
  ['retention', async () => (await import('./commands/retention.js')).retentionCommand],
  ['tag', async () => (await import('./commands/tag.js')).tagCommand],
  ['copy', async () => (await import('./commands/copy.js')).copyCommand],
  ['plan', async () => (await import('./commands/plan.js')).planCommand],
  ['daemon', async () => (await import('./commands/daemon.js')).daemonCommand],
  ['repair', async () => (await import('./commands/repair.js')).repairCommand],
  ['key', async () => (await import('./commands/key.js')).keyCommand],
  ['hsm', async () => (await import('./commands/hsm.js')).hsmCommand],
  ['attestation', async () => (await import('./commands/attestation.js')).attestationCommand],
  ['vault', async () => (await import('./commands/vault.js')).vaultCommand],
  ['login', async () => (await import('./commands/login.js')).loginCommand],
  ['device', async () => (await import('./commands/vault.js')).deviceCommand],
  ['audit', async () => (await import('./commands/vault.js')).auditCommand],
  ['keyservice', async () => (await import('./commands/keyservice.js')).keyserviceCommand],
  ['generate', async () => (await import('./commands/generate.js')).generateCommand(loadCommands)],
];

export const COMMAND_NAMES: readonly string[] = LOADERS.map(([name]) => name);

/** The command called `name`, or undefined when there is none. */
export async function loadCommand(name: string): Promise<Command | undefined> {
  return LOADERS.find(([n]) => n === name)?.[1]();
}

/** Every command, in help order. */
export function loadCommands(): Promise<Command[]> {
  return Promise.all(LOADERS.map(([, load]) => load()));
}
