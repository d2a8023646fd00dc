/**
 * The three-phase vote on each transaction (DESIGN §5), both sides of it.
 *
 * As the round's **target** (the node a client gave the tx to) this keeps the
 * original design's per-tx state — request flag, response count, SignMap —
 * publishes PrePrepare, counts the PRE_PREPARE votes, publishes Prepare with
 * the q permits as its certificate, counts the PREPARE votes, and publishes
 * Commit with that certificate. The tx fails when more than n − q validators
 * reject (a quorum is impossible) or at the round's deadline. A target runs
 * at most its round window of rounds at once (round-window.ts) and queues
 * the other admitted txs, in arrival order, until a round ends: a round's
 * deadline runs from its start, so a burst of txs is worked off instead of
 * timing out all together.
 *
 * As a **validator** it answers each PrePrepare after admission, each Prepare
 * it can back, and on Commit moves the tx to its committed list for a block.
 * Certificates reach this module already verified (consensus/validation.ts).
 */

import { certificateFrom } from '../chain/certificates.js'
import { signPrePrepare, signPrepare, signVote, verifyTx } from '../chain/signatures.js'
import { txHash } from '../chain/tx.js'
import type { ValidatorSet } from '../chain/validator-set.js'
import {
  type Certificate,
  EvidenceKind,
  MAX_TX_BYTES,
  Phase,
  type PrePrepare,
  type Prepare,
  RejectReason,
  type Tx,
  TxCodec,
  type Vote,
  VoteResult,
} from '../codec/index.js'
import { fromHex, toHex } from '../crypto/hash.js'
import type { Signer } from '../crypto/keys.js'
import { type PeerIdString, peerIdFromString, peerIdToString } from '../crypto/peer-id.js'
import type { Mempool } from '../mempool/mempool.js'
import type { Ledger } from '../state/ledger.js'
import { admitTx, senderKey } from './admission.js'
import type { EvidenceBook } from './evidence.js'
import { type Reason, reason } from './reasons.js'
import { RoundWindow, roundWindowOptions } from './round-window.js'
import type { TxLog, VoteView } from './tx-log.js'
import type { ClientResult, CoreAction } from './types.js'

export interface TxRoundsConfig {
  chainId: string
  validators: ValidatorSet
  self: PeerIdString
  signer: Signer
  /** a round without its commit certificate after this long fails */
  txRoundMs: number
  /** admitted txs that may wait for a round at once (beyond: POOL_FULL, 503) */
  maxWaiting?: number
  /** the round window never grows past this */
  maxRounds?: number
}

type RoundPhase = 'pre-prepare' | 'prepare'

/** The target's counting state for one tx: the original request flag, response count and SignMap. */
export interface TargetRound {
  hash: string
  tx: Tx
  phase: RoundPhase
  /** true until the phase's requirement (q permits) is met */
  requestFlag: boolean
  /** answers counted in this phase, one per validator */
  responseCount: number
  /** every answer of this phase, by voter: a second answer is a duplicate */
  responses: Map<PeerIdString, Vote>
  /** permits of this phase, by voter: they become the certificate */
  signMap: Map<PeerIdString, Vote>
  rejects: Map<PeerIdString, RejectReason>
  startedAt: number
  deadline: number
}

export const DEFAULT_MAX_WAITING = 10_000
/** commit certificates whose tx body is being fetched, at most */
export const MAX_AWAITING_BODIES = 10_000
/** tx bodies kept from PrePrepares (signature checked), by count and bytes; oldest go first */
const SEEN_TX_CAPACITY = 20_000
const SEEN_TX_BYTES = 32 * 1024 * 1024

const phaseOf: Record<RoundPhase, Phase> = {
  'pre-prepare': Phase.PRE_PREPARE,
  prepare: Phase.PREPARE,
}

export class TxRounds {
  /** rounds this node is the target of, by tx hash */
  readonly rounds = new Map<string, TargetRound>()
  /** admitted txs waiting for a round, in arrival order */
  readonly waiting = new Map<string, Tx>()
  /** how many rounds run at once */
  readonly window: RoundWindow
  private draining = false
  private readonly maxWaiting: number
  /**
   * tx bodies seen in PrePrepares whose signature checked out, admitted or not, so a later
   * Prepare or Commit can be backed with the very bytes that were verified
   */
  private readonly seen = new Map<string, { tx: Tx; bytes: number }>()
  private seenBytes = 0
  /** commit certificates whose tx body is being fetched */
  private readonly awaitingBody = new Map<string, Certificate>()
  private readonly isValidator: boolean
  private readonly selfId: Uint8Array

  constructor(
    private readonly cfg: TxRoundsConfig,
    private readonly ledger: () => Ledger,
    private readonly pool: Mempool,
    private readonly log: TxLog,
    private readonly evidence: EvidenceBook,
    private readonly out: CoreAction[],
  ) {
    this.isValidator = cfg.validators.has(cfg.self)
    this.selfId = peerIdFromString(cfg.self)
    this.window = new RoundWindow(roundWindowOptions(cfg.txRoundMs, cfg.maxRounds))
    this.maxWaiting = cfg.maxWaiting ?? DEFAULT_MAX_WAITING
  }

  // ------------------------------------------------------------------ target side

  /** A client's tx: admit it, then run its round with this node as the target. */
  submit(requestId: number, tx: Tx, now: number): void {
    const bytes = TxCodec.encode(tx).length
    const hash = toHex(txHash(tx))
    const existing = this.log.get(hash)
    if (
      this.rounds.has(hash) ||
      this.waiting.has(hash) ||
      (existing && existing.status !== 'failed' && existing.status !== 'pending')
    ) {
      // the same tx again: idempotent, answer with what we know
      this.reply(requestId, { ok: true, hash, status: existing?.status ?? 'pending' })
      return
    }
    // a full queue refuses before admission spends a signature check on the tx
    const verdict =
      this.waiting.size >= this.maxWaiting
        ? ({
            ok: false,
            reason: RejectReason.POOL_FULL,
            detail: `${this.waiting.size} txs already wait for a round at this node`,
          } as const)
        : admitTx(
            { chainId: this.cfg.chainId, ledger: this.ledger(), pool: this.pool, now },
            tx,
            hash,
            bytes,
          )
    if (!verdict.ok) {
      const r = reason(verdict.reason, verdict.detail)
      this.reply(requestId, {
        ok: false,
        code: r.code,
        message: r.message,
        httpStatus: verdict.reason === RejectReason.POOL_FULL ? 503 : 400,
      })
      return
    }
    this.pool.add(hash, tx, bytes, now)
    const record = this.log.touch(hash, now, tx)
    record.target = this.cfg.self
    record.votes = { prePrepare: [], prepare: [] }
    this.log.advance(record, 'pending')
    this.reply(requestId, { ok: true, hash, status: 'pending' })
    this.status(hash, 'pending', null)
    this.waiting.set(hash, tx)
    this.drain(now)
  }

  /** Start waiting rounds, oldest first, while the window has room. */
  private drain(now: number): void {
    if (this.draining) return // a round that ended inside start(): the loop below goes on
    this.draining = true
    try {
      for (const [hash, tx] of this.waiting) {
        if (this.rounds.size >= this.window.size) break
        this.waiting.delete(hash)
        // final or committed meanwhile (another target ran it), or dropped from the pool; a
        // record the bounded log let go of while the tx waited is still pending
        const status = this.log.get(hash)?.status ?? 'pending'
        if (status !== 'pending' && status !== 'failed') continue
        if (!this.pool.has(hash)) {
          // nothing takes a waiting tx out of the pool today; should something, the client hears
          const why = { code: 'DROPPED', message: 'left the pool before its round started' }
          if (this.log.advance(this.log.touch(hash, now, tx), 'failed', why))
            this.status(hash, 'failed', why)
          continue
        }
        this.start(hash, tx, now)
      }
    } finally {
      this.draining = false
    }
  }

  /** The round of an admitted tx: publish PrePrepare and count our own vote. */
  private start(hash: string, tx: Tx, now: number): void {
    const round: TargetRound = {
      hash,
      tx,
      phase: 'pre-prepare',
      requestFlag: true,
      responseCount: 0,
      responses: new Map(),
      signMap: new Map(),
      rejects: new Map(),
      startedAt: now,
      deadline: now + this.cfg.txRoundMs,
    }
    this.rounds.set(hash, round)
    this.out.push({
      type: 'publish',
      topic: 'tx',
      message: signPrePrepare(this.cfg.signer, this.cfg.chainId, {
        origin: this.selfId,
        target: this.selfId,
        txHash: fromHex(hash),
        tx,
      }),
    })
    if (this.isValidator)
      this.count(round, this.ownVote(Phase.PRE_PREPARE, hash, RejectReason.NONE), now)
  }

  /** A vote for one of our rounds (signature and voter already checked by the shell). */
  onVote(vote: Vote, now: number): void {
    // a tx vote is for (phase, tx hash) at height 0, round 0, exactly: anything else would put a
    // signature over another statement in our certificate, and every node would refuse it
    if (vote.height !== 0 || vote.round !== 0) return
    const hash = toHex(vote.subject)
    const round = this.rounds.get(hash)
    if (round == null) return // late, or not ours: nothing to count
    if (vote.phase !== phaseOf[round.phase]) return // a vote of a phase this round has left
    this.count(round, vote, now)
  }

  private count(round: TargetRound, vote: Vote, now: number): void {
    const voter = peerIdToString(vote.voter)
    if (!this.cfg.validators.has(voter)) return // only validators count
    const earlier = round.responses.get(voter)
    if (earlier != null) {
      if (earlier.result !== vote.result || earlier.reason !== vote.reason)
        this.evidence.keep(
          voter,
          0,
          0,
          `${vote.phase}:${round.hash}`,
          { kind: EvidenceKind.TX_VOTE, first: earlier, second: vote },
          now,
        )
      return // a duplicate vote counts once
    }
    round.responses.set(voter, vote)
    round.responseCount++
    const view: VoteView =
      vote.result === VoteResult.PERMIT
        ? { voter, result: 'permit', reason: null }
        : { voter, result: 'reject', reason: String(vote.reason) }
    const record = this.log.touch(round.hash, now)
    record.votes[round.phase === 'pre-prepare' ? 'prePrepare' : 'prepare'].push(view)
    if (vote.result === VoteResult.PERMIT) round.signMap.set(voter, vote)
    else round.rejects.set(voter, vote.reason)

    const { quorum, size } = this.cfg.validators
    if (round.requestFlag && round.signMap.size >= quorum) {
      round.requestFlag = false
      this.advance(round, now)
    } else if (round.rejects.size > size - quorum) {
      this.fail(round, this.rejectReason(round), now)
    }
  }

  private advance(round: TargetRound, now: number): void {
    const cert = certificateFrom([...round.signMap.values()].slice(0, this.cfg.validators.quorum))
    if (round.phase === 'pre-prepare') {
      round.phase = 'prepare'
      round.requestFlag = true
      round.responseCount = 0
      round.responses = new Map()
      round.signMap = new Map()
      round.rejects = new Map()
      this.pool.markPrepared(round.hash)
      this.log.advance(this.log.touch(round.hash, now), 'prepared')
      this.status(round.hash, 'prepared', null)
      this.out.push({
        type: 'publish',
        topic: 'prepare',
        message: signPrepare(this.cfg.signer, this.cfg.chainId, {
          target: this.selfId,
          txHash: fromHex(round.hash),
          cert,
        }),
      })
      if (this.isValidator)
        this.count(round, this.ownVote(Phase.PREPARE, round.hash, RejectReason.NONE), now)
      return
    }
    this.rounds.delete(round.hash)
    this.window.onEnd(now - round.startedAt, now)
    this.out.push({
      type: 'publish',
      topic: 'commit',
      message: { txHash: fromHex(round.hash), cert },
    })
    this.commitLocally(round.hash, round.tx, cert, now)
    this.drain(now)
  }

  private rejectReason(round: TargetRound): Reason {
    const tally = new Map<RejectReason, number>()
    for (const r of round.rejects.values()) tally.set(r, (tally.get(r) ?? 0) + 1)
    const [top] = [...tally.entries()].sort((a, b) => b[1] - a[1])
    const { size, quorum } = this.cfg.validators
    return reason(
      top![0],
      `rejected by ${round.rejects.size} of ${size} validators in ${round.phase}; a quorum of ${quorum} is impossible`,
    )
  }

  private fail(round: TargetRound, why: Reason, now: number): void {
    this.rounds.delete(round.hash)
    const entry = this.pool.get(round.hash)
    if (entry && entry.status !== 'committed') this.pool.remove(round.hash)
    const record = this.log.touch(round.hash, now)
    if (this.log.advance(record, 'failed', why)) this.status(round.hash, 'failed', why)
    this.drain(now)
  }

  // ------------------------------------------------------------------ validator side

  onPrePrepare(msg: PrePrepare, now: number): void {
    const hash = toHex(msg.txHash)
    const tx = msg.tx!
    const target = peerIdToString(msg.target)
    if (target === this.cfg.self) return
    const bytes = TxCodec.encode(tx).length
    // admission checks the tx's signature first: only bytes that were verified are kept
    const verdict = admitTx(
      { chainId: this.cfg.chainId, ledger: this.ledger(), pool: this.pool, now },
      tx,
      hash,
      bytes,
    )
    const genuine = verdict.ok ? !verdict.duplicate : verdict.signed
    if (genuine) {
      this.remember(hash, tx, bytes)
      this.log.touch(hash, now, tx).target ??= target
    }
    if (!this.isValidator) return
    if (verdict.ok && !verdict.duplicate) this.pool.add(hash, tx, bytes, now)
    const why = verdict.ok ? RejectReason.NONE : verdict.reason
    this.out.push({
      type: 'send-vote',
      to: target,
      vote: this.ownVote(Phase.PRE_PREPARE, hash, why),
    })
  }

  onPrepare(msg: Prepare, signers: PeerIdString[], now: number): void {
    const hash = toHex(msg.txHash)
    const target = peerIdToString(msg.target)
    if (target === this.cfg.self) return
    const record = this.log.touch(hash, now)
    record.target ??= target
    this.log.certVotes(record, 'prePrepare', signers)
    if (this.log.advance(record, 'prepared')) this.status(hash, 'prepared', null)
    if (!this.isValidator) return
    const tx = this.pool.get(hash)?.tx ?? this.seen.get(hash)?.tx
    if (tx == null) {
      this.out.push({
        type: 'send-vote',
        to: target,
        vote: this.ownVote(Phase.PREPARE, hash, RejectReason.UNKNOWN_TX),
      })
      return
    }
    // q validators hold it: so do we now, even if our own admission said no
    if (!this.pool.has(hash)) this.pool.add(hash, tx, TxCodec.encode(tx).length, now)
    this.pool.markPrepared(hash)
    this.out.push({
      type: 'send-vote',
      to: target,
      vote: this.ownVote(Phase.PREPARE, hash, RejectReason.NONE),
    })
  }

  onCommit(
    hashBytes: Uint8Array,
    cert: Certificate,
    signers: PeerIdString[],
    from: PeerIdString,
    now: number,
  ): void {
    const hash = toHex(hashBytes)
    const record = this.log.touch(hash, now)
    this.log.certVotes(record, 'prepare', signers)
    const tx = this.pool.get(hash)?.tx ?? this.seen.get(hash)?.tx ?? record.tx
    if (tx == null) {
      if (!this.awaitingBody.has(hash)) {
        // bounded: the oldest fetch is given up (its tx still comes in a block from others)
        if (this.awaitingBody.size >= MAX_AWAITING_BODIES) {
          const oldest = this.awaitingBody.keys().next().value
          if (oldest !== undefined) this.awaitingBody.delete(oldest)
        }
        this.awaitingBody.set(hash, cert)
        this.out.push({ type: 'fetch-tx', hash, hint: from })
      }
      return
    }
    this.commitLocally(hash, tx, cert, now)
  }

  /** A tx body we asked for: kept only if its signature checks out (a peer may forge a copy). */
  onTxFetched(tx: Tx, from: PeerIdString, now: number): void {
    const hash = toHex(txHash(tx))
    const cert = this.awaitingBody.get(hash)
    if (cert == null) return
    const key = senderKey(
      { chainId: this.cfg.chainId, ledger: this.ledger(), pool: this.pool, now },
      toHex(tx.from),
    )
    if (key == null || !verifyTx(tx, key.keyType, key.publicKey)) {
      this.out.push({
        type: 'misbehaving',
        peer: from,
        reason: `served a forged copy of tx ${hash}`,
      })
      return
    }
    this.awaitingBody.delete(hash)
    this.commitLocally(hash, tx, cert, now)
  }

  private commitLocally(hash: string, tx: Tx, cert: Certificate, now: number): void {
    if (!this.pool.has(hash))
      this.pool.add(hash, tx, Math.min(TxCodec.encode(tx).length, MAX_TX_BYTES), now)
    if (this.pool.markCommitted(hash, cert) == null) return // already committed here
    this.out.push({ type: 'persist', ops: [{ op: 'pool-put', hash, tx, commitCert: cert }] })
    const record = this.log.touch(hash, now, tx)
    if (this.log.advance(record, 'committed')) this.status(hash, 'committed', null)
  }

  // ------------------------------------------------------------------ time

  /** Fail our rounds past their deadline; forget uncommitted txs whose rounds are long over. */
  tick(now: number): void {
    for (const round of this.rounds.values()) {
      if (round.deadline > now) continue
      const { quorum, size } = this.cfg.validators
      const silent = this.cfg.validators.ids.filter((v) => !round.responses.has(v))
      this.window.onTimeout(now)
      this.fail(
        round,
        {
          code: 'TIMEOUT',
          message: `no commit certificate after ${this.cfg.txRoundMs} ms: ${round.signMap.size} of ${quorum} permits in ${round.phase} (${round.rejects.size} rejects; no answer from ${silent.length} of ${size} validators)`,
        },
        now,
      )
    }
    for (const e of this.pool.stale(now - 2 * this.cfg.txRoundMs)) {
      if (this.rounds.has(e.hash) || this.waiting.has(e.hash)) continue
      this.pool.remove(e.hash)
    }
    this.drain(now)
  }

  // ------------------------------------------------------------------ helpers

  private ownVote(phase: Phase, hash: string, why: RejectReason): Vote {
    return signVote(this.cfg.signer, this.cfg.chainId, {
      phase,
      subject: fromHex(hash),
      height: 0,
      round: 0,
      result: why === RejectReason.NONE ? VoteResult.PERMIT : VoteResult.REJECT,
      reason: why,
      voter: this.selfId,
    })
  }

  private remember(hash: string, tx: Tx, bytes: number): void {
    if (this.seen.has(hash)) return
    this.seen.set(hash, { tx, bytes })
    this.seenBytes += bytes
    while (this.seen.size > SEEN_TX_CAPACITY || this.seenBytes > SEEN_TX_BYTES) {
      const [oldest, entry] = this.seen.entries().next().value!
      this.seen.delete(oldest)
      this.seenBytes -= entry.bytes
    }
  }

  /** How much this node holds for tx rounds (the simulation checks the bounds). */
  sizes(): { seen: number; seenBytes: number; awaitingBody: number } {
    return { seen: this.seen.size, seenBytes: this.seenBytes, awaitingBody: this.awaitingBody.size }
  }

  /** A tx body this node can serve to a peer that lacks it. */
  body(hash: string): Tx | undefined {
    return this.pool.get(hash)?.tx ?? this.seen.get(hash)?.tx ?? this.log.get(hash)?.tx ?? undefined
  }

  private reply(requestId: number, result: ClientResult): void {
    this.out.push({ type: 'client-result', requestId, result })
  }

  private status(
    hash: string,
    status: 'pending' | 'prepared' | 'committed' | 'failed',
    why: Reason | null,
  ): void {
    this.out.push({ type: 'tx-status', hash, status, reason: why })
  }
}
