/**
 * The contract between the blob worker and a sink module that
 * BlobReader.readRun names (the restorer's writes): what the module exports
 * and what it is handed. Apart from api.ts so that the worker's side
 * (blobworker.ts, loaded by workers.ts) needs nothing of the repository's
 * interfaces.
 */
import type { ErrorCode } from '../errors.js';

/** One blob of a run as the sink receives it: its plaintext, or why it did not open. */
export type OpenedBlob = { ok: true; data: Buffer } | { ok: false; code: ErrorCode; message: string };

/**
 * What a sink module (BlobReader.readRun) exports; it runs in a worker
 * thread. Each blob is opened as the iteration reaches it, in run order, so
 * one plaintext at a time is held: its `data` is valid only until the next
 * blob is taken (the worker decompresses every blob of a run into one reused
 * buffer, compress/index.ts).
 */
export type RunConsumer = (task: unknown, blobs: Iterable<OpenedBlob>) => unknown;
