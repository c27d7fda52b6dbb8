/**
 * Deleting through the vault, client side (docs/retention.md "Vault mode:
 * the vault deletes"): when the vault holds the repository's delete
 * credential, the client's own cannot delete snapshots or packs, so forget
 * and prune hand their deletions to this (the operations' ObjectDeleter
 * port). The vault refuses what the retention lock or a legal hold protects
 * (VaultError `retention`: RETENTION, exit 1) and then deletes nothing of the
 * request. (The packs each new snapshot references, the record its pack
 * refusals rest on, travel in the head post that adds it: src/keys/head.ts.)
 */
import { MAX_HEAD_NAMES, type DeleteStatus } from '../protocol.js';
import type { VaultClient } from './client.js';

export class VaultDeleter {
  private constructor(private readonly client: VaultClient, private readonly token: string, private readonly status: DeleteStatus) {}

  /** The deleter, when the vault holds the delete credential of the token's repository; else undefined (the client deletes itself). */
  static async open(client: VaultClient, token: string): Promise<VaultDeleter | undefined> {
    const status = await client.deleteStatus(token);
    return status.enabled ? new VaultDeleter(client, token, status) : undefined;
  }

  /** The packs the vault refused to delete when opened (protected snapshots' records); 'all' while a protected one has none: prune keeps them whole. */
  get pinned(): ReadonlySet<string> | 'all' {
    return this.status.pinned_all ? 'all' : new Set(this.status.pinned);
  }

  async removeSnapshot(id: string): Promise<void> {
    await this.client.deleteObjects(this.token, { snapshots: [id] });
  }

  /** Deletes `ids` in requests of at most MAX_HEAD_NAMES; one refused stops the rest (it deleted nothing). */
  async removePacks(ids: readonly string[], signal?: AbortSignal): Promise<void> {
    for (let i = 0; i < ids.length; i += MAX_HEAD_NAMES) {
      signal?.throwIfAborted();
      await this.client.deleteObjects(this.token, { packs: ids.slice(i, i + MAX_HEAD_NAMES) });
    }
  }
}
