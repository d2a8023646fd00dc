/**
 * Backpressure that tells the truth (DESIGN §5): a target takes only the txs
 * it can see through their rounds within a tenth of the tx deadline (1 s), judged
 * by how fast its own rounds have been ending, and refuses the rest at once
 * (503 with Retry-After and Retry-After-Ms) instead of queueing what would time out.
 *
 * The rate is the txs this target's rounds committed within the last
 * RATE_WINDOW_MS (a round that times out ends nothing: under overload the
 * rate falls, and so does what the target takes). Before any round ends, and while
 * the rate is low, `floor` txs may be in hand; never more than `max`.
 * Bounded: the window holds one entry per ended round within RATE_WINDOW_MS
 * (at most the rounds that fit in it: a few thousand), oldest dropped first.
 */

/** the span over which the rate of ended txs is measured */
export const RATE_WINDOW_MS = 10_000
/** the longest wait a refusal names, in ms */
export const MAX_RETRY_AFTER_MS = 30_000
/**
 * The shortest wait a refusal names, in ms: a client asked back sooner would mostly be refused
 * again, and each refusal costs the node a parse and an answer.
 */
export const MIN_RETRY_AFTER_MS = 100

export interface AdmissionGaugeOptions {
  /** txs in hand (queued or in a round) before any rate is known */
  floor: number
  /** txs in hand, never more (the hard bound: maxWaiting) */
  max: number
  /** the time a tx taken now should need to end its round, at the measured rate */
  horizonMs: number
}

export class AdmissionGauge {
  private readonly ends: { at: number; txs: number }[] = []
  private sum = 0

  constructor(private readonly opts: AdmissionGaugeOptions) {}

  /** A round ended, committing `txs` txs (0 for one that timed out or failed whole). */
  ended(now: number, txs: number): void {
    this.ends.push({ at: now, txs })
    this.sum += txs
    this.expire(now)
  }

  /** Txs per second that ended lately (0 before any did). */
  rate(now: number): number {
    this.expire(now)
    if (this.ends.length === 0) return 0
    const span = Math.max(1_000, now - this.ends[0]!.at)
    return (this.sum * 1_000) / span
  }

  /** How many txs may be in hand now. */
  capacity(now: number): number {
    const byRate = Math.floor((this.rate(now) * this.opts.horizonMs) / 1_000)
    return Math.min(this.opts.max, Math.max(this.opts.floor, byRate))
  }

  /**
   * When a client refused with `inHand` txs in hand should try again, in ms (a multiple of 10):
   * when half the capacity is free again, at the measured rate. Under load that is about half
   * the horizon (500 ms by default). Whole seconds, as Retry-After has them, would be too long:
   * a client that waited 1 s found a target that had ended all it held, and left it idle.
   */
  retryAfterMs(now: number, inHand: number): number {
    const rate = this.rate(now)
    if (rate <= 0) return MAX_RETRY_AFTER_MS
    const excess = inHand - this.capacity(now) / 2
    const ms = Math.ceil((excess * 100) / rate) * 10
    return Math.min(MAX_RETRY_AFTER_MS, Math.max(MIN_RETRY_AFTER_MS, ms))
  }

  private expire(now: number): void {
    while (this.ends.length > 0 && this.ends[0]!.at < now - RATE_WINDOW_MS) {
      this.sum -= this.ends.shift()!.txs
    }
  }
}
