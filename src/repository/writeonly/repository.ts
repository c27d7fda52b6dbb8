/**
 * A repository opened with a write-only credential: the narrow interfaces a
 * backup needs (api.ts), and nothing else. New blobs go into key source 1
 * packs, index files, the snapshot and its lock into EBKO version 2 objects
 * (credential.ts); the full key reads all of them (reader.ts).
 *
 * What it can read is what it wrote: its blob index is the blobs of the
 * index files it can reopen (its own, through its device key; every other
 * one is skipped as not its own), so a backup deduplicates against its own
 * earlier backups. It cannot read a pack (not even its own: it never holds
 * the HPKE private key), so there is no parent snapshot and no tree to load:
 * unchanged files are read again and deduplicate by blob id. Of locks it
 * sees its own only (the full key's are sealed under K): its shared lock is
 * what full-key prunes and exclusive commands see and respect.
 */
import { sha256 } from '../../crypto/index.js';
import { EbakError, isEbakError } from '../../errors.js';
import type { Backend, FileType } from '../../storage/backend.js';
import type { BlobIndex, BlobStore, Lock, Locker, LockMode, SnapshotEntry, SnapshotStore, TreeLoader } from '../api.js';
import { decodeIndex } from '../format/indexfile.js';
import { OBJECT_VERSION_GENERATION, objectVersion, type ObjectTypeName } from '../format/object.js';
import { writeOnlyKeySource } from '../format/pack.js';
import { encodeSnapshot, type Snapshot } from '../format/snapshot.js';
import type { TreeNode } from '../format/tree.js';
import { acquireLockRetrying, type LockObjects } from '../locks.js';
import { Packer } from '../packer.js';
import { hostMeta, OBJECT_DIR } from '../repository.js';
import type { WorkerPool } from '../workers.js';
import { WritableRepository } from '../writable.js';
import { newPackKey, openOwnObject, sealObject, writeOnlyRefusal, type WriteOnlyCredential, type WriterConfig } from './credential.js';

export class WriteOnlyRepository extends WritableRepository implements SnapshotStore, TreeLoader, BlobIndex, BlobStore, Locker {
  private readonly damagedLocks = new Set<string>();
  /** The index files loadIndex found to be this credential's own (undefined until it runs). */
  private ownIndex: Set<string> | undefined;

  constructor(private readonly backend: Backend, private readonly credential: WriteOnlyCredential) {
    super(credential.blobIdKey, credential.gearSeed);
  }

  /** The config values the credential carries (it cannot read the stored config). */
  get config(): WriterConfig {
    return this.credential.config;
  }

  /**
   * The packs each snapshot saved here references (packsWritten), from the
   * blobs its backup handed the packer, stored or deduplicated: it cannot
   * walk the trees, but it wrote or deduplicated every blob of them.
   */
  private readonly written = new Map<string, string[]>();
  private readonly saved = new Set<string>();
  private writer: ReferencingPacker | undefined;

  blobWriter(pool: WorkerPool): Packer {
    return (this.writer = new ReferencingPacker({
      index: this.index,
      config: { ...this.config, ...this.writing },
      packKeys: { source: writeOnlyKeySource(this.credential.generation), newKey: () => newPackKey(this.credential) },
      blobId: (data) => this.blobId(data),
      savePack: (id, pack, packKind) => this.backend.save({ type: 'data', name: id }, pack, { packKind, sha256: id }),
      saveIndex: (payload) => this.saveObject('index', payload),
    }, pool));
  }

  /** The packs snapshot `id` references, when this session saved it; undefined when a blob had no pack; another's: refused. */
  packsWritten(id: string): string[] | undefined {
    if (!this.saved.has(id)) throw writeOnlyRefusal();
    return this.written.get(id);
  }

  // ---- Index ----

  /** Loads the index files this credential wrote; damaged ones are named and skipped. Returns their names. */
  async loadIndex(): Promise<string[]> {
    this.index.clear();
    this.ownIndex = new Set();
    const damaged: string[] = [];
    for (const name of await this.list('index')) if (!(await this.addIndexFile(name))) damaged.push(name);
    return damaged;
  }

  /** After the lock: its own index files added since; if one it read is gone (a full-key prune rewrote them), all again. */
  protected async refreshIndex(): Promise<void> {
    if (!this.ownIndex) return;
    const names = await this.list('index');
    if ([...this.ownIndex].some((n) => !names.includes(n))) {
      await this.loadIndex();
      return;
    }
    for (const name of names) if (!this.ownIndex.has(name)) await this.addIndexFile(name);
  }

  /** Merges one index file if it is this credential's own; false when it is damaged (warned). */
  private async addIndexFile(name: string): Promise<boolean> {
    try {
      const payload = await this.loadOwn('index', name);
      if (!payload) return true;
      const { packs } = decodeIndex(payload, `index/${name}`);
      for (const p of packs) this.index.addPack({ id: p.id.toString('hex'), salt: p.salt, kind: p.kind, keySource: p.keySource }, p.blobs);
      this.ownIndex!.add(name);
      return true;
    } catch (e) {
      if (isEbakError(e, 'NOT_FOUND')) return true; // removed by a prune meanwhile: not needed
      if (!isEbakError(e, 'AUTH_FAILED') && !isEbakError(e, 'CORRUPT')) throw e;
      this.warn(`index/${name} is damaged and was skipped: ${e.message}`);
      return false;
    }
  }

  // ---- Snapshots: saved, never read (a parent needs trees, which it cannot read) ----

  async listSnapshots(): Promise<string[]> {
    throw writeOnlyRefusal();
  }

  async loadSnapshot(): Promise<Snapshot> {
    throw writeOnlyRefusal();
  }

  /** No snapshot is readable to it, so a backup has no parent. */
  async readSnapshots(): Promise<{ snapshots: SnapshotEntry[]; damaged: EbakError[] }> {
    return { snapshots: [], damaged: [] };
  }

  async findSnapshot(): Promise<SnapshotEntry> {
    throw writeOnlyRefusal();
  }

  /** Saves the snapshot; its blobs were all stored (the packer finished first), so the index locates each one's pack. */
  async saveSnapshot(s: Snapshot): Promise<string> {
    const id = await this.saveObject('snapshot', encodeSnapshot(s));
    this.saved.add(id);
    const packs = new Set<string>();
    for (const blob of this.writer?.referenced ?? []) {
      const loc = this.index.lookup(Buffer.from(blob, 'hex'));
      if (!loc) return id; // not all located: no record, rather than one that leaves a pack out
      packs.add(loc.pack.id);
    }
    if (this.writer) this.written.set(id, [...packs].sort());
    return id;
  }

  async loadTree(): Promise<TreeNode[]> {
    throw writeOnlyRefusal();
  }

  // ---- Locks ----

  protected acquire(mode: LockMode, onStale: (msg: string) => void): Promise<Lock> {
    return acquireLockRetrying(this.lockObjects(), mode, hostMeta(), onStale, this.lockRetryMs);
  }

  /** Its own locks only: the others are sealed under K (and a full key's prune reads this one's). */
  private lockObjects(): LockObjects {
    return {
      listLocks: async () => {
        const own: string[] = [];
        for (const id of await this.list('locks')) if (await this.ownLock(id)) own.push(id);
        return own;
      },
      loadLock: async (id) => {
        const payload = await this.loadOwn('lock', id);
        if (!payload) throw new EbakError('NOT_FOUND', `locks/${id} is not this credential's`);
        return payload;
      },
      saveLock: (payload) => this.saveObject('lock', payload),
      removeLock: (id) => this.backend.remove({ type: 'locks', name: id }),
    };
  }

  /** Whether locks/`id` is its own; a damaged one of its own is named once and not counted. */
  private async ownLock(id: string): Promise<boolean> {
    try {
      return (await this.loadOwn('lock', id)) !== undefined;
    } catch (e) {
      if ((isEbakError(e, 'AUTH_FAILED') || isEbakError(e, 'CORRUPT')) && !this.damagedLocks.has(id)) {
        this.damagedLocks.add(id);
        this.warn(`locks/${id} is damaged and was ignored: ${e.message}`);
      }
      return false; // gone meanwhile, damaged, or a newer writer's: not a lock of its own
    }
  }

  // ---- Objects ----

  private async saveObject(type: Exclude<ObjectTypeName, 'config'>, payload: Buffer): Promise<string> {
    const bytes = await sealObject(this.credential, type, payload);
    const name = sha256(bytes).toString('hex');
    await this.backend.save({ type: OBJECT_DIR[type], name }, bytes, { sha256: name });
    if (type === 'snapshot' || type === 'index') this.stored(type, name);
    return name;
  }

  /** An object's payload if this credential wrote it (name checked first), else undefined. */
  private async loadOwn(type: Exclude<ObjectTypeName, 'config'>, name: string): Promise<Buffer | undefined> {
    const bytes = await this.backend.load({ type: OBJECT_DIR[type], name });
    const what = `${OBJECT_DIR[type]}/${name}`;
    if (sha256(bytes).toString('hex') !== name) throw new EbakError('AUTH_FAILED', `${what}: content does not match its name (altered or corrupted)`);
    if (objectVersion(bytes, type, what) === OBJECT_VERSION_GENERATION) return undefined; // a rotated full key's: never its own
    return openOwnObject(this.credential, type, bytes, what);
  }

  private async list(type: FileType): Promise<string[]> {
    const names: string[] = [];
    for await (const f of this.backend.list(type)) names.push(f.name);
    return names;
  }
}

/** A packer that remembers every blob a backup references, stored or already known. */
class ReferencingPacker extends Packer {
  readonly referenced = new Set<string>();

  override add(type: number, id: Buffer, data: Buffer, sealed?: (bytes: number) => void): Promise<boolean> {
    this.referenced.add(id.toString('hex'));
    return super.add(type, id, data, sealed);
  }
}
