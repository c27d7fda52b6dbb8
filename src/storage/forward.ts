/**
 * The forwarding base of the storage wrappers (retry.ts, limit.ts,
 * accounting.ts): it forwards every Backend operation to the wrapped backend,
 * so a wrapper overrides only what it changes (restic's wrappers embed the
 * backend the same way). Location and capabilities are the wrapped backend's;
 * `prepareRead`, `changeStorageClass` and `extendRetention` exist exactly when the wrapped
 * backend has them.
 *
 * The single-request operations (create, isRepository, save, load, stat,
 * remove) all pass through `forward`, so a wrapper that treats them alike
 * (retry them, bound them) overrides that one method. Every call's options
 * (its signal) pass through `passed`, so a wrapper that adds to them
 * (signal.ts) overrides that one.
 */
import type { Backend, ByteRange, CallOptions, Capabilities, FileInfo, FileType, Handle, SaveData, SaveOptions, LoadOptions } from './backend.js';

/** The single-request operations, as `forward` is told them. */
export type Operation = 'create' | 'isRepository' | 'save' | 'load' | 'stat' | 'remove';

export abstract class ForwardingBackend implements Backend {
  readonly location: string;
  readonly capabilities: Capabilities;
  readonly prepareRead?: Backend['prepareRead'];
  readonly changeStorageClass?: Backend['changeStorageClass'];
  readonly extendRetention?: Backend['extendRetention'];

  constructor(protected readonly inner: Backend) {
    this.location = inner.location;
    this.capabilities = inner.capabilities;
    const prepare = inner.prepareRead?.bind(inner);
    if (prepare) {
      this.prepareRead = (handles, onProgress, opts) => {
        const o = this.passed(undefined, opts);
        return this.prepare(() => prepare(handles, onProgress, o), o?.signal);
      };
    }
    // A copy in place is one request that writes, billed as a PUT: a wrapper treats it as a save.
    const change = inner.changeStorageClass?.bind(inner);
    if (change) {
      this.changeStorageClass = (h, storageClass, opts) => {
        const o = this.passed(h.type, opts);
        return this.forward('save', () => change(h, storageClass, o), o?.signal);
      };
    }
    // So is a retention extension (a HEAD, then at most one PUT).
    const extend = inner.extendRetention?.bind(inner);
    if (extend) {
      this.extendRetention = (h, since, opts) => {
        const o = this.passed(h.type, opts);
        return this.forward('save', () => extend(h, since, o), o?.signal);
      };
    }
  }

  /** Runs one single-request operation on the wrapped backend; the default runs it as is. */
  protected forward<T>(_op: Operation, run: () => Promise<T>, _signal: AbortSignal | undefined): Promise<T> {
    return run();
  }

  /** Runs the wrapped backend's prepareRead; the default runs it as is (it may wait hours and bounds its own requests). */
  protected prepare(run: () => Promise<void>, _signal: AbortSignal | undefined): Promise<void> {
    return run();
  }

  /** The options a call on an object of `type` (none: not one object's) passes on; the default passes them as given. */
  protected passed<O extends CallOptions>(_type: FileType | undefined, opts: O | undefined): O | undefined {
    return opts;
  }

  create(opts?: CallOptions): Promise<void> {
    const o = this.passed(undefined, opts);
    return this.forward('create', () => this.inner.create(o), o?.signal);
  }
  isRepository(opts?: CallOptions): Promise<boolean> {
    const o = this.passed('config', opts);
    return this.forward('isRepository', () => this.inner.isRepository(o), o?.signal);
  }
  save(h: Handle, data: SaveData, opts?: SaveOptions): Promise<void> {
    const o = this.passed(h.type, opts);
    return this.forward('save', () => this.inner.save(h, data, o), o?.signal);
  }
  load(h: Handle, range?: ByteRange, opts?: LoadOptions): Promise<Buffer> {
    const o = this.passed(h.type, opts);
    return this.forward('load', () => this.inner.load(h, range, o), o?.signal);
  }
  stat(h: Handle, opts?: CallOptions): Promise<FileInfo> {
    const o = this.passed(h.type, opts);
    return this.forward('stat', () => this.inner.stat(h, o), o?.signal);
  }
  remove(h: Handle, opts?: CallOptions): Promise<void> {
    const o = this.passed(h.type, opts);
    return this.forward('remove', () => this.inner.remove(h, o), o?.signal);
  }
  list(type: FileType, opts?: CallOptions): AsyncIterable<FileInfo> {
    return this.inner.list(type, this.passed(type, opts));
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
