/**
 * The vault's audit log writer: append-only, hash-chained, every entry
 * signed by this boot's Ed25519 key (entry.ts has the format). The head
 * (seq, hash) is a sealed record ("audit/head") under the HSM rollback guard,
 * so a host that drops the newest entries or replays an older head is caught.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { EbakError } from '../../errors.js';
import type { SealedState } from '../state/sealed.js';
import type { AuditHeadResponse } from '../protocol.js';
import { AUDIT_FORMAT, GENESIS, encodeBody, entryHash, headMessage, type AuditBody, type AuditType, type StoredEntry } from './entry.js';

export const HEAD_ID = 'audit/head';

export interface AuditHead {
  seq: number;
  hash: string;
}

interface PendingAppend {
  type: AuditType;
  account: string | null;
  detail: Record<string, unknown> | null;
  resolve: (head: AuditHead) => void;
  reject: (e: unknown) => void;
}

/** Entries per group commit: bounds one transaction and the head update's wait. */
const MAX_BATCH = 256;

export class AuditLog {
  readonly publicKey: Buffer;
  private readonly privateKey: KeyObject;
  private readonly queue: PendingAppend[] = [];
  private flushing = false;

  constructor(private readonly state: SealedState, private readonly now: () => Date = () => new Date()) {
    const pair = generateKeyPairSync('ed25519');
    this.privateKey = pair.privateKey;
    this.publicKey = pair.publicKey.export({ type: 'spki', format: 'der' });
  }

  /**
   * Adopts entries a crash left after the sealed head (written, head not yet
   * advanced), then appends this boot's entry with its attestation.
   */
  async boot(attestation: Uint8Array, detail: Record<string, unknown>): Promise<void> {
    await this.state.exclusive('audit/log', () => this.adoptStored());
    await this.append('boot', null, { ...detail, signing_key: this.publicKey.toString('base64'), attestation: Buffer.from(attestation).toString('base64') });
  }

  /**
   * Entries stored past the sealed head that chain from it: a vault (this
   * one before a crash, or another replica killed between its store write
   * and its head update) stored them and never advanced the head. They
   * become part of the log, as the next boot would make them; a stored log
   * that does not reach the head, or does not chain from it, is refused.
   */
  private async adoptStored(): Promise<void> {
    let head = await this.head();
    const sealed = head.seq;
    const rows = await this.state.store.audit(Math.max(1, head.seq));
    if (head.seq > 0 && (rows[0]?.seq !== head.seq || (JSON.parse(rows[0].entry.toString('utf8')) as StoredEntry).hash !== head.hash)) {
      throw new EbakError('VAULT', `the audit log in the state store does not reach the sealed audit head (entry ${head.seq}): entries were removed or rewritten`, { hint: 'restore the state store from a backup; run `ebak vault audit verify`' });
    }
    for (const { seq, entry } of rows.filter((r) => r.seq > sealed)) {
      const e = seq === head.seq + 1 ? chained(entry, head.hash) : undefined;
      if (!e) throw new EbakError('VAULT', `audit entry ${seq} does not follow the sealed audit head ${head.seq}; the log was tampered with`, { hint: 'run `ebak vault audit verify` and investigate' });
      head = { seq, hash: e.hash };
    }
    if (head.seq > sealed) await this.advanceHead(head);
  }

  /** The sealed head moves forward only: another replica may have advanced it past `to` meanwhile. */
  private advanceHead(to: AuditHead): Promise<AuditHead> {
    return this.state.update<AuditHead>(HEAD_ID, (cur) => (cur && cur.seq >= to.seq ? cur : to));
  }

  async head(): Promise<AuditHead> {
    return orGenesis(await this.state.read<AuditHead>(HEAD_ID));
  }

  /** The sealed head as this enclave states it, signed by this boot's key (what `vault audit verify --vault` checks the log against). */
  async signedHead(): Promise<AuditHeadResponse> {
    const { seq, hash } = await this.head();
    const h = { seq, hash, time: this.now().toISOString() };
    return { ...h, signing_key: this.publicKey.toString('base64'), sig: sign(null, headMessage(h), this.privateKey).toString('base64') };
  }

  /**
   * Durable when it returns: entry stored, then the sealed head advanced.
   * Group commit: appends that arrive while a batch is being made durable
   * wait for the next batch, which stores all of them in one transaction and
   * advances the sealed head (one seal, one HSM counter write) once. Each
   * caller is released only after its batch's head is durable.
   */
  append(type: AuditType, account: string | null, detail: Record<string, unknown> | null = null): Promise<AuditHead> {
    return new Promise((resolve, reject) => {
      this.queue.push({ type, account, detail, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queue.length > 0) {
      let batch: PendingAppend[] = [];
      try {
        // Taken once the lock is held, so every append queued until then joins this batch.
        const heads = await this.state.exclusive('audit/log', () => this.commitRetrying(batch = this.queue.splice(0, MAX_BATCH)));
        batch.forEach((w, i) => w.resolve(heads[i]!));
      } catch (e) {
        for (const w of batch) w.reject(e);
      }
    }
    this.flushing = false;
  }

  /**
   * Another replica on the same database appends too: when its entries took
   * our seqs, it advances the sealed head past them shortly; chain after it.
   * Entries that stay past the head a while are a replica's that died
   * between its two writes: adopted (adoptStored), as its next boot would.
   */
  private async commitRetrying(batch: readonly PendingAppend[]): Promise<AuditHead[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.commit(batch);
      } catch (e) {
        if (!(e instanceof AuditCollision) || attempt >= 40) throw e instanceof AuditCollision ? e.refusal() : e;
        await sleep(Math.random() * Math.min(100, 2 ** attempt));
        if (attempt >= 6) await this.adoptStored();
      }
    }
  }

  /**
   * Chains, signs and stores `batch`, then advances the sealed head past its last entry. The head it chains from is
   * read at the state's view (no register read of its own, which under load waited behind the HSM's register
   * writes): a stale head only makes the entries collide (retried) or the head's write refused, never answered.
   */
  private async commit(batch: readonly PendingAppend[]): Promise<AuditHead[]> {
    let head = orGenesis(await this.state.readAtView<AuditHead>(HEAD_ID));
    const first = head.seq + 1;
    const rows: { seq: number; entry: Buffer; account: string | null }[] = [];
    const heads: AuditHead[] = [];
    for (const w of batch) {
      const seq = head.seq + 1;
      const body = encodeBody({ v: AUDIT_FORMAT, seq, time: this.now().toISOString(), type: w.type, account: w.account, detail: w.detail, prev: head.hash });
      const hash = entryHash(body);
      const stored: StoredEntry = { body, hash: hash.toString('hex'), sig: sign(null, hash, this.privateKey).toString('base64') };
      rows.push({ seq, entry: Buffer.from(JSON.stringify(stored), 'utf8'), account: w.account });
      head = { seq, hash: stored.hash };
      heads.push(head);
    }
    if (!(await this.state.store.appendAudit(rows))) throw new AuditCollision(first, head.seq);
    await this.advanceHead(head);
    return heads;
  }
}

const orGenesis = (head: { value: AuditHead } | undefined): AuditHead => head?.value ?? { seq: 0, hash: GENESIS };

/** The stored entry if it parses, its hash is its body's, and the body chains from `prev`. */
function chained(entry: Buffer, prev: string): StoredEntry | undefined {
  try {
    const e = JSON.parse(entry.toString('utf8')) as StoredEntry;
    return (JSON.parse(e.body) as AuditBody).prev === prev && entryHash(e.body).toString('hex') === e.hash ? e : undefined;
  } catch {
    return undefined;
  }
}

class AuditCollision extends Error {
  constructor(readonly first: number, readonly last: number) {
    super('audit seq collision');
  }

  refusal(): EbakError {
    return new EbakError('VAULT', `audit entries ${this.first}..${this.last} collide with entries already in the state store; the log and its head disagree`);
  }
}
