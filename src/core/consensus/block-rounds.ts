/**
 * Blocks (DESIGN §6): block consensus by Tendermint's algorithm (Buchman,
 * Kwon, Milosevic 2018, Algorithm 1) in the original design's messages, led
 * by the round's leader (elected by block-election.ts, by the rules of
 * election.ts):
 *
 *   election   round 0: the timer election; round r ≥ 1: the rotation
 *              leader. Every validator publishes a signed ElectionVote in
 *              every round it enters; q votes make the leader's certificate.
 *   prepare    the leader publishes BlockPrepare(block_new, or its valid
 *              block with the certificate that made it valid).
 *   permit     each validator sends every validator a permit (prevote) if
 *              the block is valid and its lock allows, a reject otherwise.
 *   add        a validator that counts q permits locks on the block and
 *              sends every validator a commit vote (precommit); the leader
 *              publishes Add for those that missed permits.
 *   final      a validator that counts q commit votes appends the block; the
 *              leader publishes Final for observers and those that missed
 *              votes.
 *
 * Locking: a validator locked on block B in round r permits in a later
 * round only B, or a block shown valid (q permits) in a round >= r. Only a
 * commit certificate makes a block final. Rounds follow round-sync.ts: a
 * round's timer (roundMs, doubling, capped at roundMaxMs) starts once q
 * validators are in it; f + 1 validators in later rounds pull a node there;
 * a validator that waits for a quorum re-announces its election vote, at
 * growing gaps (roundMs, doubling, up to roundMaxMs).
 * Everything a validator signs is persisted (sign state) before it is sent,
 * and a restarted validator resumes in the round after the one it signed in.
 *
 * Bounds (docs/THREAT-MODEL.md): round state is kept for rounds
 * [round − 1, round + FUTURE_ROUNDS] only; each holds at most n election
 * votes, 2n block votes, one proposal and one certified block; at most
 * MAX_RELAYED re-announced blocks and MAX_ORPHAN_ADDS Adds wait beside them.
 */

import { blockHash } from '../chain/block.js'
import { CertificateError, certificateFrom, verifyCertificate } from '../chain/certificates.js'
import type { Genesis, Timeouts } from '../chain/genesis.js'
import { genesisTimeMs } from '../chain/genesis.js'
import { proposalStatement, signAdd, signBlockPrepare, signVote } from '../chain/signatures.js'
import type { ValidatorSet } from '../chain/validator-set.js'
import {
  type Add,
  type Block,
  type BlockPrepare,
  type BlockSyncMessage,
  type Certificate,
  type ElectionMessage,
  EvidenceKind,
  type FinalizedBlock,
  Phase,
  ReceiptStatus,
  RejectReason,
  type SignState,
  type Vote,
  VoteResult,
} from '../codec/index.js'
import { bytesEqual, fromHex, toHex } from '../crypto/hash.js'
import type { Signer } from '../crypto/keys.js'
import { type PeerIdString, peerIdFromString, peerIdToString } from '../crypto/peer-id.js'
import type { Mempool } from '../mempool/mempool.js'
import { applyExecution, type Execution } from '../state/execute.js'
import type { LedgerState } from '../state/ledger.js'
import { type BlockCheck, type ChainTip, checkBlock, MAX_CLOCK_DRIFT_MS } from './block-check.js'
import { BlockElection, type ElectionRound } from './block-election.js'
import { settleFinalBlock } from './block-final.js'
import { blockNew, PROPOSAL_TXS } from './block-new.js'
import { ElectionTally, type LeaderReputation } from './election.js'
import type { EvidenceBook } from './evidence.js'
import { HeightClaims } from './height-claims.js'
import type { SeededRandom } from './random.js'
import { RoundSync } from './round-sync.js'
import type { TxLog } from './tx-log.js'
import type { CoreAction } from './types.js'

/** Bugs planted on purpose, to prove the simulation catches them (never set outside tests). */
export interface UnsafeFlags {
  /** a quorum other than n − f */
  quorum?: number
  /** permit any valid block, whatever the lock */
  ignoreLock?: boolean
  /** the election without its liveness rules: vote for the first candidate heard in any round */
  firstHeardElection?: boolean
}

export interface BlockRoundsConfig {
  chainId: string
  validators: ValidatorSet
  self: PeerIdString
  signer: Signer
  timeouts: Timeouts
  genesis: Genesis
  /** test-only: plant a bug to prove the simulation catches it */
  unsafe?: UnsafeFlags
  /** a validator further behind than this leaves consensus to catch up first */
  syncThreshold?: number
}

export const DEFAULT_SYNC_THRESHOLD = 8
/** rounds above ours whose election votes are kept (beyond: only "seen in round r") */
export const FUTURE_ROUNDS = 4
/** re-announced blocks of earlier rounds kept while their Add may come */
const MAX_RELAYED = 2
const MAX_ORPHAN_ADDS = 4

interface Proposal {
  block: Block
  hash: string
  check: BlockCheck | null
  /** the signed message that brought it, to re-announce it if it becomes our valid block */
  message: BlockPrepare | null
}

/** One round of the current height, as this node sees it (its election: block-election.ts). */
interface RoundState extends ElectionRound {
  relays: number
  /** the round's proposal: the first one heard from its leader */
  proposal: Proposal | null
  /** another block of this round that a certificate names (the leader equivocated) */
  certified: Proposal | null
  equivocated: boolean
  /** the round's Add (q permits), and its message to relay */
  add: { hash: string; cert: Certificate } | null
  addMessage: Add | null
  /** what we sent: block hash, '' for a reject; null for nothing yet */
  permitSent: string | null
  commitSent: string | null
  timerArmed: boolean
  /** the permits and the commit votes of this round, by block hash, then voter */
  permits: Map<string, Map<PeerIdString, Vote>>
  commits: Map<string, Map<PeerIdString, Vote>>
  // the leader's side
  /** the first block vote of each (phase, voter) */
  votesSeen: Map<string, Vote>
  proposed: boolean
  /** our 'propose' timer is set: we lead round 0 and wait out the block interval */
  proposeTimer: boolean
  addSent: boolean
  finalSent: boolean
}

/** One height's rounds, as this node sees it. */
interface HeightState {
  height: number
  round: number
  /** rounds run once the height has something to decide (or hears others deciding) */
  active: boolean
  sync: RoundSync
  rounds: Map<number, RoundState>
  lockedRound: number
  /** the block we are locked on (Tendermint lockedValue: only its hash is ever compared) */
  lockedHash: string | null
  validRound: number
  validBlock: Proposal | null
  validCert: Certificate | null
  /** the Add that made the valid block valid (re-announced with it) */
  validAdd: Add | null
  /** re-announced blocks of earlier rounds, by hash, waiting for their Add */
  relayed: Map<string, { round: number; proposal: Proposal }>
  /** Adds of earlier rounds whose block we lack */
  orphanAdds: Map<string, { round: number; cert: Certificate; message: Add | null }>
  /** a Final waiting for its block */
  pendingFinal: { hash: string; cert: Certificate; round: number } | null
}

export interface Head extends ChainTip {
  /** when this node saw the head become final (its own clock) */
  finalAt: number
}

export class BlockRounds {
  head: Head
  /** what the chain's height is, by certificates and validators' claims */
  readonly claims: HeightClaims
  private h: HeightState
  private readonly isValidator: boolean
  private readonly selfId: Uint8Array
  private readonly quorum: number
  /** the height we asked the shell to sync to, so we ask once */
  private syncTarget = 0
  /** far behind: no rounds, no votes, only appending fetched blocks */
  syncing = false
  /** each round's election, and what it carries from one height to the next */
  private readonly election: BlockElection

  constructor(
    private readonly cfg: BlockRoundsConfig,
    private readonly ledger: () => LedgerState,
    private readonly pool: Mempool,
    private readonly txLog: TxLog,
    random: SeededRandom,
    private readonly evidence: EvidenceBook,
    private readonly out: CoreAction[],
    head: Head,
  ) {
    this.isValidator = cfg.validators.has(cfg.self)
    this.selfId = peerIdFromString(cfg.self)
    this.quorum = cfg.unsafe?.quorum ?? cfg.validators.quorum
    this.election = new BlockElection(
      cfg,
      {
        heightState: () => this.h,
        syncing: () => this.syncing,
        roundState: (round) => this.roundState(round),
        sawRound: (validator, round, now) => this.sawRound(validator, round, now),
        activate: (now) => this.activate(now),
        startRound: (round, now) => this.startRound(round, now),
        propose: (now) => this.propose(now),
        heightClaim: (validator, head) => this.heightClaim(validator, head),
        setTimer: (kind, round, at) => this.setTimer(kind, round, at),
        persistSignState: () => this.persistSignState(),
        trace: (msg, fields) => this.trace(msg, fields),
      },
      random,
      evidence,
      out,
      this.quorum,
      FUTURE_ROUNDS + 1,
    )
    this.claims = new HeightClaims(cfg.validators)
    this.head = head
    this.h = this.freshHeight(head.height + 1)
  }

  /** leaders of failed rounds, excluded from round-0 elections for a while (block-election.ts) */
  get reputation(): LeaderReputation {
    return this.election.reputation
  }

  get timeouts(): Timeouts {
    return this.cfg.timeouts
  }

  static genesisHead(genesis: Genesis, genesisHash: Uint8Array, stateRoot: Uint8Array): Head {
    return { height: 0, hash: genesisHash, time: genesisTimeMs(genesis), stateRoot, finalAt: 0 }
  }

  private freshHeight(height: number): HeightState {
    return {
      height,
      round: 0,
      active: false,
      sync: new RoundSync(this.cfg.validators, this.cfg.self),
      rounds: new Map(),
      lockedRound: -1,
      lockedHash: null,
      validRound: -1,
      validBlock: null,
      validCert: null,
      validAdd: null,
      relayed: new Map(),
      orphanAdds: new Map(),
      pendingFinal: null,
    }
  }

  /** The state of `round`, made if it is within the kept window (else undefined). */
  private roundState(round: number): RoundState | undefined {
    const h = this.h
    let rs = h.rounds.get(round)
    if (rs != null) return rs
    if (round < h.round - 1 || round > h.round + FUTURE_ROUNDS) return undefined
    rs = {
      round,
      election: new ElectionTally(),
      ourVote: null,
      relays: 0,
      leader: null,
      firstNamed: null,
      proposal: null,
      certified: null,
      equivocated: false,
      add: null,
      addMessage: null,
      permitSent: null,
      commitSent: null,
      timerArmed: false,
      permits: new Map(),
      commits: new Map(),
      votesSeen: new Map(),
      proposed: false,
      proposeTimer: false,
      addSent: false,
      finalSent: false,
    }
    h.rounds.set(round, rs)
    return rs
  }

  // ------------------------------------------------------------------ views

  get height(): number {
    return this.h.height
  }

  get round(): number {
    return this.h.round
  }

  get active(): boolean {
    return this.h.active
  }

  leader(round = this.h.round): PeerIdString | null {
    return this.h.rounds.get(round)?.leader?.candidate ?? null
  }

  lock(): { round: number; hash: string } | null {
    return this.h.lockedHash ? { round: this.h.lockedRound, hash: this.h.lockedHash } : null
  }

  /** What this node holds of a round's proposal (the gossip gate drops floods with it). */
  proposalOf(
    height: number,
    round: number,
  ): { hash: string; equivocated: boolean; certified: string | null } | null {
    if (height !== this.h.height) return null
    const rs = this.h.rounds.get(round)
    if (rs?.proposal == null) return null
    const certified =
      rs.add?.hash ?? (this.h.pendingFinal?.round === round ? this.h.pendingFinal.hash : null)
    return { hash: rs.proposal.hash, equivocated: rs.equivocated, certified }
  }

  /** How many round states and blocks this height holds (the simulation checks the bounds). */
  sizes(): { rounds: number; blocks: number; electionVotes: number; blockVotes: number } {
    let blocks = this.h.relayed.size + (this.h.validBlock ? 1 : 0)
    let electionVotes = 0
    let blockVotes = 0
    for (const rs of this.h.rounds.values()) {
      blocks += (rs.proposal ? 1 : 0) + (rs.certified ? 1 : 0)
      electionVotes += rs.election.size
      blockVotes += rs.votesSeen.size
    }
    return {
      rounds: this.h.rounds.size,
      blocks,
      electionVotes: electionVotes + this.election.earlyVotes,
      blockVotes,
    }
  }

  // ------------------------------------------------------------------ restart

  /** After the head moved under us (a restore): start the next height afresh. */
  resetHeight(): void {
    this.h = this.freshHeight(this.head.height + 1)
  }

  /**
   * Take back what this validator signed and locked before a restart. It
   * resumes in the round after the one it signed in, so it never signs
   * again for a (height, round) it may have signed for.
   */
  restoreSignState(s: SignState, now: number): void {
    if (s.height !== this.h.height) return
    const h = this.h
    h.round = s.round
    if (s.lockedRound != null && s.lockedHash) {
      h.lockedRound = s.lockedRound
      h.lockedHash = toHex(s.lockedHash)
    }
    if (s.validRound != null && s.validPrepare && s.validCert) {
      const block = s.validPrepare.block!
      const proposal: Proposal = {
        block,
        hash: toHex(blockHash(block.header!)),
        check: null,
        message: s.validPrepare,
      }
      this.setValid(s.validRound, proposal, s.validCert, s.validAdd ?? null)
    }
    this.startRound(s.round + 1, now)
  }

  // ------------------------------------------------------------------ rounds

  /** Start the height's rounds once there is something to decide. */
  maybeActivate(now: number): void {
    if (this.h.active || !this.isValidator || this.syncing) return
    const sizes = this.pool.sizes()
    if (sizes.committed > 0 || sizes.accounts > 0 || this.h.validBlock != null)
      this.startRound(this.h.round, now)
  }

  /** Others are deciding this height: take part. */
  private activate(now: number): void {
    if (!this.h.active && this.isValidator && !this.syncing) this.startRound(this.h.round, now)
  }

  private startRound(to: number, now: number): void {
    if (this.syncing || !this.isValidator) return
    const h = this.h
    // f + 1 validators further on: go straight there
    const round = Math.max(to, h.sync.skipTarget())
    if (h.active && round <= h.round) return
    if (h.active) this.leftRounds(h.round, round)
    h.active = true
    h.round = round
    for (const r of h.rounds.keys()) if (r < round - 1) h.rounds.delete(r)
    const rs = this.roundState(round)!
    const { timeouts } = this.cfg
    // tell the others of our valid block, so whoever leads next can re-propose
    // it: a validator that missed its Add would otherwise propose a new block
    // the locked ones must refuse
    if (round > 0 && h.validBlock?.message != null) {
      this.out.push({
        type: 'publish',
        topic: 'block-sync',
        message: { prepare: h.validBlock.message, relay: round },
      })
      if (h.validAdd)
        this.out.push({
          type: 'publish',
          topic: 'block-sync',
          message: { add: h.validAdd, relay: round },
        })
    }
    this.out.push({ type: 'round', height: h.height, round, leader: this.leader(round) })
    this.election.enterRound(rs, now)
    this.setTimer('heartbeat', round, now + timeouts.roundMs)
    this.checkRoundTimer(now)
    // what arrived early for this round
    if (rs.leader?.candidate === this.cfg.self) this.propose(now)
    if (rs.proposal?.message) this.onProposal(rs.proposal.message, now)
    if (rs.add) this.onAdd(round, rs.add.hash, rs.add.cert, now)
  }

  /** Rounds [from, to) ended undecided: their leaders failed. */
  private leftRounds(from: number, to: number): void {
    for (const [r, rs] of this.h.rounds)
      if (r >= from && r < to && rs.leader != null)
        this.reputation.failed(rs.leader.candidate, this.h.height)
  }

  private roundLength(round: number): number {
    const { roundMs, roundMaxMs } = this.cfg.timeouts
    return Math.min(roundMaxMs, roundMs * 2 ** Math.min(round, 30))
  }

  /** A round's timer starts once q validators are in it or above (round-sync.ts). */
  private checkRoundTimer(now: number): void {
    const h = this.h
    if (!h.active) return
    const rs = this.roundState(h.round)!
    if (rs.timerArmed) return
    if (h.sync.atOrAbove(h.round, h.round) < this.quorum) return
    rs.timerArmed = true
    this.setTimer('round', h.round, now + this.roundLength(h.round))
  }

  /** `validator` signed something for (this height, `round`): maybe skip ahead, maybe start the timer. */
  private sawRound(validator: PeerIdString, round: number, now: number): void {
    const h = this.h
    if (!h.sync.saw(validator, round)) return
    const target = h.sync.skipTarget()
    if (target > h.round || (target === h.round && !h.active)) this.startRound(target, now)
    else this.checkRoundTimer(now)
  }

  private setTimer(
    kind: 'round' | 'election' | 'heartbeat' | 'propose',
    round: number,
    at: number,
  ): void {
    this.out.push({ type: 'set-timer', key: `${kind}:${this.h.height}:${round}`, at })
  }

  onTimer(key: string, now: number): void {
    const [kind, hs, rs] = key.split(':')
    const height = Number(hs)
    const round = Number(rs)
    const h = this.h
    if (height !== h.height || round !== h.round || this.syncing || !h.active) return
    const state = this.roundState(round)!
    if (kind === 'round') {
      const leader = this.leader(round)
      this.out.push({ type: 'round-failed', height, round, leader, why: whyFailed(state) })
      this.startRound(round + 1, now)
    } else if (kind === 'election') {
      this.election.onTimer(state, now)
    } else if (kind === 'propose') {
      // the block interval is over (a timer that fired a moment early arms itself again)
      state.proposeTimer = false
      this.propose(now)
    } else if (kind === 'heartbeat') {
      // no quorum here yet: say again where we are (our vote may have been lost before GST)
      if (state.timerArmed || state.ourVote == null) return
      state.relays++
      this.out.push({
        type: 'publish',
        topic: 'election',
        message: { vote: state.ourVote, relay: state.relays },
      })
      const { roundMs, roundMaxMs } = this.cfg.timeouts
      this.setTimer(
        'heartbeat',
        round,
        now + Math.min(roundMaxMs, roundMs * 2 ** Math.min(state.relays, 16)),
      )
    }
  }

  // ------------------------------------------------------------------ election

  /** An election request or vote (the gossip gate checked it): block-election.ts counts it. */
  onElection(m: ElectionMessage, now: number): void {
    this.election.onElection(m, now)
  }

  // ------------------------------------------------------------------ proposal (leader)

  private propose(now: number): void {
    const h = this.h
    const round = h.round
    const rs = this.roundState(round)!
    if (rs.leader?.candidate !== this.cfg.self || rs.proposed || !h.active) return
    // a proposal under our key for this round came while we waited out the interval (a twin
    // run with our key made it, or we did before a restart): we have permitted it, so it is
    // our proposal; a new block would be a second one, and a second permit
    if (rs.proposal?.message != null) {
      rs.proposed = true
      this.out.push({
        type: 'publish',
        topic: 'block-sync',
        message: { prepare: rs.proposal.message },
      })
      return
    }
    // a new block of round 0 waits out the block interval, so txs gather (with a full block's
    // worth committed, no need); a valid block, or a later round, goes at once
    const proposeAt = this.head.finalAt + this.cfg.timeouts.blockIntervalMs
    const full = this.pool.sizes().committed >= PROPOSAL_TXS
    if (round === 0 && h.validBlock == null && !full && now < proposeAt) {
      if (!rs.proposeTimer) {
        rs.proposeTimer = true
        this.setTimer('propose', round, proposeAt)
      }
      return
    }
    rs.proposed = true
    let block: Block
    let validRound: number | undefined
    let validCert: Certificate | undefined
    if (h.validBlock != null && h.validCert != null) {
      // a leader re-proposes its valid block
      block = h.validBlock.block
      validRound = h.validRound
      validCert = h.validCert
    } else {
      block = blockNew({
        chainId: this.cfg.chainId,
        height: h.height,
        round,
        head: this.head,
        proposer: this.selfId,
        ledger: this.ledger(),
        pool: this.pool,
        now,
      })
    }
    const message = signBlockPrepare(this.cfg.signer, this.cfg.chainId, {
      height: h.height,
      round,
      block,
      electionCert: rs.leader.cert,
      validRound,
      validCert,
    })
    this.out.push({ type: 'publish', topic: 'block-sync', message: { prepare: message } })
    const hash = toHex(blockHash(block.header!))
    this.trace('proposing', {
      round,
      block: hash.slice(0, 16),
      txs: block.txs.length,
      accounts: block.accounts.length,
      revalid: validRound ?? null,
    })
    rs.proposal = { block, hash, check: null, message }
    this.onProposal(message, now)
  }

  // ------------------------------------------------------------------ block-sync messages

  onBlockSync(m: BlockSyncMessage, from: PeerIdString, now: number): void {
    const height = m.prepare?.height ?? m.add?.height ?? m.final!.height
    if (height > this.h.height) {
      // its certificate was checked: a Final proves block `height` final; an
      // election or permit certificate proves q validators hold `height` − 1
      this.claims.prove(m.final ? height : height - 1)
      this.catchUp(from)
      return
    }
    if (height < this.h.height) return
    if (m.final == null) this.activate(now)
    if (m.prepare) this.onPrepareMessage(m.prepare, (m.relay ?? 0) > 0, from, now)
    else if (m.add) this.onAddMessage(m.add, now)
    else if (m.final)
      this.onFinal(m.final.round, toHex(m.final.blockHash), m.final.commitCert!, from, now)
  }

  private onPrepareMessage(
    p: BlockPrepare,
    relayed: boolean,
    from: PeerIdString,
    now: number,
  ): void {
    const h = this.h
    // a compact proposal is the shell's to rebuild (node/compact-blocks.ts); the core takes blocks whole
    if (p.block == null) return
    for (const s of p.electionCert!.signatures) this.sawRound(peerIdToString(s.voter), p.round, now)
    const hash = toHex(blockHash(p.block.header!))
    const rs = this.roundState(p.round)
    if (rs == null) {
      // a re-announced block of an earlier round: it may become our valid block with its Add
      if (!relayed || p.round <= h.validRound || h.relayed.has(hash)) return
      h.relayed.set(hash, {
        round: p.round,
        proposal: { block: p.block!, hash, check: null, message: p },
      })
      if (h.relayed.size > MAX_RELAYED) {
        const lowest = [...h.relayed].sort((a, b) => a[1].round - b[1].round)[0]![0]
        h.relayed.delete(lowest)
      }
      const orphan = h.orphanAdds.get(hash)
      if (orphan) this.onAdd(orphan.round, hash, orphan.cert, now)
      if (h.pendingFinal?.hash === hash)
        this.onFinal(h.pendingFinal.round, hash, h.pendingFinal.cert, from, now)
      return
    }
    rs.leader ??= { candidate: peerIdToString(p.electionCert!.candidate), cert: p.electionCert! }
    if (rs.proposal == null) {
      rs.proposal = { block: p.block!, hash, check: null, message: p }
    } else if (rs.proposal.hash !== hash) {
      const certified = rs.add?.hash === hash || h.pendingFinal?.hash === hash
      if (certified && rs.certified == null)
        rs.certified = { block: p.block!, hash, check: null, message: p }
      // a second proposal from one leader in one round: kept as evidence, never as a block
      if (rs.proposal.message != null && !rs.equivocated) {
        rs.equivocated = true
        this.evidence.keep(
          rs.leader.candidate,
          h.height,
          p.round,
          'proposal',
          {
            kind: EvidenceKind.PROPOSAL,
            first: {
              statement: proposalStatement(rs.proposal.message),
              signature: rs.proposal.message.signature,
            },
            second: { statement: proposalStatement(p), signature: p.signature },
          },
          now,
        )
      }
      if (!certified) return
    } else {
      rs.proposal.message ??= p
    }
    if (p.round === h.round) this.onProposal(p, now)
    // an Add or a Final that came before its block
    if (rs.add?.hash === hash) this.onAdd(p.round, hash, rs.add.cert, now)
    if (h.pendingFinal?.hash === hash)
      this.onFinal(h.pendingFinal.round, hash, h.pendingFinal.cert, from, now)
  }

  private onAddMessage(a: Add, now: number): void {
    for (const s of a.permitCert!.signatures) this.sawRound(peerIdToString(s.voter), a.round, now)
    const hash = toHex(a.blockHash)
    const rs = this.roundState(a.round)
    if (rs != null) {
      rs.addMessage ??= a
      rs.add ??= { hash, cert: a.permitCert! }
    } else if (a.round > this.h.validRound && !this.h.orphanAdds.has(hash)) {
      this.h.orphanAdds.set(hash, { round: a.round, cert: a.permitCert!, message: a })
      if (this.h.orphanAdds.size > MAX_ORPHAN_ADDS) {
        const lowest = [...this.h.orphanAdds].sort((x, y) => x[1].round - y[1].round)[0]![0]
        this.h.orphanAdds.delete(lowest)
      }
    }
    this.onAdd(a.round, hash, a.permitCert!, now)
  }

  /** Any block of this height we hold, by hash. */
  /** A block proposed at this height, by its hash: what a peer rebuilding a compact proposal asks for. */
  proposedBlock(hash: string): Block | undefined {
    return this.findBlock(hash)?.block
  }

  private findBlock(hash: string): Proposal | undefined {
    const h = this.h
    for (const rs of h.rounds.values()) {
      if (rs.proposal?.hash === hash) return rs.proposal
      if (rs.certified?.hash === hash) return rs.certified
    }
    if (h.validBlock?.hash === hash) return h.validBlock
    return h.relayed.get(hash)?.proposal
  }

  /**
   * The clock-free check of a block, run once per copy. A copy that fails
   * it is forgotten, so a bad copy (a body that does not match its header)
   * cannot stand in for the genuine block that a later message brings.
   */
  private checked(p: Proposal): BlockCheck {
    if (p.check != null) return p.check
    const check = checkBlock(this.cfg.chainId, p.block, this.head, this.ledger(), null)
    if (check.ok) p.check = check
    else this.forget(p)
    return check
  }

  private forget(p: Proposal): void {
    const h = this.h
    for (const rs of h.rounds.values()) {
      if (rs.proposal === p) rs.proposal = null
      if (rs.certified === p) rs.certified = null
    }
    if (h.relayed.get(p.hash)?.proposal === p) h.relayed.delete(p.hash)
  }

  /** Permit or reject the round's proposal (Tendermint lines 22-33). */
  private onProposal(p: BlockPrepare, now: number): void {
    const h = this.h
    const rs = this.roundState(p.round)
    if (!this.isValidator || this.syncing || !h.active || p.round !== h.round || rs == null) return
    if (rs.permitSent != null) return
    const proposal = this.findBlock(toHex(blockHash(p.block!.header!)))
    if (proposal == null) return
    const check = this.checked(proposal)
    let reason = RejectReason.NONE
    if (!check.ok) reason = RejectReason.INVALID_BLOCK
    // the clock bound is ours alone: it decides our vote, never the block's fate
    else if (p.block!.header!.time > now + MAX_CLOCK_DRIFT_MS) reason = RejectReason.INVALID_BLOCK
    else if (p.validRound == null) {
      if (h.lockedRound >= 0 && !this.isLockedOn(proposal.hash) && !this.cfg.unsafe?.ignoreLock)
        reason = RejectReason.LOCKED
    } else {
      const vr = p.validRound
      const certOk =
        vr < p.round && p.validCert != null && toHex(p.validCert.subject) === proposal.hash
      if (!certOk) reason = RejectReason.INVALID_BLOCK
      else {
        // the re-proposal itself carries the certificate: it is what we re-announce
        if (vr > h.validRound) this.setValid(vr, { ...proposal, message: p }, p.validCert!, null)
        if (h.lockedRound > vr && !this.isLockedOn(proposal.hash) && !this.cfg.unsafe?.ignoreLock) {
          reason = RejectReason.LOCKED
        }
      }
    }
    rs.permitSent = reason === RejectReason.NONE ? proposal.hash : ''
    this.trace(reason === RejectReason.NONE ? 'permit' : 'reject', {
      round: p.round,
      block: proposal.hash.slice(0, 16),
      reason: reason === RejectReason.NONE ? null : String(reason),
      detail: check.ok ? null : check.message,
    })
    this.persistSignState()
    this.sendVote(this.blockVote(Phase.BLOCK_PERMIT, p.round, proposal.hash, reason), now)
  }

  private isLockedOn(hash: string): boolean {
    return this.h.lockedHash === hash
  }

  private setValid(round: number, proposal: Proposal, cert: Certificate, add: Add | null): void {
    const h = this.h
    h.validRound = round
    h.validBlock = proposal
    h.validCert = cert
    h.validAdd = add
    for (const [hash, r] of h.relayed) if (r.round <= round) h.relayed.delete(hash)
    for (const [hash, a] of h.orphanAdds) if (a.round <= round) h.orphanAdds.delete(hash)
  }

  /** q permits for a block in `round` (Tendermint line 36): valid block; lock and commit-vote if in that round. */
  private onAdd(round: number, hash: string, cert: Certificate, now: number): void {
    const h = this.h
    const proposal = this.findBlock(hash)
    if (proposal == null) return // it waits in the round's `add` or the orphan Adds
    if (!this.checked(proposal).ok) return
    const rs = this.roundState(round)
    const addMessage = rs?.addMessage ?? h.orphanAdds.get(hash)?.message ?? null
    if (round > h.validRound) this.setValid(round, proposal, cert, addMessage)
    if (
      rs == null ||
      !this.isValidator ||
      this.syncing ||
      round !== h.round ||
      rs.commitSent != null ||
      rs.permitSent == null
    )
      return
    h.lockedRound = round
    h.lockedHash = hash
    rs.commitSent = hash
    this.trace('locked; commit vote', { round, block: hash.slice(0, 16) })
    // the lock is on disk before the commit vote leaves
    this.persistSignState()
    this.sendVote(this.blockVote(Phase.BLOCK_COMMIT, round, hash, RejectReason.NONE), now)
  }

  // ------------------------------------------------------------------ counting block votes

  /**
   * A block vote (its signature and voter checked by the shell). Every validator counts them,
   * not only the leader: q permits for a block are Tendermint's 2f + 1 prevotes (lock, commit
   * vote), q commit votes its 2f + 1 precommits (decide), each one message delay sooner than the
   * leader's Add and Final would say so. The leader still publishes both, for observers and for
   * validators that missed votes.
   */
  onVote(vote: Vote, now: number): void {
    const h = this.h
    if (vote.height !== h.height) return
    const rs = this.roundState(vote.round)
    if (rs == null) return
    const voter = peerIdToString(vote.voter)
    if (!this.cfg.validators.has(voter)) return
    this.sawRound(voter, vote.round, now)
    const key = `${vote.phase}:${voter}`
    const earlier = rs.votesSeen.get(key)
    if (earlier != null) {
      if (earlier.result !== vote.result || !bytesEqual(earlier.subject, vote.subject)) {
        this.evidence.keep(
          voter,
          h.height,
          vote.round,
          String(vote.phase),
          { kind: EvidenceKind.BLOCK_VOTE, first: earlier, second: vote },
          now,
        )
      }
      return // a duplicate counts once
    }
    rs.votesSeen.set(key, vote)
    if (vote.result !== VoteResult.PERMIT) return
    // by block: one vote per (phase, voter) is kept, so at most n per phase in a round
    const hash = toHex(vote.subject)
    const byBlock = vote.phase === Phase.BLOCK_PERMIT ? rs.permits : rs.commits
    let votes = byBlock.get(hash)
    if (votes == null) {
      votes = new Map()
      byBlock.set(hash, votes)
    }
    votes.set(voter, vote)
    if (votes.size !== this.quorum) return
    // every vote here is for (phase, this height, this round, this block): one certificate
    const cert = certificateFrom([...votes.values()])
    if (vote.phase === Phase.BLOCK_PERMIT) this.permitQuorum(rs, hash, cert, now)
    else this.commitQuorum(rs, hash, cert, now)
  }

  /** q permits for `hash` in a round: the leader publishes Add; everyone acts on it (onAdd). */
  private permitQuorum(rs: RoundState, hash: string, cert: Certificate, now: number): void {
    if (rs.leader?.candidate === this.cfg.self && !rs.addSent && rs.proposal?.hash === hash) {
      rs.addSent = true
      const add = signAdd(this.cfg.signer, this.cfg.chainId, {
        height: this.h.height,
        round: rs.round,
        blockHash: fromHex(hash),
        permitCert: cert,
      })
      this.out.push({ type: 'publish', topic: 'block-sync', message: { add } })
      rs.addMessage = add
    }
    rs.add ??= { hash, cert }
    this.trace('add: q permits', { round: rs.round, block: hash.slice(0, 16) })
    this.onAdd(rs.round, hash, cert, now)
  }

  /** q commit votes for `hash` in a round: the leader publishes Final; everyone appends (onFinal). */
  private commitQuorum(rs: RoundState, hash: string, cert: Certificate, now: number): void {
    if (rs.leader?.candidate === this.cfg.self && !rs.finalSent && rs.proposal?.hash === hash) {
      rs.finalSent = true
      this.out.push({
        type: 'publish',
        topic: 'block-sync',
        message: {
          final: {
            height: this.h.height,
            round: rs.round,
            blockHash: fromHex(hash),
            commitCert: cert,
          },
        },
      })
    }
    this.onFinal(rs.round, hash, cert, null, now)
  }

  // ------------------------------------------------------------------ final

  private onFinal(
    round: number,
    hash: string,
    cert: Certificate,
    from: PeerIdString | null,
    now: number,
  ): void {
    const h = this.h
    const proposal = this.findBlock(hash)
    if (proposal == null) {
      if (h.pendingFinal?.hash !== hash) {
        h.pendingFinal = { hash, cert, round }
        this.out.push({ type: 'fetch-block', height: h.height, hash, hint: from })
      }
      return
    }
    const check = this.checked(proposal)
    if (!check.ok) {
      this.out.push({
        type: 'fault',
        message: `final block ${hash} at ${h.height} is invalid here: ${check.message}`,
      })
      return
    }
    this.append({ block: proposal.block, commitCert: cert }, hash, round, check.execution, now)
  }

  /** A final block from history: check its certificate and the block, then append it. */
  onFetched(fb: FinalizedBlock, from: PeerIdString, now: number): boolean {
    const block = fb.block!
    const header = block.header!
    if (header.height !== this.h.height) return false // not next: an earlier one is missing, or we have it
    const hash = blockHash(header)
    const refuse = (reason: string): false => {
      this.out.push({ type: 'block-rejected', height: header.height, from, reason })
      return false
    }
    try {
      verifyCertificate(
        this.cfg.chainId,
        fb.commitCert!,
        { phase: Phase.BLOCK_COMMIT, subject: hash, height: header.height },
        this.cfg.validators,
      )
    } catch (err) {
      if (err instanceof CertificateError) return refuse(`commit certificate: ${err.message}`)
      throw err
    }
    const proposal: Proposal = { block, hash: toHex(hash), check: null, message: null }
    const check = this.checked(proposal)
    if (!check.ok) return refuse(`${check.code}: ${check.message}`)
    this.append(fb, toHex(hash), fb.commitCert!.round, check.execution, now)
    return true
  }

  /** The shell stopped catching up (caught up, or no peer had the blocks): take part in consensus again. */
  syncDone(now: number): void {
    this.syncTarget = this.head.height
    if (!this.syncing) return
    this.syncing = false
    this.trace('back in consensus', { head: this.head.height })
    this.maybeActivate(now)
  }

  private append(
    fb: FinalizedBlock,
    hash: string,
    round: number,
    exec: Execution,
    now: number,
  ): void {
    const block = fb.block!
    const header = block.header!
    const ledger = this.ledger()
    applyExecution(ledger, exec)
    // the leaders of the rounds before the deciding one failed
    this.leftRounds(0, round)

    // the pool and the tx log: out go the included txs and registrations, and the txs whose
    // nonce the block used; the rest of our abandoned block_new stays
    const { poolDeletes, accountDeletes } = settleFinalBlock({
      block,
      height: header.height,
      receipts: exec.receipts,
      ledger,
      pool: this.pool,
      txLog: this.txLog,
      out: this.out,
    })

    this.out.push({
      type: 'persist',
      ops: [
        {
          op: 'block-final',
          height: header.height,
          hash,
          finalized: fb,
          receipts: exec.receipts,
          accounts: [...exec.accounts.values()],
          unclaimed: [...exec.unclaimed.entries()],
          stateRoot: exec.stateRoot,
          poolDeletes,
          accountDeletes,
        },
      ],
    })
    const failed = exec.receipts.txs.filter((r) => r.status !== ReceiptStatus.OK).length
    this.out.push({
      type: 'block-final',
      height: header.height,
      hash,
      round,
      txs: block.txs.length,
      accounts: block.accounts.length,
      failed,
      proposer: peerIdToString(header.proposer),
      signers: fb.commitCert!.signatures.map((sig) => peerIdToString(sig.voter)),
    })
    this.head = {
      height: header.height,
      hash: fromHex(hash),
      time: header.time,
      stateRoot: exec.stateRoot,
      finalAt: now,
    }
    this.h = this.freshHeight(header.height + 1)
    if (this.syncing && this.head.height + 1 >= this.claims.trusted()) {
      // within a block of what we can trust: the gossip of the next height carries us from here
      this.syncing = false
      this.trace('caught up; back in consensus', { head: this.head.height })
    }
    // the commit certificate's signers, and votes of this height that came while we finished
    // the last one (others are deciding it)
    this.election.startHeight(fb.commitCert!, now)
    this.maybeActivate(now)
  }

  // ------------------------------------------------------------------ catching up

  /** A peer's word on its head: `signed` when a validator's signature or status vouches for it. */
  peerHeight(height: number, from: PeerIdString): void {
    // a validator's status is its own word; anyone else's is a hint
    if (this.cfg.validators.has(from)) this.claims.claim(from, height)
    this.catchUp(from, height)
  }

  /** A validator signed a message of a height whose parent is `head`. */
  heightClaim(validator: PeerIdString, head: number): void {
    this.claims.claim(validator, head)
    this.catchUp(validator, head)
  }

  /**
   * Fetch what the chain has beyond our head (in the background: we keep
   * voting); leave consensus only if what we can trust is far ahead.
   */
  private catchUp(hint: PeerIdString, hinted = 0): void {
    const trusted = this.claims.trusted()
    const threshold = this.cfg.syncThreshold ?? DEFAULT_SYNC_THRESHOLD
    if (!this.syncing && this.isValidator && trusted - this.head.height > threshold) {
      // too far behind to vote usefully, by what we can trust: catch up first
      this.syncing = true
      this.h.active = false
      this.trace('leaving consensus to catch up', { head: this.head.height, target: trusted })
    }
    // fetch up to the highest head anyone named (once per target)
    const target = Math.max(trusted, hinted)
    if (target <= this.head.height || target <= this.syncTarget) return
    this.syncTarget = target
    this.out.push({ type: 'sync-needed', height: target, hint })
  }

  // ------------------------------------------------------------------ helpers

  private trace(msg: string, fields: Record<string, string | number | boolean | null> = {}): void {
    this.out.push({ type: 'trace', msg, fields: { height: this.h.height, ...fields } })
  }

  private blockVote(phase: Phase, round: number, hash: string, reason: RejectReason): Vote {
    return signVote(this.cfg.signer, this.cfg.chainId, {
      phase,
      subject: fromHex(hash),
      height: this.h.height,
      round,
      result: reason === RejectReason.NONE ? VoteResult.PERMIT : VoteResult.REJECT,
      reason,
      voter: this.selfId,
    })
  }

  /** A block vote of ours goes to every other validator, and counts here too. */
  private sendVote(vote: Vote, now: number): void {
    for (const v of this.cfg.validators.ids)
      if (v !== this.cfg.self) this.out.push({ type: 'send-vote', to: v, vote })
    this.onVote(vote, now)
  }

  private persistSignState(): void {
    const h = this.h
    const rs = this.roundState(h.round)!
    const permit = rs.permitSent
    const state: SignState = {
      height: h.height,
      round: h.round,
      electionCandidate: rs.ourVote?.candidate,
      permitSubject: permit ? fromHex(permit) : undefined,
      permitRejected: permit === '' ? true : undefined,
      commitSubject: rs.commitSent ? fromHex(rs.commitSent) : undefined,
      lockedRound: h.lockedHash ? h.lockedRound : undefined,
      lockedHash: h.lockedHash ? fromHex(h.lockedHash) : undefined,
    }
    const valid = h.validBlock?.message
    if (valid != null && h.validCert != null) {
      state.validRound = h.validRound
      state.validCert = h.validCert
      state.validPrepare = valid
      state.validAdd = h.validAdd ?? undefined
    }
    this.out.push({ type: 'persist', ops: [{ op: 'sign-state', state }] })
  }
}

/** Why a round ended without a block, as far as this node saw it (for its log). */
function whyFailed(rs: RoundState): string {
  if (rs.leader == null) return 'no leader was elected'
  if (rs.proposal == null) return 'no proposal came from the leader'
  if (rs.add == null) {
    if (rs.permitSent === '') return 'this node rejected the proposal, and no q permits were seen'
    return 'the proposal got no q permits (no Add was seen)'
  }
  return 'no q commit votes were seen (no Final)'
}
