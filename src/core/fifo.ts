/**
 * Dropping the oldest entries of a bounded Map or Set (first in, first out).
 *
 * V8 keeps a deleted entry as a hole until the table is rehashed, and
 * iteration from the front steps over every hole, so dropping the oldest
 * entry one insertion at a time (`keys().next()`, then `delete`) walks over
 * all the earlier drops each time: measured here, 6 µs an insertion at 10,000
 * entries and 22 µs at 50,000, on every tx once the tables are full. The
 * bounded tables of the hot path (the tx log, the kept tx bodies and batches,
 * the verified-signature cache) drop in chunks instead, through one iterator:
 * once over their bound, down to `lowWater` of it (0.2 µs an insertion).
 */

/** A bound less a sixteenth: where a table that went over its bound is trimmed down to. */
export function lowWater(bound: number): number {
  return bound - Math.max(1, Math.floor(bound / 16))
}

/**
 * Drop the oldest entries of `table` while `more()` says so. `dropping(key)` is called before each
 * one goes (to read its value, or count what it held).
 */
export function dropOldest<K>(
  table: { keys(): IterableIterator<K>; delete(key: K): boolean },
  more: () => boolean,
  dropping?: (key: K) => void,
): void {
  for (const key of table.keys()) {
    if (!more()) return
    dropping?.(key)
    table.delete(key)
  }
}

/**
 * A table bounded in entries and in bytes (each value's `bytes`), its oldest dropped first, in
 * chunks: once over either bound, down to the low water of both.
 */
export class SizedFifo<K, V extends { bytes: number }> {
  private readonly table = new Map<K, V>()
  private total = 0

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
    /** told of each entry the bounds push out (not of one taken out with `delete`) */
    private readonly onDrop?: (key: K, value: V) => void,
  ) {}

  get size(): number {
    return this.table.size
  }

  /** The bytes of the values held. */
  get bytes(): number {
    return this.total
  }

  get(key: K): V | undefined {
    return this.table.get(key)
  }

  has(key: K): boolean {
    return this.table.has(key)
  }

  /** Take `key` out (its owner is done with it). */
  delete(key: K): void {
    const v = this.table.get(key)
    if (v == null) return
    this.total -= v.bytes
    this.table.delete(key)
  }

  /** `key`'s value now holds fewer bytes (it let go of part of itself): count them. */
  shrink(key: K, bytes: number): void {
    const v = this.table.get(key)
    if (v == null || bytes >= v.bytes) return
    this.total -= v.bytes - bytes
    v.bytes = bytes
  }

  /** Keep `value` under `key` (a key already held keeps its first value). */
  add(key: K, value: V): void {
    if (this.table.has(key)) return
    this.table.set(key, value)
    this.total += value.bytes
    if (this.table.size <= this.maxEntries && this.total <= this.maxBytes) return
    const [entries, bytes] = [lowWater(this.maxEntries), lowWater(this.maxBytes)]
    dropOldest(
      this.table,
      () => this.table.size > entries || this.total > bytes,
      (oldest) => {
        const v = this.table.get(oldest)!
        this.total -= v.bytes
        this.onDrop?.(oldest, v)
      },
    )
  }
}
