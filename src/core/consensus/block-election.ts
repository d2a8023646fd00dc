/**
 * The election of each block round (DESIGN §6.1), as this validator runs it: the vote it casts
 * on entering a round (round 0's preferred candidate, or the rotation leader) or the election
 * timer it arms instead, the request it makes when that timer fires, the candidates it follows,
 * the election votes it counts into a leader's certificate, and the split round-0 vote that ends
 * the round at once. It keeps what the election carries from one height to the next: leader
 * reputation, who signed the head's commit certificate, and the next height's votes that came
 * early.
 *
 * The pure rules are election.ts; the rounds, their timers and what an elected leader does are
 * block-rounds.ts, which this module reaches only through ElectionRounds.
 *
 * Bounds: each round's tally holds at most n votes (block-rounds.ts keeps rounds [round − 1,
 * round + FUTURE_ROUNDS]); the early votes at most n per round for the next height's first
 * `keptRounds` rounds.
 */
import type { Timeouts } from '../chain/genesis.js'
import { signElectionRequest, signElectionVote } from '../chain/signatures.js'
import type { ValidatorSet } from '../chain/validator-set.js'
import {
  type Certificate,
  type ElectionCertificate,
  type ElectionMessage,
  type ElectionVote,
  EvidenceKind,
} from '../codec/index.js'
import type { Signer } from '../crypto/keys.js'
import { type PeerIdString, peerIdFromString, peerIdToString } from '../crypto/peer-id.js'
import {
  EarlyElectionVotes,
  type ElectionTally,
  firstEligible,
  LeaderReputation,
  type RoundZeroStart,
  rotationLeader,
  roundZeroStart,
} from './election.js'
import type { EvidenceBook } from './evidence.js'
import type { SeededRandom } from './random.js'
import type { CoreAction } from './types.js'

/** What the election needs of the node's configuration (block-rounds.ts BlockRoundsConfig). */
export interface ElectionConfig {
  chainId: string
  validators: ValidatorSet
  self: PeerIdString
  signer: Signer
  timeouts: Timeouts
  /** test-only: the election without its liveness rules (block-rounds.ts UnsafeFlags) */
  unsafe?: { firstHeardElection?: boolean }
}

/** The height being decided, as the election reads it (block-rounds.ts HeightState). */
export interface ElectionHeight {
  readonly height: number
  readonly round: number
  /** rounds run once the height has something to decide (or hears others deciding) */
  readonly active: boolean
}

/** The election's part of one round's state (block-rounds.ts RoundState holds the rest). */
export interface ElectionRound {
  readonly round: number
  /** election votes of this round, one per voter */
  election: ElectionTally
  /** our election vote, kept to re-announce while the round waits for a quorum */
  ourVote: ElectionVote | null
  leader: { candidate: PeerIdString; cert: ElectionCertificate } | null
  /** planted firstHeardElection only: the first candidate any message named for this round */
  firstNamed: PeerIdString | null
}

/** What the election needs of the block rounds it runs in (block-rounds.ts). */
export interface ElectionRounds {
  /** the height being decided (a new object once a block is final) */
  heightState(): ElectionHeight
  /** far behind: no rounds, no votes, only appending fetched blocks */
  syncing(): boolean
  /** The state of `round`, made if it is within the kept window (else undefined). */
  roundState(round: number): ElectionRound | undefined
  /** `validator` signed something for (this height, `round`): maybe skip ahead, maybe start the timer. */
  sawRound(validator: PeerIdString, round: number, now: number): void
  /** Others are deciding this height: take part. */
  activate(now: number): void
  startRound(round: number, now: number): void
  /** We lead the round we are in: propose (or wait out the block interval). */
  propose(now: number): void
  /** A validator signed a message of a height whose parent is `head`. */
  heightClaim(validator: PeerIdString, head: number): void
  setTimer(kind: 'election', round: number, at: number): void
  /** Persist what we signed at this height before it is sent. */
  persistSignState(): void
  trace(msg: string, fields?: Record<string, string | number | boolean | null>): void
}

export class BlockElection {
  /** leaders of failed rounds, excluded from round-0 elections for a while */
  readonly reputation: LeaderReputation
  private readonly isValidator: boolean
  private readonly selfId: Uint8Array
  /** who signed the commit certificate of the head (round 0's preferred candidate was live) */
  private lastSigners: ReadonlySet<PeerIdString> = new Set()
  /** election votes for the next height, counted when it starts */
  private readonly early: EarlyElectionVotes

  constructor(
    private readonly cfg: ElectionConfig,
    private readonly rounds: ElectionRounds,
    private readonly random: SeededRandom,
    private readonly evidence: EvidenceBook,
    private readonly out: CoreAction[],
    /** election votes that make a leader (q, or a planted quorum) */
    private readonly quorum: number,
    /** the next height's early votes are kept for its rounds 0 .. keptRounds − 1 */
    keptRounds: number,
  ) {
    this.isValidator = cfg.validators.has(cfg.self)
    this.selfId = peerIdFromString(cfg.self)
    this.reputation = new LeaderReputation(cfg.validators.f, cfg.validators.size)
    this.early = new EarlyElectionVotes(keptRounds)
  }

  private get h(): ElectionHeight {
    return this.rounds.heightState()
  }

  /** How many election votes of the next height wait here (the simulation checks the bound). */
  get earlyVotes(): number {
    return this.early.size
  }

  /** We entered `rs`, the round we are in: vote in its election, or arm round 0's timer. */
  enterRound(rs: ElectionRound, now: number): void {
    if (rs.ourVote != null) return
    const h = this.h
    const round = rs.round
    if (round === 0 || this.cfg.unsafe?.firstHeardElection) {
      // (planted: the old rule, the first candidate named for this round, even before we came)
      const heard = this.cfg.unsafe?.firstHeardElection ? rs.firstNamed : null
      const start: RoundZeroStart =
        heard != null
          ? { vote: heard }
          : roundZeroStart({
              validators: this.cfg.validators,
              reputation: this.reputation,
              height: h.height,
              self: this.cfg.self,
              lastSigners: this.lastSigners,
              timeouts: this.cfg.timeouts,
              random: this.random,
            })
      // the election runs while txs gather: its leader waits out the block interval (propose)
      if ('vote' in start) this.voteInElection(rs, start.vote, now)
      else this.rounds.setTimer('election', round, now + start.timerMs)
    } else {
      this.voteInElection(rs, rotationLeader(this.cfg.validators, h.height, round), now)
    }
  }

  /** Our election timer fired in `rs`, the round we are in. */
  onTimer(rs: ElectionRound, now: number): void {
    if (rs.ourVote != null) return
    const height = this.h.height
    const round = rs.round
    if (!this.reputation.eligible(this.cfg.self, height) && !this.cfg.unsafe?.firstHeardElection) {
      // we led a round that failed: we nominate the next eligible validator in rotation order
      // instead (the others may be idle: our vote wakes them, and they follow it)
      const nominee = firstEligible(this.cfg.validators, this.reputation, height, this.cfg.self)
      if (nominee != null) this.voteInElection(rs, nominee, now)
      return
    }
    // our timer fired first: ask to lead, and vote for ourselves
    this.out.push({
      type: 'publish',
      topic: 'election',
      message: {
        request: signElectionRequest(this.cfg.signer, this.cfg.chainId, {
          height,
          round,
          candidate: this.selfId,
        }),
      },
    })
    this.voteInElection(rs, this.cfg.self, now)
  }

  private voteInElection(rs: ElectionRound, candidate: PeerIdString, now: number): void {
    const h = this.h
    if (rs.ourVote != null || this.rounds.syncing() || !this.isValidator) return
    const vote = signElectionVote(this.cfg.signer, this.cfg.chainId, {
      height: h.height,
      round: rs.round,
      candidate: peerIdFromString(candidate),
      voter: this.selfId,
    })
    rs.ourVote = vote
    this.rounds.persistSignState()
    this.out.push({ type: 'publish', topic: 'election', message: { vote } })
    this.countElectionVote(vote, now)
  }

  onElection(m: ElectionMessage, now: number): void {
    const msg = (m.request ?? m.vote)!
    const signer = peerIdToString(m.request ? m.request.candidate : m.vote!.voter)
    if (msg.height > this.h.height) {
      // a validator at height H holds block H − 1: its word, not yet proof
      this.rounds.heightClaim(signer, msg.height - 1)
      // a vote for the next height, cast as its signer entered it: counted when we do
      if (m.vote != null && msg.height === this.h.height + 1) this.early.keep(m.vote)
      return
    }
    if (msg.height < this.h.height) return
    this.rounds.activate(now)
    this.rounds.sawRound(signer, msg.round, now)
    if (m.vote != null) this.countElectionVote(m.vote, now)
    const rs = this.rounds.roundState(msg.round)
    if (rs == null) return
    const candidate = peerIdToString(msg.candidate)
    if (this.cfg.unsafe?.firstHeardElection) {
      rs.firstNamed ??= candidate
      if (rs.round === this.h.round && this.h.active) this.voteInElection(rs, candidate, now)
    }
    // the first eligible candidate we hear of in round 0, while we are in it, gets our vote
    else if (this.mayFollow(rs) && this.reputation.eligible(candidate, this.h.height))
      this.voteInElection(rs, candidate, now)
  }

  /** Round 0, which we are in, and we have not voted: the first eligible candidate we hear of. */
  private mayFollow(rs: ElectionRound): boolean {
    return rs.round === 0 && this.h.round === 0 && this.h.active && this.isValidator && !rs.ourVote
  }

  private countElectionVote(vote: ElectionVote, now: number): void {
    const h = this.h
    const voter = peerIdToString(vote.voter)
    this.rounds.sawRound(voter, vote.round, now)
    const rs = this.rounds.roundState(vote.round)
    if (rs == null) return
    const candidate = peerIdToString(vote.candidate)
    // a rotation round has one candidate (the gossip gate refuses votes for another)
    if (
      vote.round >= 1 &&
      !this.cfg.unsafe?.firstHeardElection &&
      candidate !== rotationLeader(this.cfg.validators, h.height, vote.round)
    )
      return
    // one vote per validator per round; a second, different one is equivocation
    const counted = rs.election.add(voter, vote)
    if (counted.kind === 'equivocation')
      this.evidence.keep(
        voter,
        h.height,
        vote.round,
        'election',
        { kind: EvidenceKind.ELECTION_VOTE, first: counted.earlier, second: vote },
        now,
      )
    if (counted.kind !== 'counted' || rs.leader != null) return
    const cert = rs.election.certificate(vote, this.quorum)
    if (cert == null) {
      this.maybeSplit(rs, now)
      return
    }
    rs.leader = { candidate, cert }
    this.rounds.trace('elected', { round: vote.round, leader: candidate.slice(-6) })
    if (vote.round === h.round && h.active) {
      this.out.push({ type: 'round', height: h.height, round: h.round, leader: candidate })
      if (candidate === this.cfg.self) this.rounds.propose(now)
    }
  }

  /**
   * A split round-0 election: the votes already cast leave no candidate a way to q (each
   * validator votes once in a round), so waiting for the round's deadline would only lose it.
   * Go on to round 1, whose leader is the rotation's. Only a liveness shortcut: round changes
   * never touch safety, and a Byzantine validator that splits the vote on purpose gains nothing
   * it could not get by staying silent.
   */
  private maybeSplit(rs: ElectionRound, now: number): void {
    const h = this.h
    if (rs.round !== 0 || h.round !== 0 || !h.active || this.cfg.unsafe?.firstHeardElection) return
    const { most, split } = rs.election.split(this.cfg.validators.size, this.quorum)
    if (!split) return
    this.rounds.trace('election split', { round: 0, votes: rs.election.size, most })
    this.rounds.startRound(1, now)
  }

  /**
   * The head became final under `commitCert`, and the next height is the one being decided. Its
   * signers were live a moment ago: round 0 votes at once for a preferred candidate among them.
   * The votes of the new height that came while we finished the last one are counted, never
   * followed: others are deciding it.
   */
  startHeight(commitCert: Certificate, now: number): void {
    this.lastSigners = new Set(commitCert.signatures.map((sig) => peerIdToString(sig.voter)))
    const early = this.early.take(this.h.height)
    if (early.length > 0 && !this.rounds.syncing()) {
      this.rounds.activate(now)
      for (const vote of early) this.countElectionVote(vote, now)
    }
  }
}
