/**
 * An open repository: the master key's subkeys, the config, the blob index,
 * and authenticated reads and writes of every object type. Everything read
 * from storage is checked here before anyone else sees it: object names
 * must equal the SHA-256 of the bytes, and every payload must authenticate.
 * Its storage and keys are private: the archiver, restorer, checker and
 * commands see it only through the narrow interfaces of api.ts.
 * (Over 400 lines because it is the one implementation of all of them; the
 * parts with logic of their own live beside it: keyring, blobreader,
 * packcheck, locks, packer, rotate-keys (which master key opens what after
 * a rotation), rotate; prune's planning is src/retention/prune*.ts.)
 */
import { hostname, userInfo } from 'node:os';
import { timingSafeEqual } from 'node:crypto';
import { random, sha256 } from '../crypto/index.js';
import { EbakError, isEbakError } from '../errors.js';
import { describe, type Backend, type Capabilities, type FileInfo, type FileType, type Handle } from '../storage/backend.js';
import type {
  BlobIndex, BlobStore, HeadRecorder, IndexFiles, IndexState, KeyLister, Lock, Locker, LockMode, PackStore, PruneStore, SnapshotEntry, SnapshotStore, TreeLoader,
} from './api.js';
import { openBlob } from './blob.js';
import { firstThatOpens, PackBlobReader } from './blobreader.js';
import { REPO_VERSION, type RepoConfig } from './format/config.js';
import { decodeIndex, decodeIndexEncoded, encodeIndex, type IndexedPack, type IndexFile } from './format/indexfile.js';
import { createKeyFile, wrapInKeyFile, type KeyFile, type KeyKind } from './format/keyfile.js';
import { openConfig, sealConfig, type Keyring } from './format/keyring.js';
import { encodeObject, OBJECT_VERSION_SEALED, objectVersion, type ObjectTypeName } from './format/object.js';
import { BlobType, decodePack, decodePrefix, keySourceGeneration, keySourceOf, MAX_WRITE_ONLY_GENERATION, PREFIX_BYTES } from './format/pack.js';
import { decodeSnapshot, encodeSnapshot, type Snapshot } from './format/snapshot.js';
import type { TreeNode } from './format/tree.js';
import { decodeTreeBlob, type TreeBlob } from './format/tree-split.js';
import { joinParts } from './trees.js';
import { keyToRemove, listKeys, saveKeyFile, unlock, type KeyFileRecipient, type KeyListing, type Secret, type Unlocked } from './keyring.js';
import { acquireLockRetrying, otherLiveLocks, removeLocks, type LockInfo, type LockObjects } from './locks.js';
import { MasterIndex, type EncodedPackEntries, type PackInfo } from './masterindex.js';
import { checkPackBytes } from './packcheck.js';
import { masterPackKeys, Packer } from './packer.js';
import type { WorkerPool } from './workers.js';
import { WritableRepository } from './writable.js';
import { encodeCredential, newCredential, writeOnlyRefusal, type WriteOnlyCredential } from './writeonly/credential.js';
import { deriveSubKeys, KeyGenerations, type SubKeys } from './rotate-keys.js';

export type { KeyListing, Secret } from './keyring.js';
export type { SubKeys } from './rotate-keys.js';

/** What --no-lock hands a reading command instead of a lock: nothing written, nothing to release. */
const NO_LOCK: Lock = { id: () => '', release: async () => {} };

/**
 * New repositories' writing settings. zstd level 2, not 3: on the real-file
 * corpus it takes 26 % less compression CPU (a first backup on 2 cores is bound
 * by CPU) for blobs 3.8 % larger, which leaves the repository the size of
 * restic's `auto` (docs/benchmarks.md, 12-04 "zstd level"). A repository keeps
 * the level it was made with; --compression picks another for one run.
 */
export const DEFAULT_CONFIG = {
  chunker: { min: 512 * 1024, avg: 1024 * 1024, max: 8 * 1024 * 1024 },
  compression_level: 2,
  pack_size: 16 * 1024 * 1024,
};

/** Where each type of encrypted object is stored. */
export const OBJECT_DIR: Record<Exclude<ObjectTypeName, 'config'>, FileType> = { index: 'index', snapshot: 'snapshots', lock: 'locks', retention: 'retention' };

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

export class Repository extends WritableRepository implements SnapshotStore, TreeLoader, BlobIndex, BlobStore, IndexFiles, PackStore, KeyLister, Locker, PruneStore {
  private noSharedLocks = false;
  private readonly packKeys = new Map<string, Buffer>();
  /** The current generation's subkeys: what everything new is sealed with. */
  private readonly keys: SubKeys;
  /** Packs loadIndex indexed from their own headers (no readable index covered them). */
  private fromHeaders: IndexedPack[] = [];
  /** The index files loadIndex read (undefined until it runs): what a lock re-checks. */
  private indexNames: Set<string> | undefined;

  /**
   * `reader`: every master-key generation it holds (it opens what any of
   * them sealed, write-only credentials' packs and objects among them);
   * `keyring`: what the config carries after a rotation; `openedWith`: the
   * key envelope this session unlocked (none when opened with K itself).
   */
  private constructor(private readonly backend: Backend, private readonly reader: KeyGenerations, readonly config: RepoConfig, private readonly keyring: Keyring | undefined, private readonly openedWith?: string) {
    super(reader.keys.blobId, reader.keys.gearSeed);
    this.keys = reader.keys;
  }

  static subKeys(masterKey: Uint8Array): SubKeys {
    return deriveSubKeys(masterKey);
  }

  /**
   * Creates a repository; K is generated here (or given, for the vault flow,
   * which must wrap K itself) and stored only wrapped, one key file per
   * recipient (src/keys).
   */
  static async init(
    backend: Backend,
    recipients: readonly KeyFileRecipient[],
    opts: {
      masterKey?: Buffer;
      objectLock?: RepoConfig['object_lock'];
      /** Runs with the stored config object's bytes before anything is written (the vault registers there); throwing writes nothing. */
      beforeWrite?: (config: Buffer) => Promise<void>;
    } = {},
  ): Promise<Repository> {
    const givenKey = opts.masterKey;
    if (await backend.isRepository()) throw new EbakError('ALREADY_EXISTS', `${backend.location} already holds an ebak repository`);
    const masterKey = givenKey ?? random(32);
    try {
      const config: RepoConfig = {
        version: REPO_VERSION, id: random(32).toString('hex'), created: new Date().toISOString(), ...DEFAULT_CONFIG,
        ...(opts.objectLock ? { object_lock: opts.objectLock } : {}),
      };
      const stored = sealConfig(masterKey, config);
      await opts.beforeWrite?.(stored);
      await backend.create();
      for (const r of recipients) await saveKeyFile(backend, await r.wrap(masterKey));
      await backend.save({ type: 'config', name: 'config' }, stored);
      return new Repository(backend, KeyGenerations.of(masterKey, undefined, config.id), config, undefined);
    } finally {
      if (!givenKey) masterKey.fill(0);
    }
  }

  /** Opens with a password or recovery code; tells a wrong secret from a damaged key file. */
  static async open(backend: Backend, secret: Secret): Promise<Repository> {
    await requireRepository(backend);
    const { masterKey, keyId } = fullKey(await unlock(backend, secret));
    try {
      return await Repository.openWith(backend, masterKey, keyId);
    } finally {
      masterKey.fill(0);
    }
  }

  /**
   * Opens with K itself, unwrapped by an identity (src/keys); `keyId` names
   * the key file it came from, which `removeKey` then refuses to remove.
   */
  static async openWithMasterKey(backend: Backend, masterKey: Uint8Array, keyId?: string): Promise<Repository> {
    return Repository.openWith(backend, masterKey, keyId);
  }

  private static async openWith(backend: Backend, masterKey: Uint8Array, keyId: string | undefined): Promise<Repository> {
    await requireRepository(backend);
    const { config, keyring } = openedConfig(masterKey, await backend.load({ type: 'config', name: 'config' }));
    return new Repository(backend, KeyGenerations.of(masterKey, keyring, config.id), config, keyring, keyId);
  }

  /** The same open repository over another backend (same keys and config; the index is not carried over). */
  withBackend(backend: Backend): Repository {
    return new Repository(backend, this.reader, this.config, this.keyring, this.openedWith);
  }

  // ---- Keys ----

  /** Adds a key envelope for the same master key (needs the current secret). */
  async addKey(current: Secret, kind: KeyKind, secret: string): Promise<string> {
    const { masterKey } = fullKey(await unlock(this.backend, current));
    try {
      return await saveKeyFile(this.backend, await createKeyFile(masterKey, kind, secret, hostMeta()));
    } finally {
      masterKey.fill(0);
    }
  }

  /**
   * Adds a write-only credential's key file under `password` (docs/format.md,
   * "Write-only credentials"): the repository public key, the blob-id key,
   * the gear seed, the writer's config values and a new device key. K is not
   * needed: everything in it derives from the subkeys this session holds.
   */
  async addWriteOnlyKey(password: string): Promise<string> {
    return saveKeyFile(this.backend, await wrapInKeyFile(encodeCredential(await this.newWriteOnlyCredential()), 'write-only', password, hostMeta()));
  }

  /** A new write-only credential for this repository (a key file wraps it, or a vault holds it for a write-only device). */
  async newWriteOnlyCredential(): Promise<WriteOnlyCredential> {
    if (this.reader.current > MAX_WRITE_ONLY_GENERATION)
      throw new EbakError('NOT_IMPLEMENTED', `write-only credentials of master-key generation ${this.reader.current} have no key source (1…${MAX_WRITE_ONLY_GENERATION} do: docs/format.md, "Master-key rotation")`);
    return newCredential(this.config, this.keys, (await this.reader.keyPair()).publicKey, this.reader.current);
  }

  listKeys(): Promise<KeyListing[]> {
    return listKeys(this.backend);
  }

  /**
   * Replaces the password envelope this session opened with by one for
   * `password` (restic's `key passwd`): the new envelope is saved first and
   * the old one removed after, so a crash between leaves both, never none.
   * Returns both ids. Callers hold an exclusive lock.
   */
  async replacePasswordKey(current: Secret, password: string): Promise<{ added: string; removed: string }> {
    if (this.openedWith === undefined || current.password === undefined)
      throw new EbakError('USAGE', 'this session did not open the repository with a password key, so there is no password to change', { hint: 'open it with its password (a recovery key or a vault device session has none to change); `ebak key add` adds a password key' });
    const { masterKey, keyId } = fullKey(await unlock(this.backend, current));
    try {
      if (keyId !== this.openedWith) throw new EbakError('USAGE', `the password given opens key ${keyId.slice(0, 8)}, not the key this session opened`);
      const added = await saveKeyFile(this.backend, await createKeyFile(masterKey, 'password', password, hostMeta()));
      await this.backend.remove({ type: 'keys', name: keyId });
      return { added, removed: keyId };
    } finally {
      masterKey.fill(0);
    }
  }

  /**
   * Removes the one envelope `prefix` names; returns its id. Refuses the
   * envelope this session opened with and the last intact one. Callers hold
   * an exclusive lock.
   */
  async removeKey(prefix: string): Promise<string> {
    const id = keyToRemove(await listKeys(this.backend), prefix, this.openedWith);
    await this.backend.remove({ type: 'keys', name: id });
    return id;
  }

  // ---- Master-key rotation (docs/format.md, "Master-key rotation"; rotate.ts) ----

  /** The master-key generation everything new is sealed under, the older ones the keyring still holds, the key files an unfinished rotation still removes. */
  get generations(): { current: number; old: number[]; pending: readonly string[] } {
    return { current: this.reader.current, old: (this.keyring?.old ?? []).map((o) => o.generation), pending: this.keyring?.pending ?? [] };
  }

  /** Whether `masterKey` is the current generation's. */
  isCurrentKey(masterKey: Uint8Array): boolean {
    const mine = this.reader.all().find((g) => g.generation === this.reader.current)!.key;
    return masterKey.length === mine.length && timingSafeEqual(masterKey, mine);
  }

  /** The current generation's master key and every one this repository holds (a vault-mode rotation links them to the new key). */
  masterKeys(): { current: Buffer; all: Buffer[] } {
    const all = this.reader.all();
    return { current: all.find((g) => g.generation === this.reader.current)!.key, all: all.map((g) => g.key) };
  }

  storeKeyFile(f: KeyFile): Promise<string> {
    return saveKeyFile(this.backend, f);
  }

  removeKeyFile(id: string): Promise<void> {
    return this.backend.remove({ type: 'keys', name: id });
  }

  /**
   * Saves the config with a new keyring: sealed under `newKey` as the next
   * generation (every key this repository holds goes into it), or under the
   * current key with `pending` replaced and, with `dropOld`, no old key left.
   */
  async sealKeyring(change: { newKey?: Buffer; pending: string[]; dropOld?: boolean }): Promise<void> {
    const all = this.reader.all();
    const current = this.reader.current;
    const shared = { blobIdKey: this.keys.blobId, gearSeed: this.keys.gearSeed, pending: change.pending };
    const keyring = change.newKey
      ? { generation: current + 1, ...shared, old: all }
      : { generation: current, ...shared, old: change.dropOld ? [] : all.filter((g) => g.generation !== current) };
    const key = change.newKey ?? all.find((g) => g.generation === current)!.key;
    await this.backend.save({ type: 'config', name: 'config' }, sealConfig(key, this.config, keyring));
  }

  /** This repository opened again with `masterKey` (after a rotation saved its config). */
  reopenWith(masterKey: Uint8Array): Promise<Repository> {
    return Repository.openWith(this.backend, masterKey, undefined);
  }

  /**
   * Seals every snapshot of an older generation again under the current
   * one (`original` names its first version, as `ebak tag` does), saving
   * the new object before removing the old; a copy an interrupted run
   * already saved is not saved twice; the old ones go once every copy is
   * saved, through `removeOld` (vault mode posts them to the head). Callers
   * hold an exclusive lock. Returns how many were rewritten.
   */
  async reencryptSnapshots(
    removeOld: (ids: string[]) => Promise<void> = async (ids) => { for (const id of ids) await this.removeSnapshot(id); },
    /** An old snapshot to leave as it is (operations/rotate.ts: one a retention lock or hold protects). */
    skip: (entry: SnapshotEntry) => boolean = () => false,
  ): Promise<number> {
    const current = new Set<string>();
    const old: SnapshotEntry[] = [];
    for (const id of await this.listSnapshots()) {
      const h = { type: 'snapshots', name: id } as const;
      const raw = await this.loadVerified(h);
      const snapshot = decodeSnapshot(await this.reader.openObject('snapshot', raw, describe(h)), describe(h));
      if (KeyGenerations.generationOf('snapshot', raw, describe(h)) === this.reader.current) current.add(encodeSnapshot(snapshot).toString('base64'));
      else if (!skip({ id, snapshot })) old.push({ id, snapshot });
    }
    for (const { id, snapshot } of old) {
      const payload = encodeSnapshot({ ...snapshot, original: snapshot.original ?? id });
      const key = payload.toString('base64');
      if (!current.has(key)) await this.saveObject('snapshot', payload);
      current.add(key);
    }
    await removeOld(old.map((o) => o.id));
    return old.length;
  }

  /** The stored packs, index files and snapshots sealed under an older generation than the current one. */
  async oldObjects(): Promise<{ packs: string[]; index: string[]; snapshots: string[] }> {
    const older = async (type: 'index' | 'snapshot') => {
      const out: string[] = [];
      for (const name of await this.list(OBJECT_DIR[type])) {
        const h = { type: OBJECT_DIR[type], name };
        if (KeyGenerations.generationOf(type, await this.loadVerified(h), describe(h)) !== this.reader.current) out.push(name);
      }
      return out;
    };
    const packs: string[] = [];
    for (const f of await this.listPacks()) {
      const prefix = decodePrefix(await this.backend.load({ type: 'data', name: f.name }, { offset: 0, length: PREFIX_BYTES }), `data/${f.name}`);
      if (keySourceGeneration(prefix.keySource)!.generation !== this.reader.current) packs.push(f.name);
    }
    return { packs, index: await older('index'), snapshots: await older('snapshot') };
  }

  // ---- Locks ----

  /**
   * restic's --no-lock: shared locks (what reading commands take) are not
   * written, so a repository on read-only storage can be read. Exclusive and
   * prune locks are still taken.
   */
  skipSharedLocks(): void {
    this.noSharedLocks = true;
  }

  protected async acquire(mode: LockMode, onStale: (msg: string) => void): Promise<Lock> {
    if (mode === 'shared' && this.noSharedLocks) return NO_LOCK;
    return acquireLockRetrying(this.lockObjects(), mode, hostMeta(), onStale, this.lockRetryMs);
  }

  /** The live locks of other holders. */
  otherLocks(mine: Lock): Promise<LockInfo[]> {
    return otherLiveLocks(this.lockObjects(), mine);
  }

  /** Removes stale locks (`all`: every lock); returns their ids. */
  removeLocks(all: boolean): Promise<string[]> {
    return removeLocks(this.lockObjects(), all);
  }

  private lockObjects(): LockObjects {
    return {
      listLocks: () => this.list('locks'),
      loadLock: (id) => this.loadObject('lock', id),
      saveLock: (payload) => this.saveObject('lock', payload),
      removeLock: (id) => this.backend.remove({ type: 'locks', name: id }),
    };
  }

  // ---- Blobs ----

  /** A packer writing new blobs through `pool` into this repository. */
  blobWriter(pool: WorkerPool): Packer {
    return this.packer(this.index, pool);
  }

  /** A writer that stores every blob it is given (repacking copies blobs the index already knows). */
  repackWriter(pool: WorkerPool): Packer {
    return this.packer(new MasterIndex(), pool);
  }

  private packer(index: MasterIndex, pool: WorkerPool): Packer {
    return new Packer({
      index,
      config: { ...this.config, ...this.writing },
      packKeys: masterPackKeys(this.keys.pack, keySourceOf(this.reader.current)),
      blobId: (data) => this.blobId(data),
      savePack: (id, pack, packKind) => this.backend.save({ type: 'data', name: id }, pack, { packKind, sha256: id }),
      saveIndex: (payload) => this.saveObject('index', payload),
    }, pool);
  }

  /** A reader of many blobs at once through `pool`, with at most 32 MiB of ranged reads in flight. */
  blobReader(pool: WorkerPool): PackBlobReader {
    return new PackBlobReader({ backend: this.backend, index: this.index, blobKey: this.keys.blobId, packKey: (p) => this.packKey(p) }, pool);
  }

  /** A pack's key, derived once per pack (through HPKE for key source 1). */
  private async packKey(pack: PackInfo): Promise<Buffer> {
    let k = this.packKeys.get(pack.id);
    if (!k) {
      k = await this.reader.packKey(pack, `data/${pack.id}`);
      this.packKeys.set(pack.id, k);
    }
    return k;
  }

  loadTree(id: string): Promise<TreeNode[]> {
    return joinParts(this, id);
  }

  async loadTreeBlob(id: string): Promise<TreeBlob> {
    return decodeTreeBlob(await this.loadBlob(Buffer.from(id, 'hex'), BlobType.tree), `tree ${id.slice(0, 16)}`);
  }

  /** Reads and authenticates one blob on the calling thread (trees), from another copy when the first is damaged. */
  private async loadBlob(id: Buffer, type: number): Promise<Buffer> {
    const hex = id.toString('hex');
    const loc = this.index.lookup(id);
    if (!loc) throw new EbakError('NOT_FOUND', `blob ${hex} is not in the index (missing data; run \`ebak check\`)`);
    if (loc.type !== type) throw new EbakError('CORRUPT', `blob ${hex} has type ${loc.type}, expected ${type}`);
    return firstThatOpens([loc, ...this.index.copies(id)], async (at) => {
      const what = `blob ${hex.slice(0, 16)} in data/${at.pack.id}`;
      const packKind = at.pack.kind === BlobType.tree ? 'tree' : 'data';
      const sealed = await this.backend.load({ type: 'data', name: at.pack.id, packKind }, { offset: at.offset, length: at.length });
      return openBlob(await this.packKey(at.pack), this.keys.blobId, { type, flags: at.flags, rawLength: at.rawLength, id }, sealed, what);
    });
  }

  // ---- Index and packs ----

  /**
   * Loads every readable index file. A damaged one is skipped and named, and
   * the packs no readable index covers (it may have been their only index:
   * the only way to their data) are indexed from their own authenticated
   * headers, so one bad index never blocks a backup, ls or restore. Returns
   * the damaged files' names.
   */
  async loadIndex(): Promise<string[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.loadIndexOnce();
      } catch (e) {
        // A prune replaced an index file between the listing and the read; it saves the
        // replacement first, so the next listing finds it (docs/format.md, "Deleting data").
        if (!isEbakError(e, 'NOT_FOUND') || attempt >= 5) throw e;
        this.index.clear();
        this.fromHeaders = [];
      }
    }
  }

  /** Every index file read and decoded as its bytes, then added in one bulk step (masterindex.ts addEncodedPacks). */
  private async loadIndexOnce(): Promise<string[]> {
    const damaged: string[] = [];
    const names = await this.listIndexFiles();
    this.indexNames = new Set(names);
    const packs: EncodedPackEntries[] = [];
    for (const name of names) {
      try {
        const { packs: live, marked = [] } = decodeIndexEncoded(await this.loadObject('index', name), `index/${name}`);
        for (const [list, isMarked] of [[live, false], [marked, true]] as const) for (const p of list) packs.push({ pack: packInfo(p), entries: p.entries, marked: isMarked });
      } catch (e) {
        if (!isEbakError(e) || !isDamage(e)) throw e;
        damaged.push(name);
        this.warn(`index/${name} is damaged and was skipped: ${e.message}`);
      }
    }
    this.index.addEncodedPacks(packs);
    if (damaged.length > 0) {
      this.fromHeaders = await this.indexFromHeaders();
      this.warn(`${this.fromHeaders.length} pack(s) no readable index covers were read from their own headers; run \`ebak repair index\` to write a new index`);
    }
    return damaged;
  }

  /**
   * After a lock is taken (and by prune before its deletions): index files
   * that appeared since loadIndex are added (a mark in one wins over a live
   * listing); if one it read is gone (a prune rewrote the index), the whole
   * index is read again. Nothing to do before loadIndex ran.
   */
  async refreshIndex(): Promise<void> {
    if (!this.indexNames) return;
    const names = await this.listIndexFiles();
    if ([...this.indexNames].some((n) => !names.includes(n))) return this.reloadIndex();
    for (const name of names.filter((n) => !this.indexNames!.has(n))) {
      this.indexNames.add(name);
      try {
        await this.loadIndexFile(name);
      } catch (e) {
        if (isEbakError(e, 'NOT_FOUND')) return this.reloadIndex(); // replaced by a prune meanwhile
        if (!isEbakError(e) || !isDamage(e)) throw e;
        this.warn(`index/${name} is damaged and was skipped: ${e.message}`);
      }
    }
  }

  private async reloadIndex(): Promise<void> {
    this.index.clear();
    this.fromHeaders = [];
    await this.loadIndex();
  }

  /** The packs in storage no loaded index covers, indexed from their headers (a damaged pack is named and left out). */
  private async indexFromHeaders(): Promise<IndexedPack[]> {
    const read: IndexedPack[] = [];
    for (const f of await this.listPacks()) {
      if (this.index.hasPack(f.name)) continue;
      try {
        const pack = await this.readPackHeader(f.name);
        this.index.addPack({ id: f.name, salt: pack.salt, kind: pack.kind, keySource: pack.keySource }, pack.blobs);
        read.push(pack);
      } catch (e) {
        if (!isEbakError(e) || !isDamage(e)) throw e;
        this.warn(`data/${f.name} is damaged; its blobs stay unreadable: ${e.message}`);
      }
    }
    return read;
  }

  /**
   * `ebak repair index` (restic's `repair index`): writes one new index file
   * for every pack no readable index covers (read from its header), then
   * removes the damaged index files (announced to `head` before and after,
   * in vault mode). Under the caller's exclusive lock.
   */
  async repairIndex(head?: HeadRecorder): Promise<{ written: string | undefined; packs: number; removed: string[]; missing: string[]; rewritten: string[] }> {
    const damaged = await this.loadIndex();
    // What loadIndex already read from headers, and any pack an interrupted backup left unindexed.
    const packs = [...this.fromHeaders, ...(await this.indexFromHeaders())];
    const written = packs.length > 0 ? await this.saveObject('index', encodeIndex({ packs, superseded: [] })) : undefined;
    await head?.removing({ indexes: damaged });
    for (const name of damaged) await this.backend.remove({ type: 'index', name });
    await head?.removed({ indexes: damaged });
    return { written, packs: packs.length, removed: damaged, ...(await this.dropMissingPacks(head)) };
  }

  /**
   * Index files that name packs the storage no longer has are rewritten
   * without them (as restic's repair index drops them), so `repair
   * snapshots` and `check` see what is lost instead of failing on it. Each
   * new file supersedes its old one and is saved before the old ones are
   * removed (announced to `head` before and after, in vault mode), so a crash
   * in between leaves what prune already cleans up.
   */
  private async dropMissingPacks(head: HeadRecorder | undefined): Promise<{ missing: string[]; rewritten: string[] }> {
    const present = new Set((await this.listPacks()).map((f) => f.name));
    const missing = new Set<string>();
    const rewritten: string[] = [];
    for (const { name, file } of (await this.readIndexState()).current) {
      const gone = file.packs.filter((p) => !present.has(p.id.toString('hex')));
      if (gone.length === 0) continue;
      for (const p of gone) missing.add(p.id.toString('hex'));
      const packs = file.packs.filter((p) => present.has(p.id.toString('hex')));
      await this.saveIndexFile({ packs, superseded: [Buffer.from(name, 'hex')], ...(file.marked ? { marked: file.marked } : {}) });
      rewritten.push(name);
    }
    if (rewritten.length === 0) return { missing: [], rewritten };
    await head?.removing({ indexes: rewritten });
    for (const name of rewritten) await this.removeIndexFile(name);
    await head?.removed({ indexes: rewritten });
    return { missing: [...missing], rewritten };
  }

  listIndexFiles(): Promise<string[]> {
    return this.list('index');
  }

  /** Loads, authenticates and merges one index file; returns its packs, those marked for deletion included. */
  async loadIndexFile(name: string): Promise<IndexedPack[]> {
    return this.addIndexFile(decodeIndex(await this.loadObject('index', name), `index/${name}`));
  }

  /** Merges one decoded index file into the in-memory index; returns its packs, those marked for deletion included. */
  private addIndexFile({ packs, marked = [] }: IndexFile): IndexedPack[] {
    for (const p of packs) this.index.addPack(packInfo(p), p.blobs);
    for (const p of marked) this.index.addPack(packInfo(p), p.blobs, true);
    return [...packs, ...marked];
  }

  // ---- Prune (docs/format.md, "Deleting data"; src/operations/prune.ts) ----

  get storage(): Capabilities {
    return this.backend.capabilities;
  }

  /** Every index file decoded, split into current ones, superseded ones (left by an interrupted prune) and damaged ones. */
  readIndexState(): Promise<IndexState> {
    return this.indexState(false);
  }

  /**
   * readIndexState, and every file it reads merged into the in-memory index
   * as loadIndex does (for refreshIndex too), from the same decoded files:
   * prune reads, decrypts and decodes each index file once, not twice. A
   * damaged file is only named (prune stops on it; no pack headers are read).
   */
  loadIndexState(): Promise<IndexState> {
    return this.indexState(true);
  }

  private async indexState(load: boolean): Promise<IndexState> {
    const read: { name: string; file: IndexFile }[] = [];
    const damaged: string[] = [];
    const names = await this.listIndexFiles();
    if (load) this.indexNames = new Set(names);
    for (const name of names) {
      try {
        const file = decodeIndexEncoded(await this.loadObject('index', name), `index/${name}`);
        if (load) this.addIndexFile(file);
        read.push({ name, file });
      } catch (e) {
        if (!isEbakError(e) || !isDamage(e)) throw e;
        damaged.push(name);
      }
    }
    const replaced = new Set(read.flatMap((r) => r.file.superseded.map((b) => b.toString('hex'))));
    return { current: read.filter((r) => !replaced.has(r.name)), superseded: read.filter((r) => replaced.has(r.name)).map((r) => r.name), damaged };
  }

  /**
   * Prune saved `file` as `name` in place of the index files `replaced`,
   * which it removed: the in-memory index takes the file's marks and the
   * packs it indexed from their headers, and the names change, so prune's
   * phase 2 refreshIndex adds only the files written since instead of
   * reading every index file again. The entries of packs the file leaves
   * out (indexed but not stored) stay: a read of one fails over to the
   * blob's other copies, as for any missing pack.
   */
  indexReplaced(replaced: readonly string[], name: string, file: IndexFile): void {
    if (!this.indexNames) return;
    this.addIndexFile(file);
    for (const old of replaced) this.indexNames.delete(old);
    this.indexNames.add(name);
  }

  /** Reads a pack's authenticated header: its index entry. */
  async readPackHeader(id: string): Promise<IndexedPack> {
    const { prefix, entries } = await decodePack(this.reader.packKey, await this.loadVerified({ type: 'data', name: id }), `data/${id}`);
    return { id: Buffer.from(id, 'hex'), salt: prefix.salt, kind: prefix.kind, keySource: prefix.keySource, blobs: entries };
  }

  saveIndexFile(file: IndexFile): Promise<string> {
    return this.saveObject('index', encodeIndex(file));
  }

  removeIndexFile(name: string): Promise<void> {
    return this.backend.remove({ type: 'index', name });
  }

  removePack(id: string): Promise<void> {
    return this.backend.remove({ type: 'data', name: id });
  }

  indexedPacks(): readonly PackInfo[] {
    return this.index.packs;
  }

  blobCount(): number {
    return this.index.size;
  }

  async listPacks(): Promise<FileInfo[]> {
    const out: FileInfo[] = [];
    for await (const f of this.backend.list('data')) out.push(f);
    return out;
  }

  async checkPack(id: string): Promise<string[]> {
    return checkPackBytes(id, await this.backend.load({ type: 'data', name: id }), { packKey: this.reader.packKey, blobId: this.keys.blobId }, this.index);
  }

  // ---- Snapshots ----

  listSnapshots(): Promise<string[]> {
    return this.list('snapshots');
  }

  async loadSnapshot(id: string): Promise<Snapshot> {
    return decodeSnapshot(await this.loadObject('snapshot', id), `snapshots/${id}`);
  }

  saveSnapshot(s: Snapshot): Promise<string> {
    return this.saveObject('snapshot', encodeSnapshot(s));
  }

  /** Deletes one snapshot object; the data it used stays until prune. Callers hold an exclusive lock. */
  async removeSnapshot(id: string): Promise<void> {
    if (!/^[0-9a-f]{64}$/.test(id)) throw new EbakError('USAGE', `${JSON.stringify(id)} is not a full snapshot id`);
    await this.backend.remove({ type: 'snapshots', name: id });
  }

  /** Every readable snapshot, oldest first, and the errors of the damaged ones. */
  async readSnapshots(): Promise<{ snapshots: SnapshotEntry[]; damaged: EbakError[] }> {
    const snapshots = [];
    const damaged: EbakError[] = [];
    for (const id of await this.listSnapshots()) {
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

  /**
   * Resolves "latest" (the newest readable snapshot: damaged ones are named
   * as warnings and skipped, as restic does, so one bad old snapshot never
   * blocks every restore), a full id or a unique prefix.
   */
  async findSnapshot(ref: string): Promise<SnapshotEntry> {
    if (ref === 'latest') {
      const { snapshots, damaged } = await this.readSnapshots();
      for (const e of damaged) this.warn(`${e.message}; skipped when choosing "latest"`);
      if (snapshots.length === 0) throw damaged[0] ?? new EbakError('NOT_FOUND', 'the repository has no snapshots yet');
      return snapshots[snapshots.length - 1]!;
    }
    if (!/^[0-9a-f]{4,64}$/.test(ref)) throw new EbakError('USAGE', `${JSON.stringify(ref)} is not a snapshot id (give "latest" or at least 4 hex digits)`);
    const matches = (await this.listSnapshots()).filter((n) => n.startsWith(ref));
    if (matches.length === 0) throw new EbakError('NOT_FOUND', `no snapshot ${ref}`);
    if (matches.length > 1) throw new EbakError('USAGE', `snapshot prefix ${ref} is ambiguous (${matches.length} matches)`);
    return { id: matches[0]!, snapshot: await this.loadSnapshot(matches[0]!) };
  }

  // ---- Retention (the local lock and holds; src/operations/retention.ts reads the payloads) ----

  /**
   * Every retention object's payload. Never a version 2 object, as for
   * `config`: one can be sealed by anyone holding the repository's public
   * key (a write-only credential), and must not lift a lock. Versions 1 and
   * 3 (a rotated master key's generation) are the full key's.
   */
  async readRetentionObjects(): Promise<{ name: string; payload: Buffer }[]> {
    const out = [];
    for (const name of await this.list('retention')) {
      const h = { type: 'retention' as const, name };
      const data = await this.loadVerified(h);
      if (objectVersion(data, 'retention', describe(h)) === OBJECT_VERSION_SEALED)
        throw new EbakError('UNSUPPORTED_VERSION', `${describe(h)}: a retention object sealed by a write-only credential is refused`);
      out.push({ name, payload: await this.reader.openObject('retention', data, describe(h)) });
    }
    return out;
  }

  saveRetentionObject(payload: Buffer): Promise<string> {
    return this.saveObject('retention', payload);
  }

  removeRetentionObject(name: string): Promise<void> {
    return this.backend.remove({ type: 'retention', name });
  }

  // ---- Encrypted objects ----

  /** Loads an object and checks its name is the SHA-256 of its bytes. */
  private async loadVerified(h: Handle): Promise<Buffer> {
    const bytes = await this.backend.load(h);
    if (h.type !== 'config' && sha256(bytes).toString('hex') !== h.name)
      throw new EbakError('AUTH_FAILED', `${describe(h)}: content does not match its name (altered or corrupted)`, { hint: 'run `ebak check` to list every damaged object' });
    return bytes;
  }

  /** Encrypts and saves an object; returns its name (public for tests that write objects as another process would). */
  async saveObject(type: Exclude<ObjectTypeName, 'config'>, payload: Buffer): Promise<string> {
    const bytes = encodeObject(this.keys.object, type, payload, this.reader.current);
    const name = sha256(bytes).toString('hex');
    await this.backend.save({ type: OBJECT_DIR[type], name }, bytes, { sha256: name });
    if (type === 'snapshot' || type === 'index') this.stored(type, name);
    return name;
  }

  private async loadObject(type: Exclude<ObjectTypeName, 'config'>, name: string): Promise<Buffer> {
    const h = { type: OBJECT_DIR[type], name };
    return this.reader.openObject(type, await this.loadVerified(h), describe(h));
  }

  private async list(type: FileType): Promise<string[]> {
    const names: string[] = [];
    for await (const f of this.backend.list(type)) names.push(f.name);
    return names;
  }
}

/** K from what a secret opened; a write-only credential opens nothing but backups (WRITE_ONLY). */
function fullKey(u: Unlocked): { masterKey: Buffer; keyId: string } {
  if ('credential' in u) throw writeOnlyRefusal();
  return u;
}

/** The config opened with `masterKey`; a config sealed under a later generation than the key says so. */
function openedConfig(masterKey: Uint8Array, raw: Buffer): ReturnType<typeof openConfig> {
  try {
    return openConfig(masterKey, raw);
  } catch (e) {
    const g = isEbakError(e, 'AUTH_FAILED') ? KeyGenerations.generationOf('config', raw, 'config') : 0;
    if (g === 0) throw e;
    throw new EbakError('AUTH_FAILED', `config: this master key does not open it (it is sealed under master-key generation ${g}): a key file a rotation retired opens nothing written since, or the config was altered`, { hint: 'open the repository with a key made by or after the rotation (`ebak key list`)' });
  }
}

/** NO_REPOSITORY unless `backend` holds an ebak repository. */
export async function requireRepository(backend: Backend): Promise<void> {
  if (!(await backend.isRepository()))
    throw new EbakError('NO_REPOSITORY', `no ebak repository at ${backend.location}`, { hint: 'check the location, or create one with `ebak init`' });
}

/**
 * An object that failed authentication or parsing: read around it, never
 * trusted. A version this build does not know is not damage (a newer ebak
 * wrote it): that stops the command, and repair never removes it.
 */
/** The in-memory index's record of an index file's pack. */
function packInfo(p: IndexedPack): PackInfo {
  return { id: p.id.toString('hex'), salt: p.salt, kind: p.kind, keySource: p.keySource };
}

function isDamage(e: EbakError): boolean {
  return e.code === 'AUTH_FAILED' || e.code === 'CORRUPT';
}
