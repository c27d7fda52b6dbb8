/**
 * Verifying one whole pack (check --read-data; restic's `CheckPack`): its
 * name is the SHA-256 of its bytes, its header authenticates, every blob
 * authenticates and hashes to its id, and the index agrees with the header.
 * Problems are returned, each naming the pack or blob, not thrown.
 */
import { sha256 } from '../crypto/index.js';
import { isEbakError } from '../errors.js';
import { openBlob } from './blob.js';
import { decodePack, type BlobEntry, type PackKeyOf } from './format/pack.js';
import type { MasterIndex } from './masterindex.js';

export async function checkPackBytes(id: string, bytes: Buffer, keys: { packKey: PackKeyOf; blobId: Buffer }, index: MasterIndex): Promise<string[]> {
  if (sha256(bytes).toString('hex') !== id) return [`data/${id}: content does not match its name (altered or corrupted)`];
  const { key, entries } = await decodePack(keys.packKey, bytes, `data/${id}`);
  return entries.flatMap((e) => checkBlob(key, keys.blobId, id, bytes, e, index));
}

function checkBlob(key: Buffer, blobKey: Buffer, packId: string, bytes: Buffer, e: BlobEntry, index: MasterIndex): string[] {
  const what = `blob ${e.id.toString('hex').slice(0, 16)} in data/${packId}`;
  try {
    openBlob(key, blobKey, e, bytes.subarray(e.offset, e.offset + e.length), what);
  } catch (err) {
    if (!isEbakError(err)) throw err;
    return [err.message];
  }
  const loc = index.lookup(e.id);
  if (loc && loc.pack.id === packId && (loc.offset !== e.offset || loc.length !== e.length || loc.rawLength !== e.rawLength))
    return [`${what}: index disagrees with the pack header`];
  return [];
}
