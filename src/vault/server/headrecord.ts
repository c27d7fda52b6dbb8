/**
 * The stored repository head (`head/<account>`, head.ts says what it means):
 * its record formats, the migration of format 1, and reading the current
 * one. Apart from head.ts because retention.ts reads the head too (its
 * first sightings), and head.ts asks retention.ts before a removal: each
 * imports this, neither the other.
 */
import type { HeadState } from '../protocol.js';
import type { Deps } from './records.js';

export interface HeadRecord extends HeadState {
  format: 2;
  /** Snapshot id → ISO time the vault first saw it (live and pending snapshots only). */
  seen: Record<string, string>;
}

/** Before retention (no `seen`). */
export interface HeadRecordV1 extends HeadState {
  format: 1;
}

export const headId = (a: string) => `head/${a}`;

export const emptyHead = (): HeadRecord => ({
  format: 2, seq: 0, snapshots: [], indexes: [], pending_snapshots: [], pending_indexes: [], removed_snapshots: [], removed_indexes: [], seen: {},
});

/** A format 1 head as format 2: each of its snapshots first seen `at` (the migration). The seq is unchanged: the sets are. */
export function migrateHead(h: HeadRecord | HeadRecordV1, at: string): HeadRecord {
  if (h.format === 2) return h;
  const seen: Record<string, string> = {};
  for (const id of [...h.snapshots, ...h.pending_snapshots]) seen[id] = at;
  return { ...h, format: 2, seen };
}

/** The account's head, a format 1 record migrated and stored first (so its times stay those of the migration). */
export async function currentHead(d: Deps, account: string): Promise<HeadRecord> {
  const cur = (await d.state.read<HeadRecord | HeadRecordV1>(headId(account)))?.value;
  if (!cur) return emptyHead();
  if (cur.format === 2) return cur;
  return d.state.update<HeadRecord | HeadRecordV1>(headId(account), (c) => migrateHead(c ?? emptyHead(), d.now().toISOString())) as Promise<HeadRecord>;
}
