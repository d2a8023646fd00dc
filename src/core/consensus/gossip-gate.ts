/**
 * The gossip gate's memory: what the topic validators (validation.ts)
 * remember between messages so that a repeated or flooding message costs a
 * hash and a map lookup, not signature checks, and is not forwarded.
 *
 *  - Re-announcements (`relay` > 0 on election and block-sync messages) of
 *    a message already checked are not checked again, and each is forwarded
 *    only if its relay is higher than any seen for it and the last one went
 *    out at least a relay gap ago (half a round), so replaying one valid
 *    message with new relay values is cheap and goes nowhere.
 *  - A Final one height below ours (we decided on our own count of the
 *    commit votes) is forwarded once per height, for observers.
 *  - Tx rounds per target: each target (the peer that signs a PrePrepare)
 *    has a token bucket; beyond it, its PrePrepares are IGNOREd (not
 *    forwarded, no vote) and the target is reported.
 *
 * Bounds: MAX_CHECKED content hashes, MAX_TARGETS buckets; the least
 * recently used go first. Pure: time comes in as `now`.
 */
import { sha256, toHex } from '../crypto/hash.js'
import { dropOldest, lowWater } from '../fifo.js'

export const MAX_CHECKED = 8_192
export const MAX_TARGETS = 1_024

/**
 * PrePrepares a target may have validators answer: a burst, then a rate, in
 * rounds and in bytes of txs (each one a validator checks, answers with a
 * signed vote, and relays).
 */
export interface TargetBudget {
  burst: number
  perSecond: number
  bytesBurst: number
  bytesPerSecond: number
}

/** a validator target runs up to 4,096 rounds at once; an observer is held to far less */
export const VALIDATOR_TARGET_BUDGET: TargetBudget = {
  burst: 4_096,
  perSecond: 4_096,
  bytesBurst: 64 * 1024 * 1024,
  bytesPerSecond: 32 * 1024 * 1024,
}
export const OBSERVER_TARGET_BUDGET: TargetBudget = {
  burst: 512,
  perSecond: 256,
  bytesBurst: 1024 * 1024,
  bytesPerSecond: 512 * 1024,
}

/** A Map kept in least-recently-used order, bounded. */
class Lru<K, V> {
  private readonly map = new Map<K, V>()
  constructor(private readonly capacity: number) {}
  get(key: K): V | undefined {
    const v = this.map.get(key)
    if (v !== undefined) {
      this.map.delete(key)
      this.map.set(key, v)
    }
    return v
  }
  set(key: K, value: V): void {
    this.map.delete(key)
    this.map.set(key, value)
    if (this.map.size > this.capacity) {
      const keep = lowWater(this.capacity)
      dropOldest(this.map, () => this.map.size > keep)
    }
  }
  get size(): number {
    return this.map.size
  }
}

export class GossipGate {
  /** content hash (relay left out) → the highest relay forwarded, and when */
  private readonly checked = new Lru<string, { relay: number; at: number }>(MAX_CHECKED)
  private readonly buckets = new Lru<string, { tokens: number; bytes: number; at: number }>(
    MAX_TARGETS,
  )
  /** the height of the last late Final forwarded (mayForwardLateFinal) */
  private lateFinal = 0

  /** The content hash of a message's bytes with its relay left out. */
  static contentKey(unrelayed: Uint8Array): string {
    return toHex(sha256(unrelayed))
  }

  /**
   * A message whose content was already checked: 'forward' if `relay` is
   * higher than any forwarded for it and the last was forwarded at least
   * `gapMs` ago, 'drop' if not; null if its content was never checked.
   */
  seen(key: string, relay: number, now: number, gapMs: number): 'forward' | 'drop' | null {
    const last = this.checked.get(key)
    if (last === undefined) return null
    if (relay <= last.relay || now - last.at < gapMs) return 'drop'
    this.checked.set(key, { relay, at: now })
    return 'forward'
  }

  /** Content that passed every check, forwarded with this relay. */
  passed(key: string, relay: number, now: number): void {
    const last = this.checked.get(key)
    if (last === undefined || relay > last.relay) this.checked.set(key, { relay, at: now })
  }

  /** Take one round of `bytes` from `target`'s budget; false when it has not enough left. */
  takeRound(target: string, budget: TargetBudget, now: number, bytes = 0): boolean {
    let b = this.buckets.get(target)
    if (b == null) b = { tokens: budget.burst, bytes: budget.bytesBurst, at: now }
    const seconds = Math.max(0, now - b.at) / 1000
    b.tokens = Math.min(budget.burst, b.tokens + seconds * budget.perSecond)
    b.bytes = Math.min(budget.bytesBurst, b.bytes + seconds * budget.bytesPerSecond)
    b.at = now
    const ok = b.tokens >= 1 && b.bytes >= bytes
    if (ok) {
      b.tokens -= 1
      b.bytes -= bytes
    }
    this.buckets.set(target, b)
    return ok
  }

  /**
   * A Final of the block just below this node's height (it decided on its own count of the commit
   * votes before the leader's Final came): the first one that checks out is still forwarded, for
   * observers, which finalize on it; one per height.
   */
  mayForwardLateFinal(height: number): boolean {
    return height > this.lateFinal
  }

  forwardedLateFinal(height: number): void {
    this.lateFinal = Math.max(this.lateFinal, height)
  }

  sizes(): { checked: number; targets: number } {
    return { checked: this.checked.size, targets: this.buckets.size }
  }
}
