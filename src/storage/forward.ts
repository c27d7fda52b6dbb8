/**
 * The forwarding base of the storage wrappers (retry.ts, limit.ts,
 * accounting.ts): it forwards every Backend operation to the wrapped backend,
 * so a wrapper overrides only what it changes (restic's wrappers embed the
 * backend the same way). Location and capabilities are the wrapped backend's;
 * `prepareRead` and `changeStorageClass` exist exactly when the wrapped
 * backend has them.
 *
 * The single-request operations (create, isRepository, save, load, stat,
 * remove) all pass through `forward`, so a wrapper that treats them alike
 * (retry them, bound them) overrides that one method.
 */
import type { Backend, ByteRange, Capabilities, FileInfo, FileType, Handle, SaveOptions } from './backend.js';

/** The single-request operations, as `forward` is told them. */
export type Operation = 'create' | 'isRepository' | 'save' | 'load' | 'stat' | 'remove';

export abstract class ForwardingBackend implements Backend {
  readonly location: string;
  readonly capabilities: Capabilities;
  readonly prepareRead?: Backend['prepareRead'];
  readonly changeStorageClass?: Backend['changeStorageClass'];

  constructor(protected readonly inner: Backend) {
    this.location = inner.location;
    this.capabilities = inner.capabilities;
    const prepare = inner.prepareRead?.bind(inner);
    if (prepare) this.prepareRead = (handles, onProgress) => this.prepare(() => prepare(handles, onProgress));
    // A copy in place is one request that writes, billed as a PUT: a wrapper treats it as a save.
    const change = inner.changeStorageClass?.bind(inner);
    if (change) this.changeStorageClass = (h, storageClass) => this.forward('save', () => change(h, storageClass));
  }

  /** Runs one single-request operation on the wrapped backend; the default runs it as is. */
  protected forward<T>(_op: Operation, run: () => Promise<T>): Promise<T> {
    return run();
  }

  /** Runs the wrapped backend's prepareRead; the default runs it as is (it may wait hours and bounds its own requests). */
  protected prepare(run: () => Promise<void>): Promise<void> {
    return run();
  }

  create(): Promise<void> {
    return this.forward('create', () => this.inner.create());
  }
  isRepository(): Promise<boolean> {
    return this.forward('isRepository', () => this.inner.isRepository());
  }
  save(h: Handle, data: Uint8Array, opts?: SaveOptions): Promise<void> {
    return this.forward('save', () => this.inner.save(h, data, opts));
  }
  load(h: Handle, range?: ByteRange): Promise<Buffer> {
    return this.forward('load', () => this.inner.load(h, range));
  }
  stat(h: Handle): Promise<FileInfo> {
    return this.forward('stat', () => this.inner.stat(h));
  }
  remove(h: Handle): Promise<void> {
    return this.forward('remove', () => this.inner.remove(h));
  }
  list(type: FileType): AsyncIterable<FileInfo> {
    return this.inner.list(type);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
