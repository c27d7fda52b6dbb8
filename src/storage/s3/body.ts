/**
 * Reading a GetObject body into one Buffer. The SDK's transformToByteArray
 * gathers the chunks and concatenates them, and Buffer.from of its answer
 * copied the bytes once more: two copies of every byte read on the main
 * thread, and a Buffer that shares no memory with what came off the socket.
 * With the length known (Content-Length), each chunk is copied once into a
 * Buffer of its own memory, which a worker can then be handed without
 * another copy. A body longer than announced is refused here; a shorter
 * one is the caller's to judge (it compares the length).
 */
import { EbakError } from '../../errors.js';
import { retryable } from '../retry.js';

export async function readBody(body: AsyncIterable<Uint8Array>, length: number | undefined, what: string): Promise<Buffer> {
  if (length === undefined) {
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(Buffer.from(c.buffer, c.byteOffset, c.byteLength));
    return Buffer.concat(chunks);
  }
  const out = Buffer.allocUnsafeSlow(length);
  let at = 0;
  for await (const c of body) {
    if (at + c.byteLength > length) throw retryable(new EbakError('STORAGE', `${what}: got more than the ${length} bytes announced`));
    out.set(c, at);
    at += c.byteLength;
  }
  return at === length ? out : out.subarray(0, at);
}
