/**
 * Keys tracked by one TokenBuckets table unless told otherwise. Eviction: the
 * least recently used key goes first — an idle bucket is refilled anyway, so
 * forgetting it costs nothing unless more than this many keys are busy at
 * once. Penalty: none here (the owner penalises whoever goes over its rate).
 */
export const MAX_RATE_LIMIT_KEYS = 10_000

/**
 * A token bucket per key: `capacity` requests at once, refilled at
 * `perSecond`. The table holds at most `maxKeys` keys, least recently used
 * evicted first.
 */
export class TokenBuckets {
  /** in order of last use: a Map iterates in insertion order, and take() re-inserts */
  private readonly buckets = new Map<string, { tokens: number; at: number }>()

  constructor(
    private readonly capacity: number,
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
    private readonly maxKeys: number = MAX_RATE_LIMIT_KEYS,
  ) {}

  /** Take one token; false when the key is over its rate. */
  take(key: string): boolean {
    const t = this.now()
    const b = this.buckets.get(key) ?? { tokens: this.capacity, at: t }
    b.tokens = Math.min(this.capacity, b.tokens + (Math.max(0, t - b.at) / 1000) * this.perSecond)
    b.at = t
    this.buckets.delete(key)
    this.buckets.set(key, b)
    if (this.buckets.size > this.maxKeys) {
      const oldest = this.buckets.keys().next().value
      if (oldest !== undefined) this.buckets.delete(oldest)
    }
    if (b.tokens < 1) return false
    b.tokens -= 1
    return true
  }

  forget(key: string): void {
    this.buckets.delete(key)
  }

  /** Keys tracked now (at most maxKeys). */
  get size(): number {
    return this.buckets.size
  }
}
