/**
 * The stored repository head (`head/<account>`, head.ts says what it means):
 * its record formats, the migration of formats 1 and 2, and reading the current
 * one. Apart from head.ts because retention.ts reads the head too (its
 * first sightings), and head.ts asks retention.ts before a removal: each
 * imports this, neither the other.
 */
import { VaultRefusal, type HeadState } from '../protocol.js';
import type { Deps } from './records.js';

export interface HeadRecord extends HeadState, Unconfirmed {
  format: 3;
  /** Snapshot id → ISO time the vault first saw it (live and pending snapshots only). */
  seen: Record<string, string>;
}

/**
 * Live names a write-only device added that no full device has seen in
 * storage yet: name → that device's id (head.ts says why).
 */
export interface Unconfirmed {
  unconfirmed_snapshots: Record<string, string>;
  unconfirmed_indexes: Record<string, string>;
}

/** Before write-only attribution (no unconfirmed names). */
export interface HeadRecordV2 extends HeadState {
  format: 2;
  seen: Record<string, string>;
}

/** Before retention (no `seen`). */
export interface HeadRecordV1 extends HeadState {
  format: 1;
}

export type StoredHead = HeadRecord | HeadRecordV2 | HeadRecordV1;

export const headId = (a: string) => `head/${a}`;

export const emptyHead = (): HeadRecord => ({
  format: 3, seq: 0, snapshots: [], indexes: [], pending_snapshots: [], pending_indexes: [], removed_snapshots: [], removed_indexes: [], seen: {},
  unconfirmed_snapshots: {}, unconfirmed_indexes: {},
});

/**
 * An earlier head as format 3. Format 1: each of its snapshots first seen
 * `at` (the migration). Formats 1 and 2: no name unconfirmed (their names
 * were trusted as posted, so they stay so). The seq is unchanged: the sets are.
 */
export function migrateHead(h: StoredHead, at: string): HeadRecord {
  if (h.format === 3) return h;
  const none: Unconfirmed = { unconfirmed_snapshots: {}, unconfirmed_indexes: {} };
  if (h.format === 2) return { ...h, format: 3, ...none };
  if (h.format !== 1) throw new VaultRefusal('internal', `a repository head of format ${String((h as { format?: unknown }).format)}, which this vault build does not know`);
  const seen: Record<string, string> = {};
  for (const id of [...h.snapshots, ...h.pending_snapshots]) seen[id] = at;
  return { ...h, format: 3, seen, ...none };
}

/** The account's head, an earlier format migrated and stored first (so its times stay those of the migration). */
export async function currentHead(d: Deps, account: string): Promise<HeadRecord> {
  const cur = (await d.state.read<StoredHead>(headId(account)))?.value;
  if (!cur) return emptyHead();
  if (cur.format === 3) return cur;
  return d.state.update<StoredHead>(headId(account), (c) => migrateHead(c ?? emptyHead(), d.now().toISOString())) as Promise<HeadRecord>;
}
