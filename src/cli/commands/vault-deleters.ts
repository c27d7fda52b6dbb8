/**
 * `ebak vault serve --delete-credentials FILE`: the storage credentials that
 * can delete, per account, which the vault holds instead of the clients
 * (docs/retention.md "Vault mode: the vault deletes"). Read at boot (every
 * problem of the file reported at once) and again whenever it changes; each
 * repository's storage is opened (src/storage, typed AWS settings, never the
 * process environment) on the first deletion the vault allows there.
 *
 * The file (JSON, mode 0600):
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

/**
 * The file's credentials as the vault's Deleters; USAGE naming every problem
 * of the file. The file is read again when it changes (an operator adds a
 * repository once `ebak init --vault` has named its account), and a file
 * that became invalid fails the deletions asked meanwhile (the vault answers
 * `internal`; nothing is deleted).
 */
export async function readDeleteCredentials(file: string): Promise<Deleters> {
  let current = await load(file);
  const opened = new Map<string, Promise<OpenedBackend>>();
  return async (account) => {
    const modified = (await stat(file)).mtimeMs;
    if (modified !== current.modified) current = await load(file);
    const e = current.entries.get(account);
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

async function load(file: string): Promise<{ modified: number; entries: Map<string, Entry> }> {
  let doc: unknown;
  let modified: number;
  try {
    modified = (await stat(file)).mtimeMs;
    doc = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new EbakError('USAGE', `--delete-credentials ${file}: ${(e as NodeJS.ErrnoException).code ?? 'not valid JSON'}`, { cause: e });
  }
  const problems: string[] = [];
  const entries = parse(doc, problems);
  if (problems.length) throw new EbakError('USAGE', `--delete-credentials ${file}: ${problems.join('; ')}`);
  return { modified, entries: new Map(entries.map((e) => [e.account, e])) };
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
