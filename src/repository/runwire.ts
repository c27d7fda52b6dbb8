/**
 * A run of one pack's blobs as it crosses to a blob worker (BlobReader.readRun):
 * flat, one array of ids and one of numbers, so the message clones two arrays
 * instead of an object, a buffer and a message string for every blob (a
 * restore of small files sends runs of hundreds of blobs, and each small
 * typed array costs the clone more than its bytes). Shared by the two sides,
 * workers.ts and blobworker.ts.
 */
import { EbakError } from '../errors.js';
import type { BlobRef } from './blob.js';

/** One blob of a run: its reference and where its sealed bytes lie in the run's range. */
export interface RunBlob {
  ref: BlobRef;
  offset: number;
  length: number;
}

/** A run's blobs on the wire: ids back to back, and per blob its type, flags, raw length, offset and length. */
export interface RunWire {
  ids: Uint8Array;
  fields: Float64Array;
}

/** A blob id's bytes (HMAC-SHA-256, docs/format.md). */
const ID_BYTES = 32;
const FIELDS = 5;

export function toWire(blobs: readonly RunBlob[]): RunWire {
  const ids = new Uint8Array(blobs.length * ID_BYTES);
  const fields = new Float64Array(blobs.length * FIELDS);
  blobs.forEach(({ ref, offset, length }, i) => {
    if (ref.id.length !== ID_BYTES) throw new EbakError('CORRUPT', `a blob id of ${ref.id.length} bytes (expected ${ID_BYTES})`);
    ids.set(ref.id, i * ID_BYTES);
    fields.set([ref.type, ref.flags, ref.rawLength, offset, length], i * FIELDS);
  });
  return { ids, fields };
}

/** The blobs of a run received, in run order (ids are views into the message's array). */
export function* fromWire(w: RunWire): Generator<RunBlob> {
  const ids = Buffer.from(w.ids.buffer, w.ids.byteOffset, w.ids.byteLength);
  for (let i = 0; i < w.fields.length / FIELDS; i++) {
    const [type, flags, rawLength, offset, length] = w.fields.subarray(i * FIELDS, (i + 1) * FIELDS) as unknown as number[];
    yield { ref: { type: type!, flags: flags!, rawLength: rawLength!, id: ids.subarray(i * ID_BYTES, (i + 1) * ID_BYTES) }, offset: offset!, length: length! };
  }
}
