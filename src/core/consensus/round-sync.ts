/**
 * Round synchronisation within a height (Tendermint's round rules, with
 * the election votes as the broadcast signal every validator sends in every
 * round it enters):
 *
 *  - skip: when f + 1 validators are seen in rounds above ours, at least
 *    one honest validator is there: go to the highest round that f + 1 of
 *    them have reached;
 *  - leave by timeout only with a quorum: a round's timer starts once q
 *    validators are seen in it or above, so no honest validator runs ahead
 *    of a quorum, and a lone validator that is ahead waits for the others
 *    instead of drifting a round further each time.
 *
 * "Seen in round r" comes only from a message that validator signed for
 * (this height, r): its election vote or request, its block vote, or its
 * signature in a certificate. Bound: one number per validator.
 */
import type { Timeouts } from '../chain/genesis.js'
import type { ValidatorSet } from '../chain/validator-set.js'
import type { PeerIdString } from '../crypto/peer-id.js'

export class RoundSync {
  /** the highest round each validator was seen in at this height */
  private readonly seen = new Map<PeerIdString, number>()

  constructor(
    private readonly validators: ValidatorSet,
    private readonly self: PeerIdString,
  ) {}

  /** `validator` signed something for `round`; true when that raised what we know of it. */
  saw(validator: PeerIdString, round: number): boolean {
    if (!this.validators.has(validator)) return false
    const known = this.seen.get(validator)
    if (known != null && known >= round) return false
    this.seen.set(validator, round)
    return true
  }

  /** The highest round f + 1 other validators have reached (-1 if none). */
  skipTarget(): number {
    const rounds: number[] = []
    for (const [v, r] of this.seen) if (v !== this.self) rounds.push(r)
    const need = this.validators.f + 1
    if (rounds.length < need) return -1
    rounds.sort((a, b) => b - a)
    return rounds[need - 1]!
  }

  /** How many validators are in `round` or above (this node, in `ownRound`, included). */
  atOrAbove(round: number, ownRound: number): number {
    let count = ownRound >= round ? 1 : 0
    for (const [v, r] of this.seen) if (v !== this.self && r >= round) count++
    return count
  }

  roundOf(validator: PeerIdString): number | undefined {
    return this.seen.get(validator)
  }
}

/**
 * How long after GST a height takes to become final at most, whatever f Byzantine validators do
 * (docs/DESIGN.md, "Liveness"): one heartbeat gap (≤ roundMaxMs) and Δ for every honest
 * validator to hear where the others are; one round for the ones a round behind to catch up;
 * then at most f + 3 rounds (round 0 lost to a capture or a split vote, f rounds of Byzantine
 * rotation leaders, one honest leader whose proposal a hidden lock refuses, and the honest
 * leader that decides), each at most roundMaxMs. Assumes roundMs ≥ electionMaxMs + 6Δ plus
 * processing, so an honest leader's round is long enough; Δ is the bound on message delay
 * between honest validators after GST.
 */
export function livenessBoundMs(t: Timeouts, f: number, deltaMs: number): number {
  return t.roundMaxMs + deltaMs + t.roundMaxMs + (f + 3) * t.roundMaxMs + t.blockIntervalMs
}
