/**
 * What opening a repository reads, read once: the config and the key files.
 * Opening asks for the config up to three times (which vault device file
 * holds the account, whether a key opens it, the open itself) and, with a
 * recovery key, lists and reads the key files twice (to unlock, then to find
 * the vault account they name); on S3 each is a GET, and an unchanged
 * re-backup's requests (issue 16: at most 10) are mostly such fixed costs.
 * Meant for the open only: a repository keeps the config it opened with, and
 * key files are named by their content's hash. Each caller gets its own copy
 * of the bytes; a failed read is not kept.
 */
import type { ByteRange, CallOptions, FileInfo, FileType, Handle, LoadOptions } from './backend.js';
import { ForwardingBackend } from './forward.js';

const KEPT: ReadonlySet<FileType> = new Set(['config', 'keys']);

export class ReadOnce extends ForwardingBackend {
  private readonly loads = new Map<string, Promise<Buffer>>();
  private keyListing: Promise<FileInfo[]> | undefined;

  override load(h: Handle, range?: ByteRange, opts?: LoadOptions): Promise<Buffer> {
    if (!KEPT.has(h.type) || range !== undefined) return super.load(h, range, opts);
    const key = `${h.type}/${h.name}`;
    let p = this.loads.get(key);
    if (p === undefined) {
      p = kept(super.load(h, undefined, opts), () => this.loads.delete(key));
      this.loads.set(key, p);
    }
    return p.then((b) => Buffer.from(b));
  }

  override list(type: FileType, opts?: CallOptions): AsyncIterable<FileInfo> {
    if (type !== 'keys') return super.list(type, opts);
    this.keyListing ??= kept(collect(super.list(type, opts)), () => (this.keyListing = undefined));
    const listing = this.keyListing;
    return (async function* () {
      yield* await listing;
    })();
  }
}

/** `p`, forgotten (by `forget`) when it fails, so a later call reads again. */
function kept<T>(p: Promise<T>, forget: () => void): Promise<T> {
  return p.catch((e: unknown) => {
    forget();
    throw e;
  });
}

async function collect(it: AsyncIterable<FileInfo>): Promise<FileInfo[]> {
  const out: FileInfo[] = [];
  for await (const f of it) out.push(f);
  return out;
}
