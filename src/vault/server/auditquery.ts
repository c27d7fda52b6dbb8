/**
 * An account's own audit events, from an indexed store query, a page at a
 * time (the whole log is never read for one request). Each row is checked:
 * its hash covers its body and its body names this account. What a host can
 * still do to this view — hide rows — is caught only by `vault audit verify`
 * against the enclave's signed head (docs/security.md).
 */
import { entryHash, type AuditBody, type StoredEntry } from '../audit/entry.js';
import type { AuditPage } from '../protocol.js';
import type { Deps, Session } from './records.js';

export const MAX_PAGE = 500;

export async function accountEvents(d: Deps, s: Session, after: number, limit: number): Promise<AuditPage> {
  const account = s.account.account;
  const rows = await d.state.store.auditFor(account, after, Math.min(limit, MAX_PAGE) + 1);
  const page = rows.slice(0, Math.min(limit, MAX_PAGE));
  const entries: AuditBody[] = [];
  for (const { entry } of page) {
    const stored = JSON.parse(entry.toString('utf8')) as StoredEntry;
    const body = JSON.parse(stored.body) as AuditBody;
    if (entryHash(stored.body).toString('hex') === stored.hash && body.account === account) entries.push(body);
  }
  return rows.length > page.length ? { entries, next: page[page.length - 1]!.seq } : { entries };
}
