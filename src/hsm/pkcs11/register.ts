/**
 * The vault's rollback register in the token: one private CKO_DATA object
 * (CKA_APPLICATION "ebak-vault-register", CKA_LABEL "ebak-vault:root") whose
 * value is the newest (epoch, root hash) of the sealed version map
 * (src/vault/state/versionmap.ts). One object however many records the vault
 * keeps, so SoftHSM's per-write cost no longer grows with the accounts, and
 * one write per group commit.
 *
 * Value (guard value v1, docs/hsm.md "Rollback register"), 45 bytes:
 *   0 4 magic "EBVG" | 4 1 format (1) | 5 8 epoch (u64 BE) | 13 32 root hash
 *
 * PKCS#11 has no compare-and-set and SoftHSM refuses to modify CKA_VALUE, so
 * advancing checks the current value, creates the new object, looks again
 * (another writer of the same epoch with another hash is a fork: ours is
 * withdrawn and the advance fails), then destroys the objects more than
 * KEEP epochs older. The newest epoch is the value; the few older copies let
 * a replica whose root another replica registered first (and built on) see
 * that its root was registered. At most KEEP + a few objects, whatever the
 * number of records.
 */
import { EbakError } from '../../errors.js';
import type { Advanced, GuardValue, RollbackRegister } from '../hsm.js';
import { ck, ckr } from './module.js';
import type { Handle } from './module.js';
import type { Token } from './token.js';

export const REGISTER_APPLICATION = 'ebak-vault-register';
const LABEL = 'ebak-vault:root';
const MAGIC = Buffer.from('EBVG', 'ascii');
const FORMAT = 1;
export const GUARD_VALUE_BYTES = 45;
/** Older values kept beside the newest. */
const KEEP = 4;

export function encodeGuardValue(g: GuardValue): Buffer {
  if (g.hash.length !== 32) throw new EbakError('USAGE', 'a guard value hash is 32 bytes');
  const out = Buffer.alloc(GUARD_VALUE_BYTES);
  MAGIC.copy(out, 0);
  out[4] = FORMAT;
  out.writeBigUInt64BE(BigInt(g.epoch), 5);
  g.hash.copy(out, 13);
  return out;
}

export function decodeGuardValue(b: Buffer): GuardValue {
  if (b.length !== GUARD_VALUE_BYTES || !b.subarray(0, 4).equals(MAGIC)) throw new EbakError('HSM', 'the vault rollback register in the HSM token is malformed; restore the token from backup');
  if (b[4] !== FORMAT) throw new EbakError('UNSUPPORTED_VERSION', `vault rollback register format ${b[4]} is unknown to this build; upgrade ebak`);
  return { epoch: Number(b.readBigUInt64BE(5)), hash: Buffer.from(b.subarray(13)) };
}

export const sameGuard = (a: GuardValue | undefined, b: GuardValue | undefined) =>
  a === undefined || b === undefined ? a === b : a.epoch === b.epoch && a.hash.equals(b.hash);

interface Copy {
  handle: Handle;
  value: GuardValue;
}

export class TokenRegister implements RollbackRegister {
  constructor(private readonly token: Token) {}

  /**
   * Every copy's value. Another replica creating or destroying a copy between
   * the search and the read makes a handle invalid or its value unreadable
   * for a moment: the search is made again, a little later each time (a
   * copy being created can be found before its value is written: the vault
   * bench met a value malformed through four immediate re-reads), and only a
   * value that stays malformed is an error.
   */
  private copies(attempts = 8): Copy[] {
    const found = this.token.find([
      { type: ck.CKA_CLASS, value: ck.CKO_DATA },
      { type: ck.CKA_APPLICATION, value: REGISTER_APPLICATION },
    ]);
    try {
      return found.map((handle) => ({ handle, value: decodeGuardValue(this.token.attr(handle, ck.CKA_VALUE)) }));
    } catch (e) {
      const racing = ckr(e) === ck.CKR_OBJECT_HANDLE_INVALID || racingWrite(e) || (e instanceof EbakError && e.code === 'HSM');
      if (!racing || attempts <= 1) throw e;
      Atomics.wait(PAUSE, 0, 0, 9 - attempts);
      return this.copies(attempts - 1);
    }
  }

  /** The newest copy's value; two newest copies that disagree are a fork (two writers of one epoch). */
  private newest(copies: readonly Copy[]): GuardValue | undefined {
    const top = Math.max(-1, ...copies.map((c) => c.value.epoch));
    const at = copies.filter((c) => c.value.epoch === top);
    if (at.some((c) => !sameGuard(c.value, at[0]!.value))) {
      throw new EbakError('VAULT', `the vault rollback register holds two different roots for epoch ${top}: two writers forked the state`, { hint: 'stop all but one vault replica and restore the newest state database' });
    }
    return at[0]?.value;
  }

  async read(): Promise<GuardValue | undefined> {
    return this.newest(this.copies());
  }

  async advance(from: readonly (GuardValue | undefined)[], next: GuardValue): Promise<Advanced> {
    const copies = this.copies();
    const current = this.newest(copies);
    if (sameGuard(current, next)) return 'written';
    if (copies.some((c) => sameGuard(c.value, next))) return 'recorded'; // by another replica that built on it
    if (!from.some((f) => sameGuard(f, current)) || (current !== undefined && next.epoch <= current.epoch)) return false;
    const mine = this.store(next);
    const after = this.copies();
    if (after.some((c) => c.value.epoch >= next.epoch && !sameGuard(c.value, next))) {
      this.token.destroy(mine);
      return false;
    }
    for (const c of after) if (c.value.epoch <= next.epoch - KEEP) this.destroyQuietly(c.handle);
    return 'written';
  }

  /** Another writer may have removed it first: the newest copy wins either way. */
  private destroyQuietly(h: Handle): void {
    try {
      this.token.destroy(h);
    } catch {
      // already gone
    }
  }

  /**
   * SoftHSM's file store, written by two replicas' module instances at once,
   * sometimes fails a create while the other rewrites the token's files
   * (CKR_GENERAL_ERROR and kin, under 40 parallel logins on two replicas):
   * the create is tried again a moment later, a few times. The fork check
   * after it (advance) still decides whether the write counts.
   */
  private store(value: GuardValue): Handle {
    for (let attempt = 1; ; attempt++) {
      try {
        return this.create(value);
      } catch (e) {
        if (attempt >= 5 || !racingWrite(e)) throw e;
        Atomics.wait(PAUSE, 0, 0, 5 * attempt);
      }
    }
  }

  private create(value: GuardValue): Handle {
    return this.token.create([
      { type: ck.CKA_CLASS, value: ck.CKO_DATA },
      { type: ck.CKA_TOKEN, value: true },
      { type: ck.CKA_PRIVATE, value: true },
      { type: ck.CKA_MODIFIABLE, value: false },
      { type: ck.CKA_APPLICATION, value: REGISTER_APPLICATION },
      { type: ck.CKA_LABEL, value: LABEL },
      { type: ck.CKA_VALUE, value: encodeGuardValue(value) },
    ], 'storing the vault rollback register');
  }
}

const PAUSE = new Int32Array(new SharedArrayBuffer(4));
const RACING = new Set<number>([ck.CKR_GENERAL_ERROR, ck.CKR_TEMPLATE_INCONSISTENT, ck.CKR_ATTRIBUTE_VALUE_INVALID]);

/** A failure SoftHSM gives while another module instance rewrites the same token files. */
function racingWrite(e: unknown): boolean {
  const code = ckr(e instanceof EbakError ? e.cause : e);
  return code !== undefined && RACING.has(code);
}
