/**
 * Blob ids: HMAC-SHA-256 under the blob-id key over the plaintext
 * (docs/format.md, "Object names and blob ids"). A run of zeros (a sparse
 * file, a disk image) chunks into many identical all-zero blobs; their id is
 * computed once per length and remembered, so a 20 GiB hole costs a memcmp
 * per chunk, not 20 GiB of HMAC.
 */
import { hmacSha256 } from '../crypto/index.js';
import { isAllZero } from '../util/buffers.js';

export class BlobIds {
  private readonly zeroIds = new Map<number, Buffer>();

  constructor(private readonly key: Uint8Array) {}

  id(data: Uint8Array): Buffer {
    if (data.length === 0 || data[0] !== 0 || !isAllZero(data)) return hmacSha256(this.key, data);
    let id = this.zeroIds.get(data.length);
    if (!id) {
      id = hmacSha256(this.key, data);
      // Bounded: chunk lengths of zero runs are few (the maximum, and one tail per run).
      if (this.zeroIds.size < 1024) this.zeroIds.set(data.length, id);
    }
    return Buffer.from(id); // callers may keep or change their copy
  }
}
