/**
 * Bandwidth limits (restic's --limit-upload / --limit-download): every save
 * and every load waits for its bytes on a virtual link of the given speed,
 * so the average over the run never exceeds it whatever the concurrency.
 * Placed inside the retry wrapper, so a retried request is paid for again.
 */
import { describe, type Backend, type ByteRange, type Handle, type SaveData, type SaveOptions, type LoadOptions } from './backend.js';
import { sizeOf } from './source.js';
import { pause } from './cancel.js';
import { ForwardingBackend } from './forward.js';

/** A link of `bytesPerSecond`: each transfer is given the next free slot of its length, and waits for its end. */
export class Pace {
  private free = 0;

  constructor(private readonly bytesPerSecond: number) {}

  /** Waits for the slot of `bytes` (CANCELLED when `signal` aborts: the slot stays taken, a later transfer still pays for it). */
  async take(bytes: number, signal?: AbortSignal, what = 'transfer'): Promise<void> {
    const now = Date.now();
    this.free = Math.max(now, this.free) + (bytes / this.bytesPerSecond) * 1000;
    if (this.free > now) await pause(this.free - now, signal, what);
  }
}

export class RateBackend extends ForwardingBackend {
  constructor(inner: Backend, private readonly up: Pace | undefined, private readonly down: Pace | undefined) {
    super(inner);
  }

  override async save(h: Handle, data: SaveData, opts?: SaveOptions): Promise<void> {
    await this.up?.take(sizeOf(data), opts?.signal, `write ${describe(h)}`);
    return super.save(h, data, opts);
  }

  override async load(h: Handle, range?: ByteRange, opts?: LoadOptions): Promise<Buffer> {
    const b = await super.load(h, range, opts);
    await this.down?.take(b.length, opts?.signal, `read ${describe(h)}`);
    return b;
  }
}
