/**
 * Reading a GetObject body into one Buffer. The SDK's transformToByteArray
 * gathers the chunks and concatenates them, and Buffer.from of its answer
 * copied the bytes once more: two copies of every byte read on the main
 * thread, and a Buffer that shares no memory with what came off the socket.
 * With the length known (Content-Length), each chunk is copied once into a
 * Buffer of its own memory, which a worker can then be handed without
 * another copy, or into the start of `into` when the caller gives one that
 * fits (a restore's reused range buffers: a fresh 8 MiB buffer is a fresh
 * mapping whose every page faults as the body is copied in, and external
 * memory that brings the main thread's next full collection closer).
 * A body longer than announced is refused here; a shorter one is the
 * caller's to judge (it compares the length).
 *
 * The chunks are taken as 'data' events, not by async iteration: a pack
 * comes in some 16 KiB chunks a TLS record, and the iterator's promise per
 * chunk cost ~15 % more of the main thread's CPU (docs/benchmarks.md, s3perf2).
 */
import type { Readable } from 'node:stream';
import { EbakError } from '../../errors.js';
import { retryable } from '../retry.js';

export function readBody(body: Readable, length: number | undefined, what: string, into?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const out = length === undefined ? undefined : into !== undefined && into.length >= length ? into.subarray(0, length) : Buffer.allocUnsafeSlow(length);
    let at = 0;
    body.on('data', (c: Buffer) => {
      if (!out) return chunks.push(c);
      if (at + c.byteLength > out.length) {
        body.destroy();
        return reject(retryable(new EbakError('STORAGE', `${what}: got more than the ${out.length} bytes announced`)));
      }
      out.set(c, at);
      at += c.byteLength;
    });
    let ended = false;
    // Closed at its end, as async iteration does (a whole response leaves its socket to the pool):
    // the SDK drops its listener on the call's abort signal at the close, and a close left to come
    // later let more requests start than the signal allows listeners (MaxListenersExceededWarning).
    body.on('end', () => {
      ended = true;
      body.destroy();
    });
    body.on('error', reject);
    body.on('close', () => {
      if (!ended) return reject(retryable(new EbakError('STORAGE', `${what}: the connection closed before the body ended`)));
      resolve(!out ? Buffer.concat(chunks) : at === out.length ? out : out.subarray(0, at));
    });
  });
}
