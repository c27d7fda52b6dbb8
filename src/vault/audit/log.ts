/**
 * The vault's audit log writer: append-only, hash-chained, every entry
 * signed by this boot's Ed25519 key (entry.ts has the format). The head
 * (seq, hash) is a sealed record ("audit/head") under the HSM rollback guard,
 * so a host that drops the newest entries or replays an older head is caught.
 *
 * Entries ride on the sealed state's batches (state/commit.ts): an entry is
 * a rider, on the write it records (a login start's guess counter) or of its
 * own, and this log is their chain: at commit time, on every attempt, it
 * chains the batch's riders from the head in the view that attempt is stored
 * on, signs them, and adds their rows and the advanced head to the batch's
 * one store transaction and register write. So an entry exists only with
 * its write, and a login start waits for one batch, not two.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { sha256 } from '../../crypto/index.js';
import { EbakError } from '../../errors.js';
import type { Carried, Chain, Rider } from '../state/commit.js';
import type { SealedState } from '../state/sealed.js';
import type { AuditInsert } from '../state/store.js';
import type { AuditHeadResponse } from '../protocol.js';
import { AUDIT_FORMAT, GENESIS, encodeBody, entryHash, headMessage, type AuditBody, type AuditType, type StoredEntry } from './entry.js';

export const HEAD_ID = 'audit/head';

export interface AuditHead {
  seq: number;
  hash: string;
}

/** An entry to append, as a rider on a batch. */
interface Entry extends Rider {
  readonly type: AuditType;
  readonly account: string | null;
  readonly detail: Record<string, unknown> | null;
}

/** The head at a batch's view: its value, version-map version and stored row version. */
interface HeadAt {
  readonly head: AuditHead;
  readonly version: number;
  readonly stored: number | undefined;
}

const GENESIS_HEAD: AuditHead = { seq: 0, hash: GENESIS };

export class AuditLog implements Chain {
  readonly publicKey: Buffer;
  private readonly privateKey: KeyObject;
  /** The head this log last sealed (its version and row hash): reused while the view's entry is that row, unread. */
  private last: { version: number; hash: Buffer; head: AuditHead } | undefined;

  constructor(private readonly state: SealedState, private readonly now: () => Date = () => new Date()) {
    const pair = generateKeyPairSync('ed25519');
    this.privateKey = pair.privateKey;
    this.publicKey = pair.publicKey.export({ type: 'spki', format: 'der' });
  }

  /**
   * Checks that the stored log reaches the sealed head, then appends this
   * boot's entry with its attestation (adopting, on the way, entries an
   * older build stored past the head before a crash: pastHead).
   */
  async boot(attestation: Uint8Array, detail: Record<string, unknown>): Promise<void> {
    const head = await this.head();
    const [at] = head.seq > 0 ? await this.state.store.audit(head.seq) : [];
    if (head.seq > 0 && (at?.seq !== head.seq || (JSON.parse(at.entry.toString('utf8')) as StoredEntry).hash !== head.hash)) {
      throw new EbakError('VAULT', `the audit log in the state store does not reach the sealed audit head (entry ${head.seq}): entries were removed or rewritten`, { hint: 'restore the state store from a backup; run `ebak vault audit verify`' });
    }
    await this.append('boot', null, { ...detail, signing_key: this.publicKey.toString('base64'), attestation: Buffer.from(attestation).toString('base64') });
  }

  async head(): Promise<AuditHead> {
    return (await this.state.read<AuditHead>(HEAD_ID))?.value ?? GENESIS_HEAD;
  }

  /** The sealed head as this enclave states it, signed by this boot's key (what `vault audit verify --vault` checks the log against). */
  async signedHead(): Promise<AuditHeadResponse> {
    const { seq, hash } = await this.head();
    const h = { seq, hash, time: this.now().toISOString() };
    return { ...h, signing_key: this.publicKey.toString('base64'), sig: sign(null, headMessage(h), this.privateKey).toString('base64') };
  }

  /** An entry to ride on a write (SealedState.update's rider): appended in the write's batch, or not at all. */
  entry(type: AuditType, account: string | null, detail: Record<string, unknown> | null = null): Rider {
    const e: Entry = { chain: this, type, account, detail };
    return e;
  }

  /** Durable when it returns, with its seq: an entry of its own in the next batch (entries of one process in call order). */
  async append(type: AuditType, account: string | null, detail: Record<string, unknown> | null = null): Promise<AuditHead> {
    return await this.state.carry(this.entry(type, account, detail)) as AuditHead;
  }

  /**
   * Chains, signs and adds `riders` to the batch being stored: their rows and the sealed head advanced past the
   * last, from the head in the batch's view (no register read of its own: a stale view only makes the batch lose
   * its root, and it is chained again on the next attempt's view). Results: each entry's own head.
   */
  async carry(riders: readonly Rider[], retry: boolean): Promise<Carried | undefined> {
    const at = await this.headAtView();
    if (at === undefined) return undefined;
    let head = retry ? await this.pastHead(at.head) : at.head;
    const audit: AuditInsert[] = [];
    const results: AuditHead[] = [];
    for (const w of riders as readonly Entry[]) {
      const seq = head.seq + 1;
      const body = encodeBody({ v: AUDIT_FORMAT, seq, time: this.now().toISOString(), type: w.type, account: w.account, detail: w.detail, prev: head.hash });
      const hash = entryHash(body);
      const stored: StoredEntry = { body, hash: hash.toString('hex'), sig: sign(null, hash, this.privateKey).toString('base64') };
      audit.push({ seq, entry: Buffer.from(JSON.stringify(stored), 'utf8'), account: w.account });
      head = { seq, hash: stored.hash };
      results.push(head);
    }
    const version = Math.max(at.version, at.stored ?? 0) + 1;
    const sealed = await this.state.sealValue(HEAD_ID, version, head);
    this.last = { version, hash: sha256(sealed), head };
    return { writes: [{ id: HEAD_ID, version, sealed, stored: at.stored, base: at.version }], audit, results };
  }

  /** The head in the view: the one this log sealed last if the view holds that row, else read (undefined: newer than the view). */
  private async headAtView(): Promise<HeadAt | undefined> {
    const e = this.state.mapped(HEAD_ID);
    if (e !== undefined && this.last !== undefined && e.version === this.last.version && e.hash.equals(this.last.hash)) {
      return { head: this.last.head, version: e.version, stored: e.version };
    }
    const cur = await this.state.atView<AuditHead>(HEAD_ID);
    return cur && { head: cur.value ?? GENESIS_HEAD, version: cur.version, stored: cur.stored };
  }

  /**
   * After a batch was not stored: entries stored past the head that chain from it. An older build stored its
   * entries before advancing the head and may have died between the two (or another replica's batch is being
   * stored: its root then refuses this batch, which is chained again on the fresh view). They become part of the
   * log, as they always did; a row past the head that does not chain from it is refused.
   */
  private async pastHead(from: AuditHead): Promise<AuditHead> {
    let head = from;
    for (const { seq, entry } of await this.state.store.audit(from.seq + 1)) {
      const e = seq === head.seq + 1 ? chained(entry, head.hash) : undefined;
      if (!e) throw new EbakError('VAULT', `audit entry ${seq} does not follow the sealed audit head ${head.seq}; the log was tampered with`, { hint: 'run `ebak vault audit verify` and investigate' });
      head = { seq, hash: e.hash };
    }
    return head;
  }
}

/** The stored entry if it parses, its hash is its body's, and the body chains from `prev`. */
function chained(entry: Buffer, prev: string): StoredEntry | undefined {
  try {
    const e = JSON.parse(entry.toString('utf8')) as StoredEntry;
    return (JSON.parse(e.body) as AuditBody).prev === prev && entryHash(e.body).toString('hex') === e.hash ? e : undefined;
  } catch {
    return undefined;
  }
}
