/**
 * Request accounting around any Backend: counts requests by S3 billing class
 * and bytes moved, for the backup summary and cost estimates.
 *
 * Placed innermost (below retry), so every attempt counts, failed ones too:
 * a retried upload costs a request and its bytes again. Mapping to classes:
 * save → PUT, load → GET, stat/isRepository → HEAD, remove → DELETE,
 * create → PUT, list → one LIST per started page of 1,000 entries (S3's page
 * size), at least one per listing. bytesUp counts every attempted save's
 * bytes; bytesDown counts the bytes of each successful load.
 */
import type { Backend, ByteRange, CallOptions, FileInfo, FileType, Handle, SaveData, SaveOptions, LoadOptions } from './backend.js';
import { sizeOf } from './source.js';
import { ForwardingBackend, type Operation } from './forward.js';

export interface RequestCounts {
  readonly put: number;
  readonly get: number;
  readonly list: number;
  readonly delete: number;
  readonly head: number;
  readonly bytesUp: number;
  readonly bytesDown: number;
}

const LIST_PAGE = 1000;

export class RequestCounter {
  private c = { put: 0, get: 0, list: 0, delete: 0, head: 0, bytesUp: 0, bytesDown: 0 };

  add(field: keyof RequestCounts, n = 1): void {
    this.c[field] += n;
  }

  /** A copy: later requests do not change a snapshot already taken. */
  snapshot(): RequestCounts {
    return { ...this.c };
  }
}

/** The billing class of each single-request operation. */
const CLASS: Record<Operation, keyof RequestCounts> = { create: 'put', isRepository: 'head', save: 'put', load: 'get', stat: 'head', remove: 'delete' };

/** prepareRead is forwarded uncounted: only S3 has it, and S3 counts its own requests. */
export class AccountingBackend extends ForwardingBackend {
  constructor(inner: Backend, readonly counter = new RequestCounter()) {
    super(inner);
  }

  protected override forward<T>(op: Operation, run: () => Promise<T>): Promise<T> {
    this.counter.add(CLASS[op]);
    return run();
  }

  override save(h: Handle, data: SaveData, opts?: SaveOptions): Promise<void> {
    this.counter.add('bytesUp', sizeOf(data));
    return super.save(h, data, opts);
  }

  override async load(h: Handle, range?: ByteRange, opts?: LoadOptions): Promise<Buffer> {
    const buf = await super.load(h, range, opts);
    this.counter.add('bytesDown', buf.length);
    return buf;
  }

  override async *list(type: FileType, opts?: CallOptions): AsyncIterable<FileInfo> {
    this.counter.add('list');
    let n = 0;
    for await (const fi of this.inner.list(type, opts)) {
      if (n > 0 && n % LIST_PAGE === 0) this.counter.add('list');
      n++;
      yield fi;
    }
  }
}
