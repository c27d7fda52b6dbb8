/**
 * Pending logins, shared by the replicas: a login started on one replica
 * finishes on any other. Each holds the OPAQUE server login state (secret:
 * with it the finish message could be checked outside the enclave), so the
 * row is sealed under a key derived from the enclave's record key, with the
 * login id in the AAD (a row moved to another id does not open), and it
 * names its account and expiry inside the seal. A finish takes the row with
 * a compare-and-delete (state/volatile.ts): two replicas cannot both finish
 * one login. Logins at unknown accounts are stored alike (no state), so a
 * finish is answered the same on every replica whether the account exists.
 */
import { deriveKey, open, seal } from '../../crypto/index.js';
import type { PendingStore } from '../state/volatile.js';

export interface PendingLogin {
  account: string;
  /** Undefined for a fake login (unknown account): it never verifies. */
  state: string | undefined;
  /** Unix ms. */
  expires: number;
}

export class PendingLogins {
  private readonly key: Buffer;

  constructor(private readonly store: PendingStore, recordKey: Uint8Array) {
    this.key = deriveKey(recordKey, 'vault-pending-logins');
  }

  put(id: string, p: PendingLogin): Promise<void> {
    const body = Buffer.from(JSON.stringify({ account: p.account, state: p.state ?? null, expires: p.expires }), 'utf8');
    return this.store.putPending(id, { sealed: seal(this.key, body, aad(id)), expires: p.expires });
  }

  /** The login, removed (single use), or undefined when it is unknown, already taken, or not ours. */
  async take(id: string): Promise<PendingLogin | undefined> {
    const row = await this.store.takePending(id);
    return row && this.open(id, row.sealed);
  }

  /** Removes the logins that expired before `now` (each is returned to one caller only). */
  async expired(now: number): Promise<PendingLogin[]> {
    const rows = await this.store.takeExpired(now);
    return rows.flatMap((r) => this.open(r.id, r.sealed) ?? []);
  }

  private open(id: string, sealed: Buffer): PendingLogin | undefined {
    try {
      const b = JSON.parse(open(this.key, sealed, aad(id), 'pending login').toString('utf8')) as { account: string; state: string | null; expires: number };
      return { account: b.account, state: b.state ?? undefined, expires: b.expires };
    } catch {
      return undefined;
    }
  }
}

function aad(id: string): Buffer {
  return Buffer.from(`ebak/vault-pending-login/v1\0${id}`, 'utf8');
}
