/**
 * Who leads a round (DESIGN §6, "Election").
 *
 * Round 0 of a height keeps the original design's timer election: every
 * validator arms a random timer; when it fires the validator asks to lead
 * (ElectionRequest) and votes for itself; a validator votes for the first
 * eligible candidate it hears of *while it is in round 0 of that height*
 * (a request for a round it has not entered counts for nothing). A
 * candidate with q votes leads round 0.
 *
 * "First heard" alone is not live: a Byzantine validator that always asks
 * first would win every round and propose nothing. So:
 *  - from round 1 on, the leader is fixed: `rotationLeader(h, r)`, the
 *    validator at (h + r) mod n in genesis order. Every validator votes for
 *    it on entering the round; its q election votes are its certificate.
 *    Among any f + 1 consecutive rotation rounds one leader is honest.
 *  - in round 0, a validator that led a round that failed (it was elected,
 *    and the height was not decided in that round) is not eligible for
 *    LeaderReputation's span of heights; at most f validators are excluded
 *    at a time (the most recent), so at least n - f stay eligible.
 * The liveness bound this gives is in docs/DESIGN.md.
 */
import type { ValidatorSet } from '../chain/validator-set.js'
import type { PeerIdString } from '../crypto/peer-id.js'

/** The leader of round `round` ≥ 1 at `height`: a fixed rotation over the genesis order. */
export function rotationLeader(
  validators: ValidatorSet,
  height: number,
  round: number,
): PeerIdString {
  return validators.ids[(height + round) % validators.size]!
}

/**
 * Leaders of failed rounds, excluded from round-0 elections for a while
 * (DiemBFT's leader reputation, simplified). Bound: at most `maxExcluded`
 * entries (f); the one whose exclusion ends first is dropped for a newer one.
 */
export class LeaderReputation {
  /** validator → the last height at which it is not eligible in round 0 */
  private readonly until = new Map<PeerIdString, number>()

  constructor(
    private readonly maxExcluded: number,
    /** how many heights an exclusion lasts */
    private readonly span: number,
  ) {}

  /** `leader` was elected in a round of `height` that did not decide it. */
  failed(leader: PeerIdString, height: number): void {
    if (this.maxExcluded <= 0) return
    this.until.set(leader, height + this.span)
    while (this.until.size > this.maxExcluded) {
      let first: PeerIdString | null = null
      let end = Number.POSITIVE_INFINITY
      for (const [v, u] of this.until)
        if (u < end) {
          end = u
          first = v
        }
      this.until.delete(first!)
    }
  }

  eligible(candidate: PeerIdString, height: number): boolean {
    const until = this.until.get(candidate)
    if (until == null) return true
    if (until < height) {
      this.until.delete(candidate)
      return true
    }
    return false
  }

  /** The excluded validators at `height` (for status and tests). */
  excluded(height: number): PeerIdString[] {
    return [...this.until].filter(([, u]) => u >= height).map(([v]) => v)
  }
}
