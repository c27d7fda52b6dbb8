/**
 * Reading many blobs at once (restic's `LoadBlobsFromPack`): neighbouring
 * blobs of one pack are fetched with one ranged read (on S3, one GET instead
 * of one per blob), then each is authenticated and decompressed on its own
 * in a worker thread. At most IN_FLIGHT bytes of ranged reads are held per
 * reader, read or being opened (util/bytebudget.ts; storage bounds the
 * requests at once), which bounds memory. When a run fails,
 * each of its blobs is read on its own, then from every other copy the
 * index knows (restic's LoadBlob tries each location): one damaged blob
 * costs only itself, and nothing a copy elsewhere still holds. A run read
 * for a sink (readRun: the restorer's writes) is opened and consumed in the
 * worker with a single message each way.
 */
import { EbakError, isEbakError } from '../errors.js';
import type { Backend, Handle, ReadSet } from '../storage/backend.js';
import { owned } from '../util/buffers.js';
import { settleAll } from '../util/settle.js';
import type { BlobReader, LocatedBlob } from './api.js';
import { ByteBudget } from '../util/bytebudget.js';
import { BlobType } from './format/pack.js';
import type { BlobLocation, MasterIndex, PackInfo } from './masterindex.js';
import { RangeBuffers } from './rangebuffers.js';
import type { WorkerPool } from './workers.js';

/** Largest single ranged read: saves requests, and leaves room for several in IN_FLIGHT. */
const MAX_RUN_BYTES = 8 * 1024 * 1024;
/** Bytes of ranged reads held at once (restic's restorer: 8 workers of one pack at most each, bounded by a pack's size). */
const IN_FLIGHT = 32 * 1024 * 1024;

/** A blob with its place in the caller's list. */
interface Placed extends LocatedBlob {
  i: number;
}

/** What the reader needs of the repository: storage, the index and the keys that open blobs. */
export interface BlobSource {
  backend: Backend;
  index: MasterIndex;
  blobKey: Buffer;
  /** A pack's key (async: key source 1 goes through HPKE the first time). */
  packKey(pack: PackInfo): Promise<Buffer>;
}

export class PackBlobReader implements BlobReader {
  private readonly reads = new ByteBudget(IN_FLIGHT);
  /** Buffers of ranged reads for runs (readRun), back from the workers: IN_FLIGHT's worth of the largest runs. */
  private readonly ranges = new RangeBuffers(IN_FLIGHT / MAX_RUN_BYTES, MAX_RUN_BYTES);
  readonly prepareRead?: BlobReader['prepareRead'];

  constructor(private readonly src: BlobSource, private readonly pool: WorkerPool) {
    const prepare = src.backend.prepareRead?.bind(src.backend);
    if (prepare) this.prepareRead = (ids, onProgress) => prepare(dataPacks(ids), onProgress);
  }

  hasBlob(id: Uint8Array): boolean {
    return this.src.index.has(id);
  }

  lookupBlob(id: Uint8Array): BlobLocation | undefined {
    return this.src.index.lookup(id);
  }

  hasCopies(id: Uint8Array): boolean {
    return this.src.index.copies(id).length > 0;
  }

  async readBlobs(type: number, blobs: readonly LocatedBlob[], onBlob: (i: number, plain: Buffer) => void): Promise<void> {
    let failed = false; // once one read fails, the rest is not read
    await settleAll(runsOf(blobs).map((run) => this.reads.run(rangeBytes(run), async () => {
      if (failed) return;
      const plains = await this.readNeighbours(type, run).catch((e: unknown) => this.oneByOne(type, run, e)).catch((e) => { failed = true; throw e; });
      plains.forEach((plain, k) => onBlob(run[k]!.i, plain));
    })));
  }

  /**
   * The range is read into a buffer of `ranges`, which the worker opens it in and hands back
   * (a backend that answers with a buffer of its own, S3, leaves that one unused).
   */
  async readRun(type: number, run: readonly LocatedBlob[], sink: URL, task: unknown): Promise<unknown> {
    return this.reads.run(rangeBytes(run), () => this.ranges.with(rangeBytes(run), async (into) => {
      const { first, range: sealed, key } = await this.loadRange(type, run, into);
      const blobs = run.map(({ id, loc }) => ({ ref: { type: loc.type, flags: loc.flags, rawLength: loc.rawLength, id }, offset: loc.offset - first.offset, length: loc.length }));
      if (sealed.buffer !== into.buffer) {
        const { result } = await this.pool.openRun(key, this.src.blobKey, first.pack.id, blobs, owning(sealed), sink, task);
        return { value: result, back: into };
      }
      const { result, spent } = await this.pool.openRun(key, this.src.blobKey, first.pack.id, blobs, into, sink, task);
      return spent ? { value: result, back: spent } : { value: result };
    }));
  }

  /** After a run failed: each of its blobs alone, from its own location (unless that was the whole run), then from its copies. */
  private oneByOne(type: number, run: Placed[], failure: unknown): Promise<Buffer[]> {
    return Promise.all(run.map((b) => {
      const copies = this.src.index.copies(b.id);
      return firstThatOpens(run.length > 1 ? [b.loc, ...copies] : copies, async (loc) => (await this.readNeighbours(type, [{ ...b, loc }]))[0]!, failure);
    }));
  }

  /** One ranged read for a run of neighbouring blobs; each is then authenticated on its own. */
  private async readNeighbours(type: number, run: Placed[]): Promise<Buffer[]> {
    const { first, range, key } = await this.loadRange(type, run);
    return Promise.all(run.map(({ id, loc }) => {
      // Each blob gets its own buffer so it can be transferred to a worker.
      const sealed = Buffer.allocUnsafeSlow(loc.length);
      range.copy(sealed, 0, loc.offset - first.offset, loc.offset - first.offset + loc.length);
      const what = `blob ${id.toString('hex').slice(0, 16)} in data/${loc.pack.id}`;
      return this.pool.open(key, this.src.blobKey, { type: loc.type, flags: loc.flags, rawLength: loc.rawLength, id }, sealed, what);
    }));
  }

  /** One ranged read from the first blob of `run` to the end of its last (all of `type`), into `into` if the backend can, and the pack's key. */
  private async loadRange(type: number, run: readonly LocatedBlob[], into?: Buffer): Promise<{ first: BlobLocation; range: Buffer; key: Buffer }> {
    checkTypes(type, run);
    const first = run[0]!.loc;
    const range = await this.src.backend.load({ type: 'data', name: first.pack.id }, { offset: first.offset, length: rangeBytes(run) }, { into });
    return { first, range, key: await this.src.packKey(first.pack) };
  }
}

/** Pack ids as the storage's ReadSet of data packs; a way to find them is run once, whoever asks again. */
function dataPacks(ids: readonly string[] | (() => Promise<readonly string[]>)): ReadSet {
  const handles = (names: readonly string[]) => names.map((name): Handle => ({ type: 'data', name }));
  if (typeof ids !== 'function') return handles(ids);
  let found: Promise<readonly Handle[]> | undefined;
  return { type: 'data', collect: () => (found ??= ids().then(handles)) };
}

/** The bytes of one ranged read of `run`: from its first blob to the end of its last. */
function rangeBytes(run: readonly LocatedBlob[]): number {
  const first = run[0]!.loc;
  const last = run[run.length - 1]!.loc;
  return last.offset + last.length - first.offset;
}

function checkTypes(type: number, blobs: readonly LocatedBlob[]): void {
  for (const { id, loc } of blobs) if (loc.type !== type) throw new EbakError('CORRUPT', `blob ${id.toString('hex').slice(0, 16)} is not a ${typeName(type)} blob`);
}

/** The range itself when it owns its memory (so it is transferred), else a copy that does. */
function owning(b: Buffer): Buffer {
  const o = owned(b);
  return o === b ? b : Buffer.from(o.buffer, o.byteOffset, o.byteLength);
}

/** Reads the blob at each of `locs` in turn until one opens; the first failure (else `failure`) stands when none does. */
export async function firstThatOpens<T>(locs: readonly BlobLocation[], read: (loc: BlobLocation) => Promise<T>, failure?: unknown): Promise<T> {
  let first: unknown;
  for (const loc of locs) {
    try {
      return await read(loc);
    } catch (e) {
      if (!isEbakError(e)) throw e;
      first ??= e;
    }
  }
  throw first ?? failure;
}

function typeName(type: number): string {
  return type === BlobType.tree ? 'tree' : 'data';
}

/**
 * Groups blobs into runs that lie back to back in one pack. Blobs reach a
 * pack in the order workers finish them, not in file order, so the grouping
 * sorts by position in the pack; each blob keeps its place in the caller's list.
 */
function runsOf(blobs: readonly LocatedBlob[]): Placed[][] {
  const placed = blobs.map((b, i) => ({ ...b, i }));
  placed.sort((x, y) => x.loc.pack.id.localeCompare(y.loc.pack.id) || x.loc.offset - y.loc.offset);
  const runs: Placed[][] = [];
  for (const b of placed) {
    const run = runs[runs.length - 1];
    const prev = run?.[run.length - 1]?.loc;
    const adjacent = prev && prev.pack.id === b.loc.pack.id && prev.offset + prev.length === b.loc.offset;
    if (run && adjacent && b.loc.offset + b.loc.length - run[0]!.loc.offset <= MAX_RUN_BYTES) run.push(b);
    else runs.push([b]);
  }
  return runs;
}
