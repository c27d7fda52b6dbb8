/**
 * `ebak key rotate-master`, the key steps (docs/format.md, "Master-key
 * rotation"): a new master key K' whose keyring holds the old keys, the
 * key files of the secrets given re-wrapped to K', every other key file
 * removed. The order makes a kill -9 anywhere harmless:
 *   1. new key files for the given secrets, wrapping K' (K still opens the
 *      config, so these open nothing yet and the old files open as before);
 *   2. the config sealed under K' with the keyring: K and the older keys,
 *      and the key files to remove (`pending`): the switch, one atomic save;
 *   3. the pending key files removed, old envelopes last;
 *   4. the config saved again with nothing pending.
 * Killed before 2, the repository is as it was (the next rotation removes
 * the stray new file); after 2, the given secrets open K' and the next
 * `rotate-master` finishes 3 and 4 instead of rotating again. In vault mode
 * the vault learns K' between 1 and 2 (RotationVault), with links that lead
 * a device or login from the key it holds to whichever one opens the config.
 * Callers hold an exclusive lock.
 */
import { random } from '../crypto/index.js';
import { EbakError, isEbakError } from '../errors.js';
import { createKeyFile, unwrapKeyFile, type KeyKind } from './format/keyfile.js';
import { MAX_GENERATION } from './format/object.js';
import type { KeyListing } from './keyring.js';
import { hostMeta, type Repository } from './repository.js';

/** The secrets whose key files are re-wrapped (a password, a recovery key, or both). */
export interface RotationSecrets {
  password?: string | undefined;
  recoveryCode?: string | undefined;
}

/**
 * Vault mode (docs/vault.md "Master-key rotation"): the account the new key
 * files name, and the vault's update, made after the new key files and
 * before the switch: the account's envelope of `next` and the links from
 * every key the repository holds (`held`, `current` among them) to it.
 * Returns the ids of the write-only devices the vault retired.
 */
export interface RotationVault {
  account: string;
  rotate(next: Buffer, current: Buffer, held: Buffer[]): Promise<string[]>;
}

export interface KeyFilePlan {
  id: string;
  /** What becomes of it: re-wrapped (a new key file for its secret replaces it) or removed. */
  fate: 'rewrapped' | 'removed';
  kind: string;
}

export interface RotationPlan {
  /** The generation the rotation makes (or the unfinished one it completes). */
  generation: number;
  /** An earlier rotation was interrupted after its switch: this run only removes what it left. */
  resuming: boolean;
  keyFiles: KeyFilePlan[];
}

/** What the rotation will do, read without changing anything (`--dry-run`, and the list printed before it starts). */
export async function planRotation(repo: Repository, secrets: RotationSecrets): Promise<RotationPlan> {
  const { current, pending } = repo.generations;
  const keys = await repo.listKeys();
  if (pending.length > 0) {
    const left = keys.filter((k) => pending.includes(k.id));
    return { generation: current, resuming: true, keyFiles: left.map((k) => ({ id: k.id, fate: 'removed', kind: kindOf(k) })) };
  }
  if (current >= MAX_GENERATION) throw new EbakError('NOT_IMPLEMENTED', `the master key was rotated ${current} times, the most this format holds; nothing was changed`);
  const wrapped = await rewrapped(repo, keys, secrets);
  return { generation: current + 1, resuming: false, keyFiles: keys.map((k) => ({ id: k.id, fate: wrapped.has(k.id) ? 'rewrapped' : 'removed', kind: kindOf(k) })) };
}

/**
 * Runs the plan: steps 1–2 for a new rotation (returns K', which the caller
 * reopens the repository with for steps 3–4: `finishRotation`), nothing for
 * a resumed one (the repository already holds K').
 */
export async function switchMasterKey(repo: Repository, plan: RotationPlan, secrets: RotationSecrets, vault?: RotationVault): Promise<{ next: Buffer; retired: string[] } | undefined> {
  if (plan.resuming) return undefined;
  const next = random(32);
  const meta = { ...hostMeta(), ...(vault ? { vault: { account: vault.account } } : {}) };
  for (const [kind, secret] of given(secrets)) await repo.storeKeyFile(await createKeyFile(next, kind, secret, meta));
  const { current, all } = repo.masterKeys();
  const retired = vault ? await vault.rotate(next, current, all) : [];
  await repo.sealKeyring({ newKey: next, pending: plan.keyFiles.map((k) => k.id) });
  return { next, retired };
}

/** Steps 3–4 on the repository opened with the current key: the pending key files go, then the keyring forgets them. */
export async function finishRotation(repo: Repository): Promise<string[]> {
  const { pending } = repo.generations;
  if (pending.length === 0) return [];
  for (const id of pending) await repo.removeKeyFile(id).catch((e: unknown) => (isEbakError(e, 'NOT_FOUND') ? undefined : Promise.reject(e)));
  await repo.sealKeyring({ pending: [] });
  return [...pending];
}

/** The key files the given secrets open with the current key; each secret must open one. */
async function rewrapped(repo: Repository, keys: readonly KeyListing[], secrets: RotationSecrets): Promise<Set<string>> {
  const ids = new Set<string>();
  const pairs = given(secrets);
  if (pairs.length === 0) throw new EbakError('USAGE', 'rotate-master needs the password (EBAK_PASSWORD or --password-file) or the recovery key (--recovery-key-file) to re-wrap');
  for (const [kind, secret] of pairs) {
    const before = ids.size;
    for (const k of keys.filter((l) => l.file?.kind === kind)) {
      const key = await unwrapKeyFile(k.file!, secret, `keys/${k.id}`);
      if (key && repo.isCurrentKey(key)) ids.add(k.id);
      key?.fill(0);
    }
    if (ids.size === before) throw new EbakError('WRONG_KEY', `the ${kind === 'password' ? 'password' : 'recovery key'} given opens no key file of the current master key, so it cannot be re-wrapped`);
  }
  return ids;
}

function given(s: RotationSecrets): [KeyKind, string][] {
  return [...(s.password !== undefined ? [['password', s.password] as [KeyKind, string]] : []), ...(s.recoveryCode !== undefined ? [['recovery', s.recoveryCode] as [KeyKind, string]] : [])];
}

function kindOf(k: KeyListing): string {
  return k.file?.kind ?? 'damaged';
}
