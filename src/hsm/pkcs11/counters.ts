/**
 * Monotonic counters kept in the HSM token, one per sealed record: the
 * rollback guard of the layout before the version map (register.ts guards
 * the vault now; docs/vault.md "Rollback guard at scale"). The vault reads
 * them once, to migrate a vault of the old layout, then clears them. The
 * host stores sealed records and could hand back an older copy (whose id and
 * version still authenticate); the token remembers the newest version the
 * vault wrote, so an older one is refused.
 *
 * One private CKO_DATA object per record (CKA_APPLICATION "ebak-vault",
 * CKA_LABEL "ebak-vault:<record id>", CKA_VALUE = u64 BE version). SoftHSM
 * refuses to modify CKA_VALUE, so advancing creates the new object, then
 * destroys the old; after a crash between the two, the highest value wins.
 */
import { EbakError } from '../../errors.js';
import type { LegacyCounters } from '../hsm.js';
import { ck } from './module.js';
import type { Handle } from './module.js';
import type { Token } from './token.js';

export const APPLICATION = 'ebak-vault';

export class TokenCounters implements LegacyCounters {
  /** Enclave memory is trusted: a value seen once never goes back. */
  private readonly seen = new Map<string, number>();
  /**
   * The one token object known to hold `seen` for a record. Advancing from it
   * skips C_FindObjects, whose cost in SoftHSM grows with the token's object
   * count (measured: 0.3 ms at 10 objects, 2.4 ms at 130, 11 ms at 500).
   */
  private readonly current = new Map<string, { handle: Handle; value: number }>();

  constructor(private readonly token: Token) {}

  private objects(id: string): { handle: Handle; value: number }[] {
    const found = this.token.find([
      { type: ck.CKA_CLASS, value: ck.CKO_DATA },
      { type: ck.CKA_APPLICATION, value: APPLICATION },
      { type: ck.CKA_LABEL, value: `${APPLICATION}:${id}` },
    ]);
    const objects = found.map((handle) => {
      const v = this.token.attr(handle, ck.CKA_VALUE);
      if (v.length !== 8) throw new EbakError('HSM', `HSM counter for ${id} is malformed; restore the token from backup`);
      return { handle, value: Number(v.readBigUInt64BE(0)) };
    });
    if (objects.length === 1) this.current.set(id, objects[0]!);
    else this.current.delete(id);
    return objects;
  }

  private everything(): Handle[] {
    return this.token.find([{ type: ck.CKA_CLASS, value: ck.CKO_DATA }, { type: ck.CKA_APPLICATION, value: APPLICATION }]);
  }

  async all(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const handle of this.everything()) {
      const id = this.token.attr(handle, ck.CKA_LABEL).toString('utf8').slice(APPLICATION.length + 1);
      const v = this.token.attr(handle, ck.CKA_VALUE);
      if (v.length !== 8) throw new EbakError('HSM', `HSM counter for ${id} is malformed; restore the token from backup`);
      out.set(id, Math.max(out.get(id) ?? 0, Number(v.readBigUInt64BE(0))));
    }
    return out;
  }

  async clear(): Promise<void> {
    for (const handle of this.everything()) this.token.destroy(handle);
    this.seen.clear();
    this.current.clear();
  }

  /** Always from the token: another replica may have advanced it (the cached value is only a floor). */
  async read(id: string): Promise<number> {
    const value = Math.max(0, this.seen.get(id) ?? 0, ...this.objects(id).map((o) => o.value));
    this.seen.set(id, value);
    return value;
  }

  async advance(id: string, value: number): Promise<void> {
    const known = this.current.get(id);
    if (known !== undefined && known.value === this.seen.get(id) && value > known.value) {
      this.store(id, value);
      try {
        this.token.destroy(known.handle);
      } catch {
        // Another replica replaced it already; a later full advance removes any leftover (the highest value wins meanwhile).
      }
      return;
    }
    const old = this.objects(id);
    const current = Math.max(0, ...old.map((o) => o.value));
    if (value <= current) {
      // Another replica already recorded a newer version (its compare-and-set came after ours): the counter never goes back.
      this.seen.set(id, Math.max(current, this.seen.get(id) ?? 0));
      return;
    }
    this.store(id, value);
    for (const o of old) this.token.destroy(o.handle);
  }

  /** Creates the object holding `value` for `id`: durable in the token when this returns. */
  private store(id: string, value: number): void {
    const bytes = Buffer.alloc(8);
    bytes.writeBigUInt64BE(BigInt(value));
    const handle = this.token.create([
      { type: ck.CKA_CLASS, value: ck.CKO_DATA },
      { type: ck.CKA_TOKEN, value: true },
      { type: ck.CKA_PRIVATE, value: true },
      { type: ck.CKA_MODIFIABLE, value: false },
      { type: ck.CKA_APPLICATION, value: APPLICATION },
      { type: ck.CKA_LABEL, value: `${APPLICATION}:${id}` },
      { type: ck.CKA_VALUE, value: bytes },
    ], `storing the vault counter for ${id}`);
    this.seen.set(id, value);
    this.current.set(id, { handle, value });
  }
}
