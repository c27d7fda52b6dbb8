/**
 * Open file descriptors of pack files, kept for the next range read. A
 * restore reads each pack a file's blobs at a time, so the same pack is
 * opened thousands of times; an open and close per read was a quarter of
 * a small-file restore's main thread. Packs are immutable (named by the
 * hash of their bytes), so a kept descriptor never reads stale data; one
 * whose file was removed reads the bytes it had, which are those of the name.
 *
 * Only data objects are kept (config, keys, locks and snapshots are read
 * once), at most MAX_OPEN at a time, the least recently used closed first.
 */
import { closeSync } from 'node:fs';
import type { Handle } from './backend.js';

const MAX_OPEN = 32;

export class FdCache {
  /** By name, in order of last use (a Map iterates in insertion order). */
  private readonly fds = new Map<string, number>();

  constructor(private readonly openFile: (h: Handle) => number) {}

  /** A descriptor for `h`; give it back with release(). */
  open(h: Handle): number {
    if (h.type !== 'data') return this.openFile(h);
    const fd = this.fds.get(h.name);
    if (fd === undefined) return this.openFile(h);
    this.fds.delete(h.name); // taken out while in use: an eviction cannot close it under a read
    return fd;
  }

  /** Keeps a data object's descriptor for the next read (closing the least recently used past MAX_OPEN); closes any other. */
  release(h: Handle, fd: number): void {
    if (h.type !== 'data' || this.fds.has(h.name)) return closeSync(fd);
    this.fds.set(h.name, fd);
    if (this.fds.size > MAX_OPEN) this.forget({ type: 'data', name: this.fds.keys().next().value! });
  }

  /** Closes the kept descriptor of `h`, if any (its file is being removed). */
  forget(h: Handle): void {
    const fd = this.fds.get(h.name);
    if (h.type !== 'data' || fd === undefined) return;
    this.fds.delete(h.name);
    closeSync(fd);
  }

  closeAll(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}
