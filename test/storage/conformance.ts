/**
 * The backend conformance suite: every Backend (local directory, S3) runs
 * exactly these tests against a real medium. They pin the contract of
 * src/storage/backend.ts: round trips per type, ranges, NOT_FOUND, CORRUPT
 * ranges beyond the end, idempotent saves and deletes, listing with more
 * than 1,000 objects (S3's page size), and the declared capabilities.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Backend, ByteSource, FileInfo, FileType, Handle } from '../../src/storage/backend.js';
import type { ErrorCode } from '../../src/errors.js';

export interface ConformanceOptions {
  /** A size above the backend's multipart threshold, to cover multipart saves (default 1 MiB). */
  readonly largeBytes?: number;
}

export const PAGINATION_COUNT = 1_050;

export function id(): string {
  return randomBytes(32).toString('hex');
}

export async function rejectsWith(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.equal((e as { code?: unknown }).code, code, `expected ${code}, got ${String(e)}`);
    return true;
  });
}

export async function collect(it: AsyncIterable<FileInfo>): Promise<FileInfo[]> {
  const out: FileInfo[] = [];
  for await (const fi of it) out.push(fi);
  return out;
}

/** A ByteSource over a real file holding `bytes`, as a pack in its temporary file is; `starts` counts reads from byte 0 (one per attempt of a single upload). */
export interface FileSource extends ByteSource {
  starts: number;
  close(): Promise<void>;
}

export async function fileSource(bytes: Buffer): Promise<FileSource> {
  const dir = await mkdtemp(join(tmpdir(), 'ebak-source-'));
  await writeFile(join(dir, 'f'), bytes);
  const fh = await open(join(dir, 'f'), 'r');
  const src: FileSource = {
    length: bytes.length,
    starts: 0,
    read: async (offset, into) => {
      if (offset === 0) src.starts++;
      assert.ok(offset + into.length <= bytes.length, 'read within the source');
      for (let done = 0; done < into.length; ) {
        const { bytesRead } = await fh.read(into, done, into.length - done, offset + done);
        assert.ok(bytesRead > 0);
        done += bytesRead;
      }
    },
    close: async () => {
      await fh.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return src;
}

/** Runs `fn` over `items` with at most `n` calls in flight. */
export async function pool<T>(items: readonly T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: n }, worker));
}

export function conformance(name: string, open: () => Promise<Backend>, opts: ConformanceOptions = {}): void {
  describe(`${name}: backend conformance`, () => {
    let b: Backend;
    before(async () => {
      b = await open();
      await b.create();
    });
    after(async () => b.close());

    it('declares its capabilities: exactly the contract\'s flags, archiveRestore exactly when prepareRead exists', () => {
      const c = b.capabilities;
      assert.deepEqual(Object.keys(c).sort(), ['appendOnly', 'archiveRestore', 'objectLock', 'storageClasses']);
      for (const v of Object.values(c)) assert.equal(typeof v, 'boolean');
      assert.equal(c.archiveRestore, typeof b.prepareRead === 'function');
    });

    it('create is idempotent; a container without config is no repository', async () => {
      await b.create();
      assert.equal(await b.isRepository(), false);
      assert.deepEqual(await collect(b.list('config')), []);
    });

    it('round-trips every file type, including config and an empty object', async () => {
      const types: FileType[] = ['keys', 'snapshots', 'index', 'data', 'locks'];
      for (const type of types) {
        const h = { type, name: id() };
        const data = randomBytes(100 + types.indexOf(type));
        await b.save(h, data);
        assert.deepEqual(await b.load(h), data);
        assert.deepEqual(await b.stat(h), { name: h.name, size: data.length });
      }
      const empty = { type: 'keys' as const, name: id() };
      await b.save(empty, new Uint8Array(0));
      assert.equal((await b.load(empty)).length, 0);
      const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      await b.save({ type: 'config', name: 'config' }, all);
      assert.deepEqual(await b.load({ type: 'config', name: 'config' }), all);
      assert.equal(await b.isRepository(), true);
      assert.deepEqual(await collect(b.list('config')), [{ name: 'config', size: 256 }]);
    });

    it('saving the same bytes again succeeds (idempotent)', async () => {
      const h = { type: 'data' as const, name: id() };
      const data = randomBytes(4096);
      await b.save(h, data, { packKind: 'data' });
      await b.save(h, data, { packKind: 'data' });
      assert.deepEqual(await b.load(h), data);
    });

    // LoadOptions.into: the restore's reused range buffers (a fresh buffer faults in every page it is
    // written, and counts towards the main thread's next full collection).
    it('reads a range into the buffer given when it fits, else into one of its own', async () => {
      const bytes = randomBytes(300 * 1024); // past the size the local backend reads on the thread pool, and one below it
      const h = { type: 'data' as const, name: id() };
      await b.save(h, bytes, { packKind: 'data' });
      for (const length of [1000, 280 * 1024]) {
        const into = Buffer.alloc(290 * 1024);
        const got = await b.load(h, { offset: 5000, length }, { into });
        assert.deepEqual(got, bytes.subarray(5000, 5000 + length));
        assert.equal(got.buffer, into.buffer, `${length}: into the buffer given`);
        assert.equal(got.byteOffset, into.byteOffset, `${length}: at its start`);
      }
      const small = Buffer.alloc(10);
      const own = await b.load(h, { offset: 7, length: 11 }, { into: small });
      assert.deepEqual(own, bytes.subarray(7, 18));
      assert.notEqual(own.buffer, small.buffer, 'too small: a buffer of its own');
      assert.deepEqual(small, Buffer.alloc(10));
    });

    it('loads byte ranges; a range beyond the end is CORRUPT', async () => {
      const h = { type: 'data' as const, name: id() };
      const data = randomBytes(10_000);
      await b.save(h, data, { packKind: 'tree' });
      assert.deepEqual(await b.load(h, { offset: 0, length: 1 }), data.subarray(0, 1));
      assert.deepEqual(await b.load(h, { offset: 1234, length: 5000 }), data.subarray(1234, 6234));
      assert.deepEqual(await b.load(h, { offset: 9000, length: 1000 }), data.subarray(9000));
      assert.equal((await b.load(h, { offset: 10, length: 0 })).length, 0);
      await rejectsWith(b.load(h, { offset: 9000, length: 1001 }), 'CORRUPT');
      await rejectsWith(b.load(h, { offset: 10_000, length: 1 }), 'CORRUPT');
      await rejectsWith(b.load(h, { offset: 20_000, length: 10 }), 'CORRUPT');
    });

    it('a large object round-trips whole and in ranges across part boundaries', async () => {
      const size = opts.largeBytes ?? 1024 * 1024;
      const h = { type: 'data' as const, name: id() };
      const data = randomBytes(size);
      await b.save(h, data, { packKind: 'data' });
      assert.equal((await b.stat(h)).size, size);
      assert.ok((await b.load(h)).equals(data));
      const mid = Math.floor(size / 2);
      assert.ok((await b.load(h, { offset: mid - 100, length: 300_000 })).equals(data.subarray(mid - 100, mid + 299_900)));
      await b.remove(h);
    });

    it('saves from a ByteSource read in pieces: small, large (multipart), empty, and again (idempotent)', async () => {
      for (const size of [1000, 600_000, opts.largeBytes ?? 1024 * 1024, 0]) {
        const h = { type: 'data' as const, name: id() };
        const data = randomBytes(size);
        const src = await fileSource(data);
        try {
          await b.save(h, src, { packKind: 'data' });
          await b.save(h, src, { packKind: 'data' });
        } finally {
          await src.close();
        }
        assert.equal((await b.stat(h)).size, size);
        assert.ok((await b.load(h)).equals(data), `${size} bytes`);
        await b.remove(h);
      }
    });

    it('missing objects: load and stat are NOT_FOUND, remove succeeds', async () => {
      const h: Handle = { type: 'snapshots', name: id() };
      await rejectsWith(b.load(h), 'NOT_FOUND');
      await rejectsWith(b.load(h, { offset: 0, length: 10 }), 'NOT_FOUND');
      await rejectsWith(b.stat(h), 'NOT_FOUND');
      await b.remove(h);
    });

    it('remove deletes; removing twice is fine', async () => {
      const h: Handle = { type: 'locks', name: id() };
      await b.save(h, randomBytes(10));
      await b.remove(h);
      await b.remove(h);
      await rejectsWith(b.load(h), 'NOT_FOUND');
      assert.ok(!(await collect(b.list('locks'))).some((fi) => fi.name === h.name));
    });

    it('remove of other types deletes unless the backend is append-only, which refuses (STORAGE) and keeps the object', async () => {
      const h: Handle = { type: 'index', name: id() };
      await b.save(h, randomBytes(10));
      if (b.capabilities.appendOnly) {
        await rejectsWith(b.remove(h), 'STORAGE');
        assert.equal((await b.stat(h)).size, 10);
      } else {
        await b.remove(h);
        await rejectsWith(b.stat(h), 'NOT_FOUND');
      }
    });

    it('refuses object names that are not hex ids (USAGE)', async () => {
      for (const name of ['../config', 'ABCDEF0123', 'abc', 'aa/bbbbbbbbbb', '']) {
        await rejectsWith(b.save({ type: 'keys', name }, randomBytes(1)), 'USAGE');
        await rejectsWith(b.load({ type: 'keys', name }), 'USAGE');
      }
    });

    it(`lists every object with its size, paging past 1,000 (${PAGINATION_COUNT} objects)`, async () => {
      const before = await collect(b.list('index'));
      const names = Array.from({ length: PAGINATION_COUNT }, id);
      const size = (n: string) => 1 + parseInt(n[0] ?? '0', 16);
      await pool(names, 16, (name) => b.save({ type: 'index', name }, Buffer.from(name.slice(0, size(name)))));
      const listed = await collect(b.list('index'));
      assert.equal(listed.length, before.length + PAGINATION_COUNT);
      const want = new Map([...before.map((fi): [string, number] => [fi.name, fi.size]), ...names.map((n): [string, number] => [n, size(n)])]);
      for (const fi of listed) assert.equal(fi.size, want.get(fi.name), `size of ${fi.name}`);
      assert.equal(new Set(listed.map((fi) => fi.name)).size, listed.length);
    });

    it('lists data packs across their 2-hex folders, and nothing of other types', async () => {
      const names = ['00', '7f', 'ff'].map((p) => p + id().slice(2));
      for (const name of names) await b.save({ type: 'data', name }, Buffer.from(name));
      const listed = new Map((await collect(b.list('data'))).map((fi) => [fi.name, fi.size]));
      for (const name of names) assert.equal(listed.get(name), name.length);
      const keys = new Set((await collect(b.list('keys'))).map((fi) => fi.name));
      for (const name of names) assert.ok(!keys.has(name));
    });
  });
}
