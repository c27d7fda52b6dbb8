/**
 * The vault's audit log writer: append-only, hash-chained, every entry
 * signed by this boot's Ed25519 key (entry.ts has the format). The head
 * (seq, hash) is a sealed record ("audit/head") under the HSM rollback guard,
 * so a host that drops the newest entries or replays an older head is caught.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { EbakError } from '../../errors.js';
import type { SealedState } from '../state/sealed.js';
import { AUDIT_FORMAT, GENESIS, encodeBody, entryHash, type AuditBody, type AuditType, type StoredEntry } from './entry.js';

export const HEAD_ID = 'audit/head';

export interface AuditHead {
  seq: number;
  hash: string;
}

export class AuditLog {
  readonly publicKey: Buffer;
  private readonly privateKey: KeyObject;

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
    await this.state.exclusive('audit/log', async () => {
      let head = await this.head();
      for (const { seq, entry } of await this.state.store.audit(head.seq + 1)) {
        const e = JSON.parse(entry.toString('utf8')) as StoredEntry;
        const body = JSON.parse(e.body) as AuditBody;
        if (seq !== head.seq + 1 || body.prev !== head.hash) throw new EbakError('VAULT', `audit entry ${seq} does not follow the sealed audit head ${head.seq}; the log was tampered with`, { hint: 'run `ebak vault audit verify` and investigate' });
        head = { seq, hash: e.hash };
        await this.state.update<AuditHead>(HEAD_ID, () => head);
      }
    });
    await this.append('boot', null, { ...detail, signing_key: this.publicKey.toString('base64'), attestation: Buffer.from(attestation).toString('base64') });
  }

  async head(): Promise<AuditHead> {
    return (await this.state.read<AuditHead>(HEAD_ID))?.value ?? { seq: 0, hash: GENESIS };
  }

  /** Durable when it returns: entry stored, then the sealed head advanced. */
  append(type: AuditType, account: string | null, detail: Record<string, unknown> | null = null): Promise<AuditHead> {
    return this.state.exclusive('audit/log', async () => {
      const head = await this.head();
      const body = encodeBody({ v: AUDIT_FORMAT, seq: head.seq + 1, time: this.now().toISOString(), type, account, detail, prev: head.hash });
      const hash = entryHash(body);
      const stored: StoredEntry = { body, hash: hash.toString('hex'), sig: sign(null, hash, this.privateKey).toString('base64') };
      if (!(await this.state.store.appendAudit(head.seq + 1, Buffer.from(JSON.stringify(stored), 'utf8')))) {
        throw new EbakError('VAULT', `audit entry ${head.seq + 1} already exists in the state store; the log and its head disagree`);
      }
      const next = { seq: head.seq + 1, hash: stored.hash };
      await this.state.update<AuditHead>(HEAD_ID, () => next);
      return next;
    });
  }
}
