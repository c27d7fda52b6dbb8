/**
 * Every command by name, in the order `ebak help` lists them, with its
 * one-line summary, each module loaded only when it runs: a command imports
 * only what it uses, so `ebak snapshots` on a local repository does not load
 * the vault, the HSM, the KMS or the plan parser (loading every module cost
 * ~0.8 s a start). The summaries live here, not in the modules, so `ebak
 * --help` lists the commands without loading any (all of them: ~0.45 s of
 * its 0.55 s). `ebak help <command>`, the man pages and the completions load
 * the modules they describe.
 */
import type { Command, ListedCommand } from './command.js';

const LOADERS: readonly (readonly [string, string, () => Promise<Command>])[] = [
  ['init', 'create a repository (shows a recovery key once)', async () => (await import('./commands/init.js')).initCommand],
  ['backup', 'back up files and directories into a new snapshot', async () => (await import('./commands/backup.js')).backupCommand],
  ['snapshots', 'list snapshots', async () => (await import('./commands/snapshots.js')).snapshotsCommand],
  ['ls', 'list the files in a snapshot', async () => (await import('./commands/ls.js')).lsCommand],
  ['find', 'find files matching a pattern in snapshots', async () => (await import('./commands/find.js')).findCommand],
  ['diff', 'show what changed between two snapshots', async () => (await import('./commands/diff.js')).diffCommand],
  ['dump', 'print a file of a snapshot, or a directory as a tar archive', async () => (await import('./commands/dump.js')).dumpCommand],
  ['restore', 'restore a snapshot into a directory', async () => (await import('./commands/restore.js')).restoreCommand],
  ['cat', 'print one repository object, decrypted and authenticated (for debugging)', async () => (await import('./commands/cat.js')).catCommand],
  ['stats', 'count the files and bytes of snapshots (restore-size, files-by-contents, raw-data, blobs-per-file)', async () => (await import('./commands/stats.js')).statsCommand],
  ['check', 'verify the repository (add --read-data to read every pack)', async () => (await import('./commands/check.js')).checkCommand],
  ['forget', 'remove snapshots, by id or by a keep policy (their data stays until prune)', async () => (await import('./commands/forget.js')).forgetCommand],
  ['prune', 'delete the data no snapshot needs (backups may run meanwhile)', async () => (await import('./commands/prune.js')).pruneCommand],
  ['cold', 'move the data packs only old snapshots need to a colder S3 storage class', async () => (await import('./commands/cold.js')).coldCommand],
  ['unlock', 'remove stale locks (--remove-all: every lock)', async () => (await import('./commands/unlock.js')).unlockCommand],
  ['retention', 'retention lock (min/max days, governance or compliance) and legal holds that forget must respect', async () => (await import('./commands/retention.js')).retentionCommand],
  ['tag', 'add, remove or set the tags of snapshots', async () => (await import('./commands/tag.js')).tagCommand],
  ['copy', 'copy snapshots from another repository (only the missing data is uploaded)', async () => (await import('./commands/copy.js')).copyCommand],
  ['plan', 'backup plans: validate a plan file, list its plans, run one now, show their status', async () => (await import('./commands/plan.js')).planCommand],
  ['daemon', 'run every plan on its schedule (JSON log lines, health and Prometheus metrics)', async () => (await import('./commands/daemon.js')).daemonCommand],
  ['repair', 'rebuild the index from pack headers (repair index); rewrite damaged snapshots (repair snapshots)', async () => (await import('./commands/repair.js')).repairCommand],
  ['key', 'manage key envelopes: list, add (password, recovery or write-only), passwd, remove; rotate-master makes a new master key', async () => (await import('./commands/key.js')).keyCommand],
  ['hsm', 'manage HSM key rings, rotation, revocation and HSM backups', async () => (await import('./commands/hsm.js')).hsmCommand],
  ['attestation', 'verify an attestation (Nitro document, SEV-SNP report, TPM quote) offline', async () => (await import('./commands/attestation.js')).attestationCommand],
  ['vault', 'run the key vault, print its measurements, check its status and audit log, invite accounts', async () => (await import('./commands/vault.js')).vaultCommand],
  ['login', 'log in to the key vault with the password (new machine), or enroll a write-only device; saves a device session', async () => (await import('./commands/login.js')).loginCommand],
  ['device', "list, add (write-only) or revoke this repository's vault devices", async () => (await import('./commands/vault.js')).deviceCommand],
  ['audit', "show the vault's audit events for this repository's account", async () => (await import('./commands/vault.js')).auditCommand],
  ['keyservice', 'run the simulated attestation-gated key service (AWS KMS with Recipient), create its keys', async () => (await import('./commands/keyservice.js')).keyserviceCommand],
  ['generate', 'write shell completions (bash, zsh, fish) and man pages', async () => (await import('./commands/generate.js')).generateCommand(loadCommands)],
];

export const COMMAND_NAMES: readonly string[] = LOADERS.map(([name]) => name);

/** Every command's name and summary, in help order, loading none. */
export const COMMAND_SUMMARIES: readonly { readonly name: string; readonly summary: string }[] = LOADERS.map(([name, summary]) => ({ name, summary }));

/** The command called `name`, or undefined when there is none. */
export async function loadCommand(name: string): Promise<ListedCommand | undefined> {
  const entry = LOADERS.find(([n]) => n === name);
  return entry && listed(entry);
}

/** Every command, in help order. */
export function loadCommands(): Promise<ListedCommand[]> {
  return Promise.all(LOADERS.map(listed));
}

async function listed([, summary, load]: readonly [string, string, () => Promise<Command>]): Promise<ListedCommand> {
  return { ...(await load()), summary };
}
