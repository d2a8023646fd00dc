/**
 * Blocks (DESIGN §6): the original design's timer election, made safe, and
 * block consensus by Tendermint's algorithm (Buchman, Kwon, Milosevic 2018,
 * Algorithm 1) with the original's leader-collected votes:
 *
 *   election   every validator arms a random timer; when it fires and the
 *              validator has not voted in (height, round) it asks to lead
 *              and votes for itself; a validator votes for the first
 *              candidate it hears of; q votes make the round's leader.
 *   prepare    the leader publishes BlockPrepare(block_new, or its valid
 *              block with the certificate that made it valid).
 *   permit     each validator sends the leader a permit (prevote) if the
 *              block is valid and its lock allows, a reject otherwise.
 *   add        with q permits the leader publishes Add; validators lock on
 *              the block and send the leader a commit vote (precommit).
 *   final      with q commit votes the leader publishes Final: the block is
 *              appended everywhere with its commit certificate.
 *
 * Locking: a validator locked on block B in round r permits in a later
 * round only B, or a block shown valid (q permits) in a round >= r. Only a
 * commit certificate makes a block final. A round without a Final by its
 * deadline (growing from roundMs, doubling, capped at roundMaxMs) gives way
 * to the next; f + 1 validators seen in a later round pull a node there.
 * Everything a validator signs is persisted (sign state) before it is sent.
 */

import { accountsRoot, blockHash, sortTxs, txRoot } from '../chain/block.js'
import { CertificateError, certificateFrom, verifyCertificate } from '../chain/certificates.js'
import type { Genesis, Timeouts } from '../chain/genesis.js'
import { genesisTimeMs } from '../chain/genesis.js'
import {
  signAdd,
  signBlockPrepare,
  signElectionRequest,
  signElectionVote,
  signVote,
} from '../chain/signatures.js'
import type { ValidatorSet } from '../chain/validator-set.js'
import {
  type Add,
  type Block,
  type BlockHeader,
  type BlockPrepare,
  type BlockSyncMessage,
  type Certificate,
  type ElectionCertificate,
  type ElectionMessage,
  type ElectionVote,
  type FinalizedBlock,
  Phase,
  ReceiptStatus,
  RejectReason,
  type SignState,
  type Tx,
  type Vote,
  VoteResult,
} from '../codec/index.js'
import { MAX_BLOCK_ACCOUNTS, MAX_BLOCK_BYTES, MAX_BLOCK_TXS } from '../codec/limits.js'
import { bytesEqual, fromHex, toHex } from '../crypto/hash.js'
import { addressOf, type Signer } from '../crypto/keys.js'
import { type PeerIdString, peerIdFromString, peerIdToString } from '../crypto/peer-id.js'
import type { Mempool, PoolEntry } from '../mempool/mempool.js'
import { applyExecution, type Execution, executeBlock } from '../state/execute.js'
import type { LedgerState } from '../state/ledger.js'
import { type BlockCheck, type ChainTip, checkBlock, MAX_CLOCK_DRIFT_MS } from './block-check.js'
import type { SeededRandom } from './random.js'
import type { TxLog } from './tx-log.js'
import type { CoreAction } from './types.js'

export interface BlockRoundsConfig {
  chainId: string
  validators: ValidatorSet
  self: PeerIdString
  signer: Signer
  timeouts: Timeouts
  genesis: Genesis
  /** test-only: plant a bug to prove the simulation catches it */
  unsafe?: { quorum?: number; ignoreLock?: boolean }
  /** a validator further behind than this leaves consensus to catch up first */
  syncThreshold?: number
}

export const DEFAULT_SYNC_THRESHOLD = 8

interface Proposal {
  block: Block
  hash: string
  check: BlockCheck | null
  /** the signed message that brought it, to re-announce it if it becomes our valid block */
  message: BlockPrepare | null
}

/** One height's rounds, as this node sees them. */
interface HeightState {
  height: number
  round: number
  /** rounds run once the height has something to decide (or hears others deciding) */
  active: boolean
  /** our election vote per round */
  electionVote: Map<number, PeerIdString>
  /** the first candidate heard of in each round, also before this node got there */
  firstHeard: Map<number, PeerIdString>
  /** election votes seen: round → voter → vote */
  electionVotes: Map<number, Map<PeerIdString, ElectionVote>>
  leaders: Map<number, { candidate: PeerIdString; cert: ElectionCertificate }>
  /** blocks seen at this height, by hash */
  blocks: Map<string, Proposal>
  /** the proposal of each round: block hash */
  proposals: Map<number, { hash: string; message: BlockPrepare }>
  /** the Adds seen, by round: relayed with the valid block in later rounds */
  addMessages: Map<number, Add>
  /** Adds waiting for their block */
  adds: Map<number, { hash: string; cert: Certificate }>
  /** a Final waiting for its block */
  pendingFinal: { hash: string; cert: Certificate; round: number } | null
  /** what we sent, per round: block hash (hex) or '' for a reject */
  permitSent: Map<number, string>
  commitSent: Map<number, string>
  lockedRound: number
  /** the block we are locked on (Tendermint lockedValue: only its hash is ever compared) */
  lockedHash: string | null
  validRound: number
  validBlock: Block | null
  validCert: Certificate | null
  /** the signed proposal that carried the valid block, and the Add that made it valid */
  validPrepare: BlockPrepare | null
  validAdd: Add | null
  /** leader side: votes collected per round */
  permits: Map<number, Map<PeerIdString, Vote>>
  commits: Map<number, Map<PeerIdString, Vote>>
  addSent: Set<number>
  finalSent: Set<number>
  proposed: Set<number>
  /** validators seen taking part in each round (for the f + 1 round skip) */
  roundVoters: Map<number, Set<PeerIdString>>
  /** leader side: the first block vote of each (phase, round, voter) */
  votesSeen: Map<string, Vote>
}

/** A validator that signed two different answers to one question: kept, counted once. */
export interface BlockEvidence {
  kind: 'election' | 'block-vote'
  voter: PeerIdString
  height: number
  round: number
  first: Vote | ElectionVote
  second: Vote | ElectionVote
}

const MAX_EVIDENCE = 1_000

export interface Head extends ChainTip {
  /** when this node saw the head become final (its own clock) */
  finalAt: number
}

const MAX_BLOCKS_PER_HEIGHT = 64
const BLOCK_BYTES_BUDGET = MAX_BLOCK_BYTES - 64 * 1024

export class BlockRounds {
  head: Head
  readonly evidence: BlockEvidence[] = []
  private h: HeightState
  private readonly isValidator: boolean
  private readonly selfId: Uint8Array
  private readonly quorum: number
  /** heights we asked the shell to sync to, so we ask once */
  private syncTarget = 0
  /** far behind: no rounds, no votes, only appending fetched blocks */
  syncing = false

  constructor(
    private readonly cfg: BlockRoundsConfig,
    private readonly ledger: () => LedgerState,
    private readonly pool: Mempool,
    private readonly txLog: TxLog,
    private readonly random: SeededRandom,
    private readonly out: CoreAction[],
    head: Head,
  ) {
    this.isValidator = cfg.validators.has(cfg.self)
    this.selfId = peerIdFromString(cfg.self)
    this.quorum = cfg.unsafe?.quorum ?? cfg.validators.quorum
    this.head = head
    this.h = this.freshHeight(head.height + 1)
  }

  static genesisHead(genesis: Genesis, genesisHash: Uint8Array, stateRoot: Uint8Array): Head {
    return { height: 0, hash: genesisHash, time: genesisTimeMs(genesis), stateRoot, finalAt: 0 }
  }

  private freshHeight(height: number): HeightState {
    return {
      height,
      round: 0,
      active: false,
      electionVote: new Map(),
      firstHeard: new Map(),
      electionVotes: new Map(),
      leaders: new Map(),
      blocks: new Map(),
      proposals: new Map(),
      adds: new Map(),
      addMessages: new Map(),
      pendingFinal: null,
      permitSent: new Map(),
      commitSent: new Map(),
      lockedRound: -1,
      lockedHash: null,
      validRound: -1,
      validBlock: null,
      validCert: null,
      validPrepare: null,
      validAdd: null,
      permits: new Map(),
      commits: new Map(),
      addSent: new Set(),
      finalSent: new Set(),
      proposed: new Set(),
      roundVoters: new Map(),
      votesSeen: new Map(),
    }
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
    return this.h.leaders.get(round)?.candidate ?? null
  }

  lock(): { round: number; hash: string } | null {
    return this.h.lockedHash ? { round: this.h.lockedRound, hash: this.h.lockedHash } : null
  }

  // ------------------------------------------------------------------ restart

  /** After the head moved under us (a restore): start the next height afresh. */
  resetHeight(): void {
    this.h = this.freshHeight(this.head.height + 1)
  }

  /** Take back what this validator signed and locked before a restart. */
  restoreSignState(s: SignState, now: number): void {
    if (s.height !== this.h.height) return
    const h = this.h
    h.round = s.round
    if (s.electionCandidate) h.electionVote.set(s.round, peerIdToString(s.electionCandidate))
    if (s.permitSubject) h.permitSent.set(s.round, toHex(s.permitSubject))
    if (s.commitSubject) h.commitSent.set(s.round, toHex(s.commitSubject))
    if (s.lockedRound != null && s.lockedHash) {
      h.lockedRound = s.lockedRound
      h.lockedHash = toHex(s.lockedHash)
    }
    if (s.validRound != null && s.validPrepare && s.validCert) {
      const proposal = this.rememberBlock(s.validPrepare.block!, s.validPrepare)
      this.setValid(s.validRound, proposal, s.validCert, s.validAdd ?? null)
    }
    // a restarted validator with a lock resumes at once, in the next round
    if (h.lockedHash || h.validBlock) this.startRound(s.round + 1, now)
  }

  // ------------------------------------------------------------------ activity

  /** Start the height's rounds once there is something to decide. */
  maybeActivate(now: number): void {
    if (this.h.active || !this.isValidator || this.syncing) return
    const sizes = this.pool.sizes()
    if (sizes.committed > 0 || sizes.accounts > 0 || this.h.validBlock != null)
      this.startRound(this.h.round, now)
  }

  private startRound(round: number, now: number): void {
    if (this.syncing) return
    const h = this.h
    h.active = true
    h.round = round
    const { timeouts } = this.cfg
    const length = Math.min(timeouts.roundMaxMs, timeouts.roundMs * 2 ** Math.min(round, 30))
    this.out.push({ type: 'set-timer', key: `round:${h.height}:${round}`, at: now + length })
    // tell the others of our valid block, so whoever leads next can re-propose
    // it: a validator that missed its Add would otherwise propose a new block
    // the locked ones must refuse
    if (round > 0 && h.validPrepare != null) {
      this.out.push({
        type: 'publish',
        topic: 'block-sync',
        message: { prepare: h.validPrepare, relay: round },
      })
      if (h.validAdd)
        this.out.push({
          type: 'publish',
          topic: 'block-sync',
          message: { add: h.validAdd, relay: round },
        })
    }
    const heard = h.firstHeard.get(round)
    if (this.isValidator && !h.electionVote.has(round) && heard != null) {
      // someone got here first and asked: the first candidate heard of gets our vote
      this.voteInElection(round, heard, now)
    } else if (this.isValidator && !h.electionVote.has(round)) {
      const earliest =
        round === 0 ? Math.max(now, this.head.finalAt + timeouts.blockIntervalMs) : now
      const delay = this.random.int(timeouts.electionMinMs, timeouts.electionMaxMs)
      this.out.push({
        type: 'set-timer',
        key: `election:${h.height}:${round}`,
        at: earliest + delay,
      })
    }
    this.out.push({ type: 'round', height: h.height, round, leader: this.leader(round) })
    // what arrived early for this round
    const candidate = h.leaders.get(round)?.candidate
    if (candidate === this.cfg.self) this.propose(now)
    const proposal = h.proposals.get(round)
    if (proposal) this.onProposal(proposal.message, now)
    const add = h.adds.get(round)
    if (add) this.onAdd(round, add.hash, add.cert, now)
  }

  onTimer(key: string, now: number): void {
    const [kind, hs, rs] = key.split(':')
    const height = Number(hs)
    const round = Number(rs)
    if (height !== this.h.height || round !== this.h.round || this.syncing) return
    if (kind === 'round') {
      this.trace('round timed out', { round, leader: this.leader(round)?.slice(-6) ?? null })
      this.startRound(round + 1, now)
    } else if (kind === 'election' && !this.h.electionVote.has(round)) {
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
      this.voteInElection(round, this.cfg.self, now)
    }
  }

  // ------------------------------------------------------------------ election

  private voteInElection(round: number, candidate: PeerIdString, now: number): void {
    const h = this.h
    if (h.electionVote.has(round) || this.syncing) return
    h.electionVote.set(round, candidate)
    this.persistSignState()
    const vote = signElectionVote(this.cfg.signer, this.cfg.chainId, {
      height: h.height,
      round,
      candidate: peerIdFromString(candidate),
      voter: this.selfId,
    })
    this.out.push({ type: 'publish', topic: 'election', message: { vote } })
    this.countElectionVote(vote, now)
  }

  onElection(m: ElectionMessage, from: PeerIdString, now: number): void {
    const msg = m.request ?? m.vote!
    if (msg.height > this.h.height) {
      this.behind(msg.height - 1, from)
      return
    }
    if (msg.height < this.h.height) return
    const heard = m.request ?? m.vote!
    if (!this.h.firstHeard.has(heard.round))
      this.h.firstHeard.set(heard.round, peerIdToString(heard.candidate))
    if (!this.h.active && this.isValidator) this.startRound(this.h.round, now)
    if (m.request != null) {
      const candidate = peerIdToString(m.request.candidate)
      this.seenInRound(m.request.round, candidate, now)
      if (m.request.round === this.h.round && this.isValidator)
        this.voteInElection(m.request.round, candidate, now)
      return
    }
    const vote = m.vote!
    this.countElectionVote(vote, now)
    if (vote.round === this.h.round && this.isValidator) {
      // the first candidate we hear of in this round gets our vote
      this.voteInElection(vote.round, peerIdToString(vote.candidate), now)
    }
  }

  private countElectionVote(vote: ElectionVote, now: number): void {
    const h = this.h
    const voter = peerIdToString(vote.voter)
    let votes = h.electionVotes.get(vote.round)
    if (votes == null) {
      votes = new Map()
      h.electionVotes.set(vote.round, votes)
    }
    const earlier = votes.get(voter)
    if (earlier != null) {
      // one vote per validator per round; a second, different one is equivocation
      if (!bytesEqual(earlier.candidate, vote.candidate))
        this.keepEvidence('election', voter, vote.round, earlier, vote)
      return
    }
    votes.set(voter, vote)
    this.seenInRound(vote.round, voter, now)
    if (h.leaders.has(vote.round)) return
    const forCandidate = [...votes.values()].filter((v) => bytesEqual(v.candidate, vote.candidate))
    if (forCandidate.length < this.quorum) return
    const candidate = peerIdToString(vote.candidate)
    h.leaders.set(vote.round, {
      candidate,
      cert: {
        height: h.height,
        round: vote.round,
        candidate: vote.candidate,
        signatures: forCandidate
          .slice(0, this.quorum)
          .map((v) => ({ voter: v.voter, signature: v.signature })),
      },
    })
    this.trace('elected', {
      round: vote.round,
      leader: candidate.slice(-6),
      votes: forCandidate.length,
    })
    if (vote.round === h.round) {
      this.out.push({ type: 'round', height: h.height, round: h.round, leader: candidate })
      if (candidate === this.cfg.self) this.propose(now)
    }
  }

  /** f + 1 validators in a later round: at least one honest one is there, so go. */
  private seenInRound(round: number, validator: PeerIdString, now: number): void {
    const h = this.h
    if (round <= h.round) return
    let seen = h.roundVoters.get(round)
    if (seen == null) {
      seen = new Set()
      h.roundVoters.set(round, seen)
    }
    seen.add(validator)
    if (seen.size >= this.cfg.validators.f + 1) this.startRound(round, now)
  }

  // ------------------------------------------------------------------ proposal (leader)

  private propose(now: number): void {
    const h = this.h
    const round = h.round
    const leader = h.leaders.get(round)
    if (leader?.candidate !== this.cfg.self || h.proposed.has(round)) return
    h.proposed.add(round)
    let block: Block
    let validRound: number | undefined
    let validCert: Certificate | undefined
    if (h.validBlock != null && h.validCert != null) {
      // a leader re-proposes its valid block
      block = h.validBlock
      validRound = h.validRound
      validCert = h.validCert
    } else {
      block = this.blockNew(round, now)
    }
    const message = signBlockPrepare(this.cfg.signer, this.cfg.chainId, {
      height: h.height,
      round,
      block,
      electionCert: leader.cert,
      validRound,
      validCert,
    })
    this.out.push({ type: 'publish', topic: 'block-sync', message: { prepare: message } })
    this.trace('proposing', {
      round,
      block: toHex(blockHash(block.header!)).slice(0, 16),
      txs: block.txs.length,
      accounts: block.accounts.length,
      revalid: validRound ?? null,
    })
    h.proposals.set(round, { hash: toHex(blockHash(block.header!)), message })
    this.onProposal(message, now)
  }

  /** The original block_new: registrations and committed txs from the pool, executed. */
  private blockNew(round: number, now: number): Block {
    const ledger = this.ledger()
    const accounts = this.pool
      .pendingAccounts()
      .filter(
        ([address, reg]) =>
          ledger.account(address) == null && ledger.addressOfUsername(reg.username) == null,
      )
      .slice(0, MAX_BLOCK_ACCOUNTS)
      .map(([, reg]) => reg)
    const registering = new Set(accounts.map((a) => toHex(addressOf(a.publicKey))))
    const known = (sender: string): boolean =>
      ledger.account(sender) != null || registering.has(sender)
    // per sender, in nonce order from its next nonce: a tx after a gap waits
    // for the gap to fill, but not forever (gapGraceMs); a tx whose nonce is
    // already used goes in anyway, to fail there: a committed tx always ends
    // in a block (DESIGN §10, no loss)
    const bySender = new Map<string, PoolEntry[]>()
    for (const e of this.pool.committed()) {
      if (!known(e.sender)) continue // its registration is not in a block yet: next time
      let list = bySender.get(e.sender)
      if (list == null) {
        list = []
        bySender.set(e.sender, list)
      }
      list.push(e)
    }
    const gapGraceMs = 2 * this.cfg.timeouts.txRoundMs
    const picked: Tx[] = []
    let bytes = 0
    senders: for (const [sender, entries] of bySender) {
      entries.sort((a, b) => a.tx.nonce - b.tx.nonce)
      let expected = ledger.account(sender)?.nextNonce ?? 0
      for (const e of entries) {
        if (picked.length >= MAX_BLOCK_TXS || bytes + e.bytes > BLOCK_BYTES_BUDGET) break senders
        if (e.tx.nonce > expected) {
          if (now - e.addedAt < gapGraceMs) break
          expected = e.tx.nonce
        }
        if (e.tx.nonce === expected) expected++
        picked.push(e.tx)
        bytes += e.bytes
      }
    }
    const txs = sortTxs(picked)
    const header: BlockHeader = {
      chainId: this.cfg.chainId,
      height: this.h.height,
      round,
      parentHash: this.head.hash,
      proposer: this.selfId,
      time: Math.max(now, this.head.time + 1),
      txRoot: txRoot(txs),
      accountsRoot: accountsRoot(accounts),
      stateRoot: new Uint8Array(32),
    }
    const draft: Block = { header, txs, accounts }
    header.stateRoot = executeBlock(ledger, draft, this.head.stateRoot).stateRoot
    return draft
  }

  // ------------------------------------------------------------------ block-sync messages

  onBlockSync(m: BlockSyncMessage, from: PeerIdString, now: number): void {
    const height = m.prepare?.height ?? m.add?.height ?? m.final!.height
    if (height > this.h.height) {
      this.behind(m.final ? height : height - 1, from)
      return
    }
    if (height < this.h.height) return
    if (!this.h.active && this.isValidator && m.final == null) this.startRound(this.h.round, now)
    if (m.prepare) {
      const p = m.prepare
      const h = this.h
      h.leaders.set(
        p.round,
        h.leaders.get(p.round) ?? {
          candidate: peerIdToString(p.electionCert!.candidate),
          cert: p.electionCert!,
        },
      )
      for (const s of p.electionCert!.signatures)
        this.seenInRound(p.round, peerIdToString(s.voter), now)
      if (!h.proposals.has(p.round))
        h.proposals.set(p.round, { hash: toHex(blockHash(p.block!.header!)), message: p })
      this.rememberBlock(p.block!, p)
      if (p.round === h.round) this.onProposal(p, now)
      // an Add or a Final that came before its block
      const hash = toHex(blockHash(p.block!.header!))
      const add = h.adds.get(p.round)
      if (add && add.hash === hash) this.onAdd(p.round, add.hash, add.cert, now)
      if (h.pendingFinal?.hash === hash)
        this.onFinal(h.pendingFinal.round, hash, h.pendingFinal.cert, from, now)
    } else if (m.add) {
      if (!this.h.addMessages.has(m.add.round)) this.h.addMessages.set(m.add.round, m.add)
      for (const s of m.add.permitCert!.signatures)
        this.seenInRound(m.add.round, peerIdToString(s.voter), now)
      this.onAdd(m.add.round, toHex(m.add.blockHash), m.add.permitCert!, now)
    } else if (m.final) {
      this.onFinal(m.final.round, toHex(m.final.blockHash), m.final.commitCert!, from, now)
    }
  }

  private rememberBlock(block: Block, message: BlockPrepare | null = null): Proposal {
    const hash = toHex(blockHash(block.header!))
    let p = this.h.blocks.get(hash)
    if (p == null) {
      p = { block, hash, check: null, message }
      if (this.h.blocks.size < MAX_BLOCKS_PER_HEIGHT) this.h.blocks.set(hash, p)
    }
    p.message ??= message
    return p
  }

  /**
   * The clock-free check of a block, run once. A block that fails it is
   * forgotten, so a bad copy (a body that does not match its header) cannot
   * stand in for the genuine block that a later message brings.
   */
  private checked(p: Proposal): BlockCheck {
    if (p.check != null) return p.check
    const check = checkBlock(this.cfg.chainId, p.block, this.head, this.ledger(), null)
    if (check.ok) p.check = check
    else if (this.h.blocks.get(p.hash) === p) this.h.blocks.delete(p.hash)
    return check
  }

  /** Permit or reject the round's proposal (Tendermint lines 22-33). */
  private onProposal(p: BlockPrepare, now: number): void {
    const h = this.h
    if (!this.isValidator || this.syncing || p.round !== h.round || h.permitSent.has(p.round))
      return
    const proposal = this.rememberBlock(p.block!, p)
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
    h.permitSent.set(p.round, reason === RejectReason.NONE ? proposal.hash : '')
    this.trace(reason === RejectReason.NONE ? 'permit' : 'reject', {
      round: p.round,
      block: proposal.hash.slice(0, 16),
      reason: reason === RejectReason.NONE ? null : String(reason),
      detail: check.ok ? null : check.message,
    })
    this.persistSignState()
    const vote = this.blockVote(Phase.BLOCK_PERMIT, p.round, proposal.hash, reason)
    this.sendToLeader(p.round, vote, now)
  }

  private isLockedOn(hash: string): boolean {
    return this.h.lockedHash === hash
  }

  private setValid(round: number, proposal: Proposal, cert: Certificate, add: Add | null): void {
    this.h.validRound = round
    this.h.validBlock = proposal.block
    this.h.validCert = cert
    this.h.validPrepare = proposal.message
    this.h.validAdd = add
  }

  /** q permits for a block in `round` (Tendermint line 36): valid block; lock and commit-vote if in that round. */
  private onAdd(round: number, hash: string, cert: Certificate, now: number): void {
    const h = this.h
    const proposal = h.blocks.get(hash)
    if (proposal == null) {
      h.adds.set(round, { hash, cert })
      return
    }
    if (!this.checked(proposal).ok) return
    if (round > h.validRound) this.setValid(round, proposal, cert, h.addMessages.get(round) ?? null)
    if (
      !this.isValidator ||
      this.syncing ||
      round !== h.round ||
      h.commitSent.has(round) ||
      !h.permitSent.has(round)
    )
      return
    h.lockedRound = round
    h.lockedHash = hash
    h.commitSent.set(round, hash)
    this.trace('locked; commit vote', { round, block: hash.slice(0, 16) })
    // the lock is on disk before the commit vote leaves
    this.persistSignState()
    this.sendToLeader(
      round,
      this.blockVote(Phase.BLOCK_COMMIT, round, hash, RejectReason.NONE),
      now,
    )
  }

  // ------------------------------------------------------------------ leader: collecting votes

  onVote(vote: Vote, now: number): void {
    const h = this.h
    if (vote.height !== h.height) return
    if (h.leaders.get(vote.round)?.candidate !== this.cfg.self) return
    const voter = peerIdToString(vote.voter)
    if (!this.cfg.validators.has(voter)) return
    this.seenInRound(vote.round, voter, now)
    const key = `${vote.phase}:${vote.round}:${voter}`
    const earlier = h.votesSeen.get(key)
    if (earlier != null) {
      if (earlier.result !== vote.result || !bytesEqual(earlier.subject, vote.subject)) {
        this.keepEvidence('block-vote', voter, vote.round, earlier, vote)
      }
      return // a duplicate counts once
    }
    h.votesSeen.set(key, vote)
    const proposal = h.proposals.get(vote.round)
    if (
      proposal == null ||
      vote.result !== VoteResult.PERMIT ||
      toHex(vote.subject) !== proposal.hash
    )
      return
    const table = vote.phase === Phase.BLOCK_PERMIT ? h.permits : h.commits
    let votes = table.get(vote.round)
    if (votes == null) {
      votes = new Map()
      table.set(vote.round, votes)
    }
    if (votes.has(voter)) return // a duplicate counts once
    votes.set(voter, vote)
    if (votes.size < this.quorum) return
    const cert = certificateFrom([...votes.values()].slice(0, this.quorum))
    if (vote.phase === Phase.BLOCK_PERMIT && !h.addSent.has(vote.round)) {
      h.addSent.add(vote.round)
      const add = signAdd(this.cfg.signer, this.cfg.chainId, {
        height: h.height,
        round: vote.round,
        blockHash: vote.subject,
        permitCert: cert,
      })
      this.out.push({ type: 'publish', topic: 'block-sync', message: { add } })
      h.addMessages.set(vote.round, add)
      this.trace('add: q permits', { round: vote.round, block: proposal.hash.slice(0, 16) })
      this.onAdd(vote.round, proposal.hash, cert, now)
    } else if (vote.phase === Phase.BLOCK_COMMIT && !h.finalSent.has(vote.round)) {
      h.finalSent.add(vote.round)
      this.out.push({
        type: 'publish',
        topic: 'block-sync',
        message: {
          final: { height: h.height, round: vote.round, blockHash: vote.subject, commitCert: cert },
        },
      })
      this.onFinal(vote.round, proposal.hash, cert, null, now)
    }
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
    const proposal = h.blocks.get(hash)
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
    const proposal = this.rememberBlock(block)
    const check = this.checked(proposal)
    if (!check.ok) return refuse(`${check.code}: ${check.message}`)
    this.append(fb, toHex(hash), fb.commitCert!.round, check.execution, now)
    return true
  }

  /** The shell gave up catching up (no peer had the blocks): take part in consensus again. */
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

    // the pool: out go the included txs and registrations, and the txs whose
    // nonce the block used; the rest of our abandoned block_new stays
    const poolDeletes: string[] = []
    const included = new Set<string>()
    block.txs.forEach((tx, index) => {
      const receipt = exec.receipts.txs[index]!
      const txHashHex = toHex(receipt.hash)
      included.add(txHashHex)
      const entry = this.pool.remove(txHashHex)
      if (entry?.status === 'committed') poolDeletes.push(txHashHex)
      const record = this.txLog.touch(txHashHex, now, tx)
      record.block = { height: header.height, index }
      if (receipt.status === ReceiptStatus.OK) this.txLog.advance(record, 'final')
      else {
        record.status = 'failed'
        record.reason = {
          code: receipt.reason,
          message: `failed in block ${header.height}: ${receipt.reason}`,
        }
      }
      this.out.push({
        type: 'tx-status',
        hash: txHashHex,
        status: record.status,
        reason: record.reason,
      })
    })
    const accountDeletes: string[] = []
    for (const [address, reg] of this.pool.pendingAccounts()) {
      if (ledger.account(address) != null || ledger.addressOfUsername(reg.username) != null) {
        this.pool.removeAccount(address)
        accountDeletes.push(address)
      }
    }

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
    })
    this.head = {
      height: header.height,
      hash: fromHex(hash),
      time: header.time,
      stateRoot: exec.stateRoot,
      finalAt: now,
    }
    this.h = this.freshHeight(header.height + 1)
    if (this.syncing && this.head.height + 1 >= this.syncTarget) {
      // within a block of the network: the gossip of the next height carries us from here
      this.syncing = false
      this.trace('caught up; back in consensus', { head: this.head.height })
    }
    this.maybeActivate(now)
  }

  // ------------------------------------------------------------------ helpers

  private trace(msg: string, fields: Record<string, string | number | boolean | null> = {}): void {
    this.out.push({ type: 'trace', msg, fields: { height: this.h.height, ...fields } })
  }

  private keepEvidence(
    kind: BlockEvidence['kind'],
    voter: PeerIdString,
    round: number,
    first: Vote | ElectionVote,
    second: Vote | ElectionVote,
  ): void {
    if (this.evidence.length < MAX_EVIDENCE)
      this.evidence.push({ kind, voter, height: this.h.height, round, first, second })
  }

  private behind(height: number, from: PeerIdString): void {
    if (height <= this.head.height || height <= this.syncTarget) return
    this.syncTarget = height
    const threshold = this.cfg.syncThreshold ?? DEFAULT_SYNC_THRESHOLD
    if (!this.syncing && this.isValidator && height - this.head.height > threshold) {
      // too far behind to vote usefully: catch up first
      this.syncing = true
      this.h.active = false
      this.trace('leaving consensus to catch up', { head: this.head.height, target: height })
    }
    this.out.push({ type: 'sync-needed', height, hint: from })
  }

  /** A peer reports a head above ours. */
  peerHeight(height: number, from: PeerIdString): void {
    this.behind(height, from)
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

  private sendToLeader(round: number, vote: Vote, now: number): void {
    const leader = this.h.leaders.get(round)?.candidate
    if (leader == null) return
    if (leader === this.cfg.self) this.onVote(vote, now)
    else this.out.push({ type: 'send-vote', to: leader, vote })
  }

  private persistSignState(): void {
    const h = this.h
    const r = h.round
    const hex = (s: string | undefined) => (s ? fromHex(s) : undefined)
    const state: SignState = {
      height: h.height,
      round: r,
      electionCandidate: h.electionVote.has(r)
        ? peerIdFromString(h.electionVote.get(r)!)
        : undefined,
      permitSubject: hex(h.permitSent.get(r)),
      commitSubject: hex(h.commitSent.get(r)),
      lockedRound: h.lockedHash ? h.lockedRound : undefined,
      lockedHash: h.lockedHash ? fromHex(h.lockedHash) : undefined,
      validRound: h.validPrepare ? h.validRound : undefined,
      validCert: h.validPrepare ? (h.validCert ?? undefined) : undefined,
      validPrepare: h.validPrepare ?? undefined,
      validAdd: h.validPrepare ? (h.validAdd ?? undefined) : undefined,
    }
    this.out.push({ type: 'persist', ops: [{ op: 'sign-state', state }] })
  }
}
