/**
 * A map bounded by total weight, evicting the least recently used entries
 * first (JavaScript's Map keeps insertion order: a hit is moved to the end).
 * `dispose` runs on every entry that leaves (evicted, replaced or deleted),
 * so holders of secrets can zero them.
 */
export interface LruOptions<V> {
  /** The most total weight held; an entry heavier than this alone is not kept. */
  readonly capacity: number;
  /** An entry's weight (default 1: a count bound). */
  readonly weigh?: (v: V) => number;
  readonly dispose?: (v: V) => void;
}

export class Lru<K, V> {
  private readonly entries = new Map<K, { value: V; weight: number }>();
  private total = 0;

  constructor(private readonly options: LruOptions<V>) {}

  get size(): number {
    return this.entries.size;
  }

  get weight(): number {
    return this.total;
  }

  /** The value, made the most recently used. */
  get(key: K): V | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.value;
  }

  set(key: K, value: V): void {
    this.delete(key);
    const weight = this.options.weigh?.(value) ?? 1;
    if (weight > this.options.capacity) {
      this.options.dispose?.(value);
      return;
    }
    this.entries.set(key, { value, weight });
    this.total += weight;
    for (const [k] of this.entries) {
      if (this.total <= this.options.capacity) break;
      this.delete(k);
    }
  }

  delete(key: K): void {
    const e = this.entries.get(key);
    if (e === undefined) return;
    this.entries.delete(key);
    this.total -= e.weight;
    this.options.dispose?.(e.value);
  }

  /** Deletes every entry `drop` picks. */
  deleteWhere(drop: (v: V, k: K) => boolean): void {
    for (const [k, e] of [...this.entries]) if (drop(e.value, k)) this.delete(k);
  }
}
