/**
 * `ebak vault serve --delete-credentials FILE` (simulated mode) and
 * `--delete-credentials-kms FILE` (the same document sealed to the enclave
 * by `ebak vault provision-delete-credentials`): the storage credentials
 * that can delete, per account, which the vault holds instead of the clients
 * (docs/retention.md "Vault mode: the vault deletes"). Read at boot (every
 * problem of the document reported at once) and again whenever the file
 * changes, a sealed one decrypted once per change; each repository's storage
 * is opened (src/storage, typed AWS settings, never the process environment)
 * on the first deletion the vault allows there.
 *
 * The document (JSON, mode 0600):
 *   {"format": 1, "repositories": [{"account", "repository", "access_key_id",
 *    "secret_access_key", "session_token"?, "region"?, "ca_file"?}]}
 */
import { readFile, stat } from 'node:fs/promises';
import { EbakError } from '../../errors.js';
import { openBackend, type OpenedBackend } from '../../storage/open.js';
import type { AwsSettings } from '../../storage/s3/index.js';
import type { Deleters, RepositoryDeleter } from '../../vault/server/deletion.js';

interface Entry {
  account: string;
  repository: string;
  aws: AwsSettings;
}

const FIELDS = ['account', 'repository', 'access_key_id', 'secret_access_key', 'session_token', 'region', 'ca_file'];
const REQUIRED = ['account', 'repository', 'access_key_id', 'secret_access_key'];

/** How the file's bytes become the document: as they are, or decrypted by the enclave (a sealed file). */
export type Opener = (bytes: Buffer) => Promise<Buffer>;

/** The file's identity as a change check sees it: a rewrite or a rename onto it changes one of these. */
const versionOf = async (file: string) => {
  const s = await stat(file);
  return `${s.mtimeMs}:${s.ino}:${s.size}`;
};

/**
 * The file's credentials as the vault's Deleters (`sealed`: how a sealed file
 * is opened); USAGE naming every problem of the document. The file is read
 * again when it changes (an operator adds a repository once `ebak init
 * --vault` has named its account), once per change however many deletions
 * ask meanwhile; a file that became invalid fails every deletion asked until
 * it changes again (the vault answers `internal`; nothing is deleted).
 */
export async function readDeleteCredentials(file: string, sealed?: Opener): Promise<Deleters> {
  const what = `${sealed ? '--delete-credentials-kms' : '--delete-credentials'} ${file}`;
  const version = await versionOf(file).catch((e: unknown) => { throw unreadable(what, e); });
  let current = { version, entries: load(file, what, sealed) };
  await current.entries;
  const opened = new Map<string, Promise<OpenedBackend>>();
  return async (account) => {
    const version = await versionOf(file).catch(() => 'missing'); // then the read fails, naming the file
    // No await between the check and the swap: deletions asked together share one read (one Decrypt).
    if (version !== current.version) current = { version, entries: load(file, what, sealed) };
    const entries = await current.entries.catch((e: unknown) => e as Error);
    // A document that became invalid: every deletion fails (nothing deleted), while the status and the
    // pack records a backup posts go on, so a broken update stops no backup.
    if (entries instanceof Error) return { remove: () => Promise.reject(entries) };
    const e = entries.get(account);
    if (!e) return undefined;
    const key = JSON.stringify(e); // new credentials: a new client
    const storage = (): Promise<OpenedBackend> => {
      let b = opened.get(key);
      if (!b) opened.set(key, (b = openBackend(e.repository, e.aws)));
      return b;
    };
    const deleter: RepositoryDeleter = { remove: async (type, name) => (await storage()).remove({ type, name }) };
    return deleter;
  };
}

const unreadable = (what: string, e: unknown) => new EbakError('USAGE', `${what}: ${(e as NodeJS.ErrnoException).code ?? 'cannot be read'}`, { cause: e });

async function load(file: string, what: string, sealed: Opener | undefined): Promise<Map<string, Entry>> {
  const bytes = await readFile(file).catch((e: unknown) => { throw unreadable(what, e); });
  const plain = sealed ? await sealed(bytes) : bytes;
  try {
    return new Map(parseDeleteCredentials(plain.toString('utf8'), what).map((e) => [e.account, e]));
  } finally {
    plain.fill(0);
  }
}

/** The document's entries; USAGE starting with `what` and naming every problem (provisioning checks a document with it too). */
export function parseDeleteCredentials(text: string, what: string): Entry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new EbakError('USAGE', `${what}: not valid JSON`, { cause: e });
  }
  const problems: string[] = [];
  const entries = parse(doc, problems);
  if (problems.length) throw new EbakError('USAGE', `${what}: ${problems.join('; ')}`);
  return entries;
}

function parse(doc: unknown, problems: string[]): Entry[] {
  const d = doc as { format?: unknown; repositories?: unknown };
  if (typeof doc !== 'object' || doc === null || d.format !== 1) problems.push('it must be a JSON object with "format": 1');
  if (!Array.isArray(d?.repositories)) {
    problems.push('"repositories" must be a list');
    return [];
  }
  const seen = new Set<string>();
  return d.repositories.flatMap((r: unknown, i: number) => {
    const at = `repositories[${i}]`;
    if (typeof r !== 'object' || r === null) return problems.push(`${at} must be an object`), [];
    const o = r as Record<string, unknown>;
    const before = problems.length;
    for (const k of Object.keys(o)) if (!FIELDS.includes(k)) problems.push(`${at}: unknown field "${k}"`);
    for (const k of FIELDS) if (k in o && (typeof o[k] !== 'string' || o[k] === '')) problems.push(`${at}.${k} must be a non-empty string`);
    for (const k of REQUIRED) if (!(k in o)) problems.push(`${at}.${k} is required`);
    if (typeof o.account === 'string' && seen.has(o.account)) problems.push(`${at}: account ${o.account} is named twice`);
    if (problems.length > before) return [];
    seen.add(o.account as string);
    const str = (k: string) => o[k] as string | undefined;
    const aws: AwsSettings = {
      credentials: { accessKeyId: str('access_key_id')!, secretAccessKey: str('secret_access_key')!, ...(str('session_token') ? { sessionToken: str('session_token')! } : {}) },
      ...(str('region') ? { region: str('region')! } : {}),
      ...(str('ca_file') ? { caFiles: [str('ca_file')!] } : {}),
    };
    return [{ account: str('account')!, repository: str('repository')!, aws }];
  });
}
