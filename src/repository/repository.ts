/**
 * An open repository: the master key's subkeys, the config, the blob index,
 * and authenticated reads and writes of every object type. Everything read
 * from storage is checked here before anyone else sees it: object names
 * must equal the SHA-256 of the bytes, and every payload must authenticate.
 */
import { hostname, userInfo } from 'node:os';
import { deriveKey, hmacSha256, random, sha256 } from '../crypto/index.js';
import { EbakError, isEbakError } from '../errors.js';
import { describe, type Backend, type FileType, type Handle } from '../storage/backend.js';
import { openBlob } from './blob.js';
import { decodeConfig, encodeConfig, REPO_VERSION, type RepoConfig } from './format/config.js';
import { decodeIndex } from './format/indexfile.js';
import { createKeyFile, parseKeyFile, unwrapKeyFile, type KeyFile, type KeyKind } from './format/keyfile.js';
import { decodeObject, encodeObject, type ObjectTypeName } from './format/object.js';
import { BlobType, packKeyFor } from './format/pack.js';
import { decodeSnapshot, type Snapshot } from './format/snapshot.js';
import { decodeTree, type TreeNode } from './format/tree.js';
import { MasterIndex, type PackInfo } from './masterindex.js';

export interface SubKeys {
  blobId: Buffer;
  gearSeed: Buffer;
  pack: Buffer;
  object: Buffer;
}

export interface Secret {
  password?: string;
  recoveryCode?: string;
}

export const DEFAULT_CONFIG = {
  chunker: { min: 512 * 1024, avg: 1024 * 1024, max: 8 * 1024 * 1024 },
  compression_level: 3,
  pack_size: 16 * 1024 * 1024,
};

const OBJECT_DIR: Record<Exclude<ObjectTypeName, 'config'>, FileType> = { index: 'index', snapshot: 'snapshots', lock: 'locks' };

export function hostMeta(): { hostname: string; username: string } {
  return { hostname: hostname(), username: safeUser() };
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}

export class Repository {
  readonly index = new MasterIndex();
  private packKeys = new Map<string, Buffer>();

  private constructor(readonly backend: Backend, readonly keys: SubKeys, readonly config: RepoConfig) {}

  static subKeys(masterKey: Uint8Array): SubKeys {
    return {
      blobId: deriveKey(masterKey, 'blob-id'),
      gearSeed: deriveKey(masterKey, 'gear'),
      pack: deriveKey(masterKey, 'pack'),
      object: deriveKey(masterKey, 'object'),
    };
  }

  /**
   * Creates a repository; K is generated here (or given, for the vault flow,
   * which must wrap K itself) and stored only wrapped.
   */
  static async init(
    backend: Backend,
    envelopes: { kind: KeyKind; secret: string }[],
    opts: { masterKey?: Buffer; objectLock?: RepoConfig['object_lock'] } = {},
  ): Promise<Repository> {
    const givenKey = opts.masterKey;
    if (await backend.isRepository()) throw new EbakError('ALREADY_EXISTS', `${backend.location} already holds an ebak repository`);
    await backend.create();
    const masterKey = givenKey ?? random(32);
    try {
      for (const e of envelopes) await saveKeyFile(backend, await createKeyFile(masterKey, e.kind, e.secret, hostMeta()));
      const config: RepoConfig = {
        version: REPO_VERSION, id: random(32).toString('hex'), created: new Date().toISOString(), ...DEFAULT_CONFIG,
        ...(opts.objectLock ? { object_lock: opts.objectLock } : {}),
      };
      const keys = Repository.subKeys(masterKey);
      await backend.save({ type: 'config', name: 'config' }, encodeObject(keys.object, 'config', encodeConfig(config)));
      return new Repository(backend, keys, config);
    } finally {
      if (!givenKey) masterKey.fill(0);
    }
  }

  /** Opens with a password or recovery code; tells a wrong secret from a damaged key file. */
  static async open(backend: Backend, secret: Secret): Promise<Repository> {
    await requireRepository(backend);
    const masterKey = await unlock(backend, secret);
    try {
      return await Repository.openWithMasterKey(backend, masterKey);
    } finally {
      masterKey.fill(0);
    }
  }

  /** The same open repository over another backend (same keys and config; the index is not carried over). */
  withBackend(backend: Backend): Repository {
    return new Repository(backend, this.keys, this.config);
  }

  /** Opens with K itself (the vault flow releases K's envelope; the caller unwraps it). */
  static async openWithMasterKey(backend: Backend, masterKey: Uint8Array): Promise<Repository> {
    await requireRepository(backend);
    const keys = Repository.subKeys(masterKey);
    const raw = await backend.load({ type: 'config', name: 'config' });
    return new Repository(backend, keys, decodeConfig(decodeObject(keys.object, 'config', raw, 'config')));
  }

  /** Adds a key envelope for the same master key (needs the current secret). */
  async addKey(current: Secret, kind: KeyKind, secret: string): Promise<string> {
    const masterKey = await unlock(this.backend, current);
    try {
      return await saveKeyFile(this.backend, await createKeyFile(masterKey, kind, secret, hostMeta()));
    } finally {
      masterKey.fill(0);
    }
  }

  blobId(data: Uint8Array): Buffer {
    return hmacSha256(this.keys.blobId, data);
  }

  packKey(pack: PackInfo): Buffer {
    let k = this.packKeys.get(pack.id);
    if (!k) {
      k = packKeyFor(this.keys.pack, pack.salt);
      this.packKeys.set(pack.id, k);
    }
    return k;
  }

  /** Loads an object and checks its name is the SHA-256 of its bytes. */
  async loadVerified(h: Handle): Promise<Buffer> {
    const bytes = await this.backend.load(h);
    if (h.type !== 'config' && sha256(bytes).toString('hex') !== h.name)
      throw new EbakError('AUTH_FAILED', `${describe(h)}: content does not match its name (altered or corrupted)`, { hint: 'run `ebak check` to list every damaged object' });
    return bytes;
  }

  async saveObject(type: Exclude<ObjectTypeName, 'config'>, payload: Buffer): Promise<string> {
    const bytes = encodeObject(this.keys.object, type, payload);
    const name = sha256(bytes).toString('hex');
    await this.backend.save({ type: OBJECT_DIR[type], name }, bytes);
    return name;
  }

  async loadObject(type: Exclude<ObjectTypeName, 'config'>, name: string): Promise<Buffer> {
    const h = { type: OBJECT_DIR[type], name };
    return decodeObject(this.keys.object, type, await this.loadVerified(h), describe(h));
  }

  async list(type: FileType): Promise<string[]> {
    const names: string[] = [];
    for await (const f of this.backend.list(type)) names.push(f.name);
    return names;
  }

  async loadIndex(): Promise<void> {
    for (const name of await this.list('index')) this.addIndexFile(name, await this.loadObject('index', name));
  }

  addIndexFile(name: string, payload: Buffer): void {
    for (const p of decodeIndex(payload, `index/${name}`).packs) {
      this.index.addPack({ id: p.id.toString('hex'), salt: p.salt, kind: p.kind, keySource: p.keySource }, p.blobs);
    }
  }

  async loadSnapshot(id: string): Promise<Snapshot> {
    return decodeSnapshot(await this.loadObject('snapshot', id), `snapshots/${id}`);
  }

  /** All snapshots, oldest first; throws on the first damaged one ("latest" cannot be known then). */
  async snapshots(): Promise<{ id: string; snapshot: Snapshot }[]> {
    const { snapshots, damaged } = await this.readSnapshots();
    if (damaged[0]) throw damaged[0];
    return snapshots;
  }

  /** Every readable snapshot, oldest first, and the errors of the damaged ones. */
  async readSnapshots(): Promise<{ snapshots: { id: string; snapshot: Snapshot }[]; damaged: EbakError[] }> {
    const snapshots = [];
    const damaged: EbakError[] = [];
    for (const id of await this.list('snapshots')) {
      try {
        snapshots.push({ id, snapshot: await this.loadSnapshot(id) });
      } catch (e) {
        if (!isEbakError(e)) throw e;
        damaged.push(e);
      }
    }
    snapshots.sort((a, b) => Date.parse(a.snapshot.time) - Date.parse(b.snapshot.time) || a.id.localeCompare(b.id));
    return { snapshots, damaged };
  }

  /** Resolves "latest", a full id or a unique prefix of at least 4 hex digits. */
  async findSnapshot(ref: string): Promise<{ id: string; snapshot: Snapshot }> {
    if (ref === 'latest') {
      const all = await this.snapshots();
      if (all.length === 0) throw new EbakError('NOT_FOUND', 'the repository has no snapshots yet');
      return all[all.length - 1]!;
    }
    if (!/^[0-9a-f]{4,64}$/.test(ref)) throw new EbakError('USAGE', `${JSON.stringify(ref)} is not a snapshot id (give "latest" or at least 4 hex digits)`);
    const matches = (await this.list('snapshots')).filter((n) => n.startsWith(ref));
    if (matches.length === 0) throw new EbakError('NOT_FOUND', `no snapshot ${ref}`);
    if (matches.length > 1) throw new EbakError('USAGE', `snapshot prefix ${ref} is ambiguous (${matches.length} matches)`);
    return { id: matches[0]!, snapshot: await this.loadSnapshot(matches[0]!) };
  }

  /** Reads and authenticates one blob on the calling thread (trees, small reads). */
  async loadBlob(id: Buffer, type: number): Promise<Buffer> {
    const hex = id.toString('hex');
    const loc = this.index.lookup(id);
    if (!loc) throw new EbakError('NOT_FOUND', `blob ${hex} is not in the index (missing data; run \`ebak check\`)`);
    if (loc.type !== type) throw new EbakError('CORRUPT', `blob ${hex} has type ${loc.type}, expected ${type}`);
    const what = `blob ${hex.slice(0, 16)} in data/${loc.pack.id}`;
    const sealed = await this.backend.load({ type: 'data', name: loc.pack.id }, { offset: loc.offset, length: loc.length });
    return openBlob(this.packKey(loc.pack), this.keys.blobId, { type, flags: loc.flags, rawLength: loc.rawLength, id }, sealed, what);
  }

  async loadTree(id: string): Promise<TreeNode[]> {
    return decodeTree(await this.loadBlob(Buffer.from(id, 'hex'), BlobType.tree), `tree ${id.slice(0, 16)}`);
  }
}

async function requireRepository(backend: Backend): Promise<void> {
  if (!(await backend.isRepository()))
    throw new EbakError('NO_REPOSITORY', `no ebak repository at ${backend.location}`, { hint: 'check the location, or create one with `ebak init`' });
}

async function saveKeyFile(backend: Backend, f: KeyFile): Promise<string> {
  const bytes = Buffer.from(JSON.stringify(f, null, 2));
  const name = sha256(bytes).toString('hex');
  await backend.save({ type: 'keys', name }, bytes);
  return name;
}

export interface KeyListing {
  id: string;
  file?: KeyFile;
  damaged?: string;
}

/** Every key envelope, with the damaged ones named (name ≠ SHA-256, bad JSON). */
export async function listKeys(backend: Backend): Promise<KeyListing[]> {
  const out: KeyListing[] = [];
  for await (const f of backend.list('keys')) {
    const bytes = await backend.load({ type: 'keys', name: f.name });
    if (sha256(bytes).toString('hex') !== f.name) {
      out.push({ id: f.name, damaged: 'content does not match its name' });
      continue;
    }
    try {
      out.push({ id: f.name, file: parseKeyFile(bytes, `keys/${f.name}`) });
    } catch (e) {
      if (!isEbakError(e)) throw e;
      out.push({ id: f.name, damaged: e.message });
    }
  }
  return out;
}

async function unlock(backend: Backend, secret: Secret): Promise<Buffer> {
  const kind: KeyKind = secret.recoveryCode !== undefined ? 'recovery' : 'password';
  const value = secret.recoveryCode ?? secret.password;
  if (value === undefined) throw new EbakError('USAGE', 'no password or recovery key given', { hint: 'set EBAK_PASSWORD / EBAK_PASSWORD_FILE or pass --recovery-key-file' });
  const keys = await listKeys(backend);
  for (const k of keys) {
    if (k.file?.kind !== kind) continue;
    const mk = await unwrapKeyFile(k.file, value, `keys/${k.id}`);
    if (mk) return mk;
  }
  const damaged = keys.filter((k) => k.damaged);
  if (damaged.length > 0)
    throw new EbakError('AUTH_FAILED', `no key opened the repository, and keys/${damaged[0]!.id} is damaged (${damaged[0]!.damaged})`, { hint: 'try your recovery key; run `ebak check`' });
  throw new EbakError('WRONG_KEY', kind === 'password' ? 'wrong password (no key in the repository opens with it)' : 'wrong recovery key (no key in the repository opens with it)');
}
