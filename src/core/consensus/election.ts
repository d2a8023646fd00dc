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
 *  - round 0 has a preferred candidate, the first eligible validator in
 *    rotation order from h mod n. When it signed the commit certificate of
 *    the block before (it was live a moment ago), every validator votes for
 *    it as soon as it enters round 0: the leader is known one message delay
 *    after the height starts, with no timer and no request. Otherwise the
 *    timers run: the preferred candidate's is the shortest.
 * The liveness bound this gives is in docs/DESIGN.md.
 */
import type { Timeouts } from '../chain/genesis.js'
import type { ValidatorSet } from '../chain/validator-set.js'
import type { ElectionCertificate, ElectionVote } from '../codec/index.js'
import { bytesEqual } from '../crypto/hash.js'
import { type PeerIdString, peerIdToString } from '../crypto/peer-id.js'
import type { SeededRandom } from './random.js'

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

/** The first validator in rotation order from h mod n, but `except`, eligible in round 0. */
export function firstEligible(
  validators: ValidatorSet,
  reputation: LeaderReputation,
  height: number,
  except: PeerIdString | null = null,
): PeerIdString | null {
  for (let k = 0; k < validators.size; k++) {
    const v = rotationLeader(validators, height, k)
    if (v !== except && reputation.eligible(v, height)) return v
  }
  return null
}

/** How a validator takes part in round 0 of a height, on entering it. */
export type RoundZeroStart =
  /** vote for this candidate now */
  | { vote: PeerIdString }
  /** arm the election timer: ask to lead (or nominate) this long from now */
  | { timerMs: number }

/**
 * Round 0's start. The height's preferred candidate (firstEligible) gets every vote at once when
 * it signed the last block's commit certificate (`lastSigners`): it was live a moment ago, so
 * the round needs no timer and no request, and the leader is known one message delay after the
 * height starts. Otherwise the timers decide: the preferred candidate asks at electionMinMs,
 * the others draw theirs from the upper half of [electionMinMs, electionMaxMs), the fallback if
 * it is slow or down (with every timer over the whole range, two validators often asked within
 * one message delay of each other under load and split the votes). Only liveness depends on
 * this: any eligible candidate with q votes may lead round 0. A preferred candidate that went
 * down after signing costs one round: it is elected, proposes nothing, and leader reputation
 * excludes it for the next n heights.
 */
export function roundZeroStart(input: {
  validators: ValidatorSet
  reputation: LeaderReputation
  height: number
  self: PeerIdString
  /** who signed the commit certificate of block height − 1 (empty at genesis, after a restart) */
  lastSigners: ReadonlySet<PeerIdString>
  timeouts: Timeouts
  random: SeededRandom
}): RoundZeroStart {
  const preferred = firstEligible(input.validators, input.reputation, input.height)
  if (preferred != null && input.lastSigners.has(preferred)) return { vote: preferred }
  const { electionMinMs: min, electionMaxMs: max } = input.timeouts
  if (preferred === input.self) return { timerMs: min }
  return { timerMs: input.random.int(min + Math.floor((max - min) / 2), max) }
}

/**
 * The election votes of one round, one per validator (the first one it signed counts), and the
 * leader they make: the first candidate with q votes, with those votes as its certificate.
 */
export class ElectionTally {
  readonly votes = new Map<PeerIdString, ElectionVote>()

  get size(): number {
    return this.votes.size
  }

  /**
   * Count `vote`. Returns `equivocation` with the vote it contradicts when the voter already
   * voted for another candidate, `duplicate` when it voted for this one, else `counted`.
   */
  add(
    voter: PeerIdString,
    vote: ElectionVote,
  ): { kind: 'counted' } | { kind: 'duplicate' } | { kind: 'equivocation'; earlier: ElectionVote } {
    const earlier = this.votes.get(voter)
    if (earlier == null) {
      this.votes.set(voter, vote)
      return { kind: 'counted' }
    }
    return bytesEqual(earlier.candidate, vote.candidate)
      ? { kind: 'duplicate' }
      : { kind: 'equivocation', earlier }
  }

  /** The certificate of `vote`'s candidate if it has q votes now. */
  certificate(vote: ElectionVote, quorum: number): ElectionCertificate | null {
    const forCandidate = [...this.votes.values()].filter((v) =>
      bytesEqual(v.candidate, vote.candidate),
    )
    if (forCandidate.length < quorum) return null
    return {
      height: vote.height,
      round: vote.round,
      candidate: vote.candidate,
      signatures: forCandidate
        .slice(0, quorum)
        .map((v) => ({ voter: v.voter, signature: v.signature })),
    }
  }

  /** The most votes any one candidate has, and whether no candidate can reach q any more. */
  split(size: number, quorum: number): { most: number; split: boolean } {
    const counts = new Map<string, number>()
    let most = 0
    for (const v of this.votes.values()) {
      const c = peerIdToString(v.candidate)
      const n = (counts.get(c) ?? 0) + 1
      counts.set(c, n)
      if (n > most) most = n
    }
    return { most, split: most + (size - this.votes.size) < quorum }
  }
}

/**
 * Election votes for the next height that came before this node finished the current one (the
 * Final reaches validators at different times; a vote cast at once on entering a height would
 * otherwise be lost to those a moment behind). Counted, never followed, when the height starts:
 * a vote heard before entering a round is no reason to vote in it. Bound: one vote per
 * (validator, round) for rounds 0..`rounds` − 1, so n × rounds; the first one of each is kept.
 * Only signed votes of validators reach it (the gossip gate checks them).
 */
export class EarlyElectionVotes {
  private height = 0
  private readonly votes = new Map<string, ElectionVote>()

  constructor(private readonly rounds: number) {}

  keep(vote: ElectionVote): void {
    if (vote.round >= this.rounds) return
    if (vote.height !== this.height) {
      // only the next height's are kept: a newer height starts over (the older can not come)
      if (vote.height < this.height) return
      this.height = vote.height
      this.votes.clear()
    }
    const key = `${peerIdToString(vote.voter)}:${vote.round}`
    if (!this.votes.has(key)) this.votes.set(key, vote)
  }

  /** The votes kept for `height`, and forget them all. */
  take(height: number): ElectionVote[] {
    const out = this.height === height ? [...this.votes.values()] : []
    this.votes.clear()
    return out
  }

  get size(): number {
    return this.votes.size
  }
}
