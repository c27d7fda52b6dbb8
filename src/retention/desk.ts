/**
 * Where a repository's retention lock and holds are kept and changed: the
 * repository's own object (local mode, src/operations/retention.ts) or the
 * vault (vault mode, src/keys/head.ts). `ebak retention` talks to either
 * through this one shape; each applies the rules of lock.ts (the vault
 * applies them again itself: it is the one that decides).
 */
import type { LegalHold, LockRequest, RetentionLock } from './lock.js';

export interface RetentionView {
  lock: RetentionLock | undefined;
  holds: LegalHold[];
  /** client: local mode, enforced by ebak itself; vault: decided by the vault's enclave. */
  enforcedBy: 'client' | 'vault';
}

export interface RetentionDesk {
  show(): Promise<RetentionView>;
  lock(req: LockRequest): Promise<RetentionView>;
  unlock(): Promise<RetentionView>;
  /** `snapshot`: a full id the repository holds. */
  hold(snapshot: string, reason: string): Promise<RetentionView>;
  release(snapshot: string): Promise<RetentionView>;
}
