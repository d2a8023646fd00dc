/**
 * The target side of the tx rounds (DESIGN §5): the batches of the txs clients gave this node.
 *
 * The target admits each tx and queues it, gathers the waiting txs into a batch — up to
 * `batchTxs` of them, or what came within `batchWaitMs` of the first — and runs one round per
 * batch: it publishes the signed TxBatch, counts the validators' PRE_PREPARE batch votes,
 * publishes BatchPrepare with those votes as the certificate, counts the PREPARE batch votes,
 * and publishes BatchCommit. The counting is the original design's, per tx — request flag,
 * response count, SignMap — so a tx that q validators permit goes on while a tx rejected in the
 * same batch fails alone, with its reason. A phase ends when every tx in it is decided (q
 * permits, or more than n − q rejects), or shortly after q validators answered (the grace: twice
 * the time the quorum took, at least MIN_GRACE_MS); the round fails what is not committed by its
 * deadline, `txRoundMs` after it started. A target runs a window of batches at once
 * (round-window.ts) and queues the other admitted txs, in arrival order; it takes in hand only
 * what it can end in time (admission-gauge.ts) and refuses the rest at once, with a retry time.
 *
 * The batches it sends, and the txs it commits, go into the tables it shares with the validator
 * side (tx-rounds.ts), through TargetHost.
 */

import { batchHashOf, batchHeader, signBatchVote, signTxBatch } from '../chain/signatures.js'
import { txHashHex, txSize } from '../chain/tx.js'
import {
  type BatchCertificate,
  type BatchVote,
  EvidenceKind,
  MAX_BATCH_TXS,
  MAX_TX_BATCH_BYTES,
  Phase,
  RejectReason,
  rejectReasonFromWire,
  rejectReasonToWire,
  type Tx,
  type TxBatch,
} from '../codec/index.js'
import { fromHex, toHex } from '../crypto/hash.js'
import { type PeerIdString, peerIdFromString, peerIdToString } from '../crypto/peer-id.js'
import type { Mempool } from '../mempool/mempool.js'
import type { Ledger } from '../state/ledger.js'
import { admitTx } from './admission.js'
import { AdmissionGauge } from './admission-gauge.js'
import type { EvidenceBook } from './evidence.js'
import { type Reason, reason, reasonCode } from './reasons.js'
import { RoundWindow, type RoundWindowOptions } from './round-window.js'
import type { TxLog, VoteView } from './tx-log.js'
import type { TxRoundsConfig } from './tx-rounds.js'
import type { ClientResult, CoreAction } from './types.js'

export const DEFAULT_MAX_WAITING = 10_000
export const DEFAULT_BATCH_TXS = 512
/**
 * 25 ms: 125 ms while busy. Measured at 2,000 tx/s on four validators (alternated 30 s runs), 10
 * ms made batches of 43 txs on average and p50 1.4–2.1 s; 25 ms 68–85 txs, 4 % less CPU per tx
 * and p50 0.8–1.2 s. At 200 tx/s the p50 fell too (10 ms: 251–264 ms; 25 ms: 221–238 ms): a batch
 * costs every validator the same votes, certificates and messages whatever it holds.
 */
export const DEFAULT_BATCH_WAIT_MS = 25
/**
 * How much longer a partial batch waits while its target is busy (see drain): while rounds of
 * its target run, or while its rate is such that the longer wait gathers BUSY_GATHER_TXS txs.
 */
export const BUSY_WAIT_FACTOR = 5
/**
 * The longer wait pays once it gathers this many txs at the target's rate (admission-gauge.ts,
 * the txs its rounds committed over the last 10 s): at 200 tx/s over four targets, batches of two
 * txs became batches of six, and each validator spent a quarter less CPU (docs/PERFORMANCE.md);
 * at 20 tx/s a lone tx still goes after `batchWaitMs`.
 */
export const BUSY_GATHER_TXS = 2
/** batches a target runs at once, at most (the window grows to it under load) */
export const DEFAULT_MAX_BATCHES = 64
/** a phase goes on at least this long after its quorum answered, for the rest to answer */
export const MIN_GRACE_MS = 20
/**
 * ... and at least this share of `txRoundMs` (1 s at the default 10 s). The grace holds a phase
 * only while a tx of the batch lacks q permits once q validators answered: some validator
 * rejected it, honest (its own view) or Byzantine (a lie), and the permit that decides it may
 * come from an honest validator slowed by load. When that vote comes the phase ends at once, so
 * the wait costs nothing then; ending the phase before it would fail a tx the honest validators
 * permit. Under a Byzantine validator that rejects every tx, on a loaded machine, twice the
 * quorum's time (tens of ms) was too short for the slowest honest validator: clients saw their
 * txs fail with the liar's reason (docs/RELIABILITY.md).
 */
export const GRACE_SHARE = 0.1

/**
 * Committed txs in the pool (every target's) beyond which a node takes no new client tx: two
 * blocks' worth (block-rounds.ts PROPOSAL_TXS), one for the block in its round and one ready for
 * the next, so what it takes becomes final soon. 10,000 (five blocks) kept blocks no fuller and
 * only made each tx wait longer: p50 submit → final 8.1–9.8 s against 5.5–5.7 s at 2,000 tx/s
 * offered (docs/PERFORMANCE.md).
 */
export const MAX_COMMITTED_BACKLOG = 4_000

/**
 * When a client refused for that backlog should try again, in ms: about one block round under
 * load (blocks of 2,000 txs, PROPOSAL_TXS, became final every 0.5–0.7 s at saturation on four
 * validators, docs/PERFORMANCE.md), by when half the backlog has gone into a block.
 */
export const BACKLOG_RETRY_AFTER_MS = 500

/**
 * The share of the tx deadline (txRoundMs) a target's txs in hand may take at its measured rate
 * (admission-gauge.ts): a tenth, 1 s by default. Each tx in hand waits up to that long before its
 * round starts, so this is latency a client pays in the queue; the round window needs only about
 * one round's worth in hand to stay full. Half (5 s) let each tx wait 5 s under overload; a fifth
 * (2 s) gave p50 1.86–1.97 s at 2,000 tx/s offered, a tenth 1.59–1.81 s at the same throughput
 * (docs/PERFORMANCE.md).
 */
export const ADMISSION_HORIZON = 1 / 10

/** full batches a target takes in hand before any of its rounds committed (admission-gauge.ts) */
export const ADMISSION_FLOOR_BATCHES = 2

/** batches a target runs at once before any has ended */
export const INITIAL_BATCH_WINDOW = 8

/** The window of batches: a few at first, growing to DEFAULT_MAX_BATCHES under load. */
function batchWindowOptions(
  txRoundMs: number,
  maxRounds = DEFAULT_MAX_BATCHES,
): RoundWindowOptions {
  return {
    initial: Math.min(INITIAL_BATCH_WINDOW, maxRounds),
    min: Math.min(2, maxRounds),
    max: maxRounds,
    lateMs: txRoundMs / 3,
    coolDownMs: txRoundMs / 4,
  }
}

type RoundPhase = 'pre-prepare' | 'prepare'

const phaseOf: Record<RoundPhase, Phase> = {
  'pre-prepare': Phase.PRE_PREPARE,
  prepare: Phase.PREPARE,
}

/** The original counting state of one tx in a phase: request flag, response count, SignMap. */
export interface TxCount {
  /** true until the phase's requirement (q permits) is met */
  requestFlag: boolean
  /** answers counted in this phase, one per validator */
  responseCount: number
  /** the validators that permit it in this phase */
  signMap: Set<PeerIdString>
  rejects: Map<PeerIdString, RejectReason>
  /** still in the round (not failed) */
  live: boolean
}

/** A batch this node is the target of. */
export interface TargetRound {
  hash: string
  batch: TxBatch
  txHashes: string[]
  phase: RoundPhase
  /** the batch votes of this phase, by voter */
  votes: Map<PeerIdString, BatchVote>
  txs: TxCount[]
  startedAt: number
  phaseStartedAt: number
  /** when q validators had answered this phase */
  quorumAt: number | null
  deadline: number
}

/**
 * The rejects of every count until its first (most txs have none): shared, never written to; a
 * count takes a map of its own with its first reject.
 */
const NO_REJECTS: Map<PeerIdString, RejectReason> = new Map()

function freshCount(live: boolean): TxCount {
  return { requestFlag: true, responseCount: 0, signMap: new Set(), rejects: NO_REJECTS, live }
}

/** What the target side needs of the tables it shares with the validator side (tx-rounds.ts). */
export interface TargetHost {
  /** keep a batch this node sent: to serve it, and to read certificates of it by index */
  keepBatch(hash: string, txHashes: string[], batch: TxBatch): void
  /** the batch's round ended: keep only its tx hashes */
  settle(hash: string): void
  /** a tx q validators prepared goes to the pool's committed list, for a block (`batch`: its hash) */
  commitLocally(hash: string, tx: Tx, batch: Uint8Array, now: number): void
}

export class TargetRounds {
  /** batches this node is the target of, by batch hash */
  readonly rounds = new Map<string, TargetRound>()
  /** admitted txs waiting for a batch, in arrival order */
  readonly waiting = new Map<string, { tx: Tx; at: number; bytes: number }>()
  /** how many batches run at once */
  readonly window: RoundWindow
  private draining = false
  private flushAt: number | null = null
  private seq = 0
  private readonly maxWaiting: number
  /** how many txs this target may hold (queued or in a round), by how fast its rounds end */
  private readonly gauge: AdmissionGauge
  /** txs in this target's running rounds */
  private inRoundTxs = 0
  private readonly batchTxs: number
  private readonly batchWaitMs: number
  private readonly isValidator: boolean
  private readonly selfId: Uint8Array

  constructor(
    private readonly cfg: TxRoundsConfig,
    private readonly ledger: () => Ledger,
    private readonly pool: Mempool,
    private readonly log: TxLog,
    private readonly evidence: EvidenceBook,
    private readonly out: CoreAction[],
    private readonly host: TargetHost,
  ) {
    this.isValidator = cfg.validators.has(cfg.self)
    this.selfId = peerIdFromString(cfg.self)
    this.window = new RoundWindow(batchWindowOptions(cfg.txRoundMs, cfg.maxRounds))
    this.maxWaiting = cfg.maxWaiting ?? DEFAULT_MAX_WAITING
    this.batchTxs = Math.min(MAX_BATCH_TXS, cfg.batchTxs ?? DEFAULT_BATCH_TXS)
    this.batchWaitMs = cfg.batchWaitMs ?? DEFAULT_BATCH_WAIT_MS
    this.gauge = new AdmissionGauge({
      floor: ADMISSION_FLOOR_BATCHES * this.batchTxs,
      max: this.maxWaiting + (cfg.maxRounds ?? DEFAULT_MAX_BATCHES) * this.batchTxs,
      horizonMs: cfg.txRoundMs * ADMISSION_HORIZON,
    })
  }

  /**
   * How many more client txs this node takes now: none while its committed txs wait for blocks
   * beyond a few blocks' worth; else what is left of its queue and of what it ends within its
   * horizon at its rate. The API asks before it reads a request's txs, so what a node would refuse
   * under overload costs no parse, no hash.
   */
  room(now: number): number {
    if (this.pool.sizes().committed >= MAX_COMMITTED_BACKLOG) return 0
    const inHand = this.waiting.size + this.inRoundTxs
    return Math.max(
      0,
      Math.min(this.maxWaiting - this.waiting.size, this.gauge.capacity(now) - inHand),
    )
  }

  /** When a client refused now, after this node took `taking` more txs, should try again (ms). */
  retryAfterMs(now: number, taking = 0): number {
    return this.gauge.retryAfterMs(now, this.waiting.size + taking + this.inRoundTxs)
  }

  /**
   * Why this node would take no new tx once it took `taking` more (POOL_FULL, 503, with when to
   * try again), or null while it has room: its queue is full, or its committed txs wait for
   * blocks, or it holds as many txs as it ends within its horizon at its rate.
   */
  refusal(now: number, taking = 0): Extract<ClientResult, { ok: false }> | null {
    const waiting = this.waiting.size + taking
    const inHand = waiting + this.inRoundTxs
    if (waiting >= this.maxWaiting) {
      return {
        ok: false,
        code: 'POOL_FULL',
        message: `${waiting} txs already wait for a round at this node`,
        httpStatus: 503,
        retryAfterMs: this.gauge.retryAfterMs(now, inHand),
      }
    }
    // committed txs wait for blocks: beyond a few blocks' worth, a new tx would wait too long
    const backlog = this.pool.sizes().committed
    if (backlog >= MAX_COMMITTED_BACKLOG) {
      return {
        ok: false,
        code: 'POOL_FULL',
        message: `${backlog} committed txs already wait for a block; try again later`,
        httpStatus: 503,
        retryAfterMs: BACKLOG_RETRY_AFTER_MS,
      }
    }
    if (inHand >= this.gauge.capacity(now)) {
      const rate = Math.round(this.gauge.rate(now))
      return {
        ok: false,
        code: 'POOL_FULL',
        message: `this node holds ${inHand} txs for rounds, as many as it ends in ${(this.cfg.txRoundMs * ADMISSION_HORIZON) / 1000} s at its rate (${rate} tx/s); try again later, or another node`,
        httpStatus: 503,
        retryAfterMs: this.gauge.retryAfterMs(now, inHand),
      }
    }
    return null
  }

  /** A client's tx: admit it, then run it in a batch with this node as the target. */
  submit(requestId: number, tx: Tx, now: number): void {
    const bytes = txSize(tx)
    const hash = txHashHex(tx)
    const existing = this.log.get(hash)
    const ours = existing?.target === this.cfg.self && this.pool.has(hash)
    if (
      this.waiting.has(hash) ||
      existing?.status === 'committed' ||
      existing?.status === 'final' ||
      ((existing?.status === 'pending' || existing?.status === 'prepared') && ours)
    ) {
      // the same tx again, and this node drives it (or the chain has it): idempotent, answer
      // with what we know. A tx another target's round left here pending or prepared is not
      // driven by this node (that target may be down, and nobody would end its round): it is
      // taken as ours below, and runs again
      this.reply(requestId, { ok: true, hash, status: existing?.status ?? 'pending' })
      return
    }
    // a full queue, or more in hand than this node can end in time, refuses before admission
    // spends a signature check on the tx: the client is told at once, and when to try again
    const full = this.refusal(now)
    if (full != null) {
      this.reply(requestId, full)
      return
    }
    const verdict = admitTx(
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
    const record = this.log.touch(hash, tx)
    // another target's round got it prepared here: it stays so while ours runs
    const prepared = record.status === 'prepared'
    record.target = this.cfg.self
    record.votes = { prePrepare: [], prepare: [] }
    this.log.advance(record, 'pending')
    this.reply(requestId, { ok: true, hash, status: prepared ? 'prepared' : 'pending' })
    if (!prepared) this.status(hash, 'pending', null)
    this.waiting.set(hash, { tx, at: now, bytes })
    this.drain(now)
  }

  /**
   * Start batches of waiting txs, oldest first, while the window has room: a full batch at
   * once, a partial one when its oldest tx has waited `batchWaitMs` — or BUSY_WAIT_FACTOR times
   * that while the target is busy: rounds of ours are running, or our rate would bring
   * BUSY_GATHER_TXS more txs in that time. A batch costs every validator the same votes,
   * certificates and messages whatever it holds, so under load txs gather into fewer, fuller
   * batches, and a quiet target still sends a lone tx soon.
   */
  drain(now: number): void {
    if (this.draining) return // a round that ended inside start(): the loop below goes on
    this.draining = true
    const busyWait = this.batchWaitMs * BUSY_WAIT_FACTOR
    try {
      while (this.rounds.size < this.window.size && this.waiting.size > 0) {
        const oldest = this.waiting.values().next().value!
        const busy =
          this.rounds.size > 0 || (this.gauge.rate(now) * busyWait) / 1_000 >= BUSY_GATHER_TXS
        const wait = busy ? busyWait : this.batchWaitMs
        if (this.waiting.size < this.batchTxs && now < oldest.at + wait) {
          const at = oldest.at + wait
          if (this.flushAt == null || this.flushAt > at) {
            this.flushAt = at
            this.out.push({ type: 'set-timer', key: 'tx-batch', at })
          }
          break
        }
        this.startBatch(now)
      }
    } finally {
      this.draining = false
    }
  }

  /** The batch timer fired: start what has waited long enough. */
  onTimer(key: string, now: number): void {
    if (key === 'tx-batch') {
      this.flushAt = null
      this.drain(now)
      return
    }
    // 'tx-grace:<batch>': the phase's quorum answered a while ago; go on without the rest
    const round = this.rounds.get(key.slice('tx-grace:'.length))
    if (round != null && round.quorumAt != null) this.advance(round, now)
  }

  /** Take up to batchTxs waiting txs (and at most MAX_TX_BATCH_BYTES) into one batch round. */
  private startBatch(now: number): void {
    const txs: Tx[] = []
    const hashes: string[] = []
    let bytes = 256
    for (const [hash, w] of this.waiting) {
      if (txs.length >= this.batchTxs || bytes + w.bytes + 8 > MAX_TX_BATCH_BYTES) break
      this.waiting.delete(hash)
      // final or committed meanwhile (another target ran it), or dropped from the pool; a
      // record the bounded log let go of while the tx waited is still pending. Prepared by
      // another target's round is not enough: that round may never end
      const status = this.log.get(hash)?.status ?? 'pending'
      if (status === 'committed' || status === 'final') continue
      if (!this.pool.has(hash)) {
        const why = { code: 'DROPPED', message: 'left the pool before its round started' }
        if (this.log.advance(this.log.touch(hash, w.tx), 'failed', why))
          this.status(hash, 'failed', why)
        continue
      }
      txs.push(w.tx)
      hashes.push(hash)
      bytes += w.bytes + 8
    }
    if (txs.length === 0) return
    const header = batchHeader(this.selfId, ++this.seq, txs)
    const batch = signTxBatch(this.cfg.signer, this.cfg.chainId, header, txs)
    const hash = toHex(batchHashOf(header))
    const round: TargetRound = {
      hash,
      batch,
      txHashes: hashes,
      phase: 'pre-prepare',
      votes: new Map(),
      txs: txs.map(() => freshCount(true)),
      startedAt: now,
      phaseStartedAt: now,
      quorumAt: null,
      deadline: now + this.cfg.txRoundMs,
    }
    this.rounds.set(hash, round)
    this.inRoundTxs += txs.length
    this.host.keepBatch(hash, hashes, batch)
    this.out.push({ type: 'publish', topic: 'tx', message: batch })
    this.trace('tx batch', { batch: hash.slice(0, 12), txs: txs.length })
    if (this.isValidator)
      this.count(round, this.ownVote(Phase.PRE_PREPARE, hash, txs.length, []), now)
  }

  /** A batch vote for one of our rounds (signature and voter already checked by the shell). */
  onBatchVote(vote: BatchVote, now: number): void {
    const round = this.rounds.get(toHex(vote.batch))
    if (round == null) return // late, or not ours: nothing to count
    if (vote.phase !== phaseOf[round.phase]) return // a vote of a phase this round has left
    if (vote.count !== round.txs.length) return // about another batch of that name: never counted
    this.count(round, vote, now)
  }

  private count(round: TargetRound, vote: BatchVote, now: number): void {
    const voter = peerIdToString(vote.voter)
    if (!this.cfg.validators.has(voter)) return // only validators count
    const earlier = round.votes.get(voter)
    if (earlier != null) {
      if (!sameAnswer(earlier, vote))
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
    round.votes.set(voter, vote)
    const { quorum, size } = this.cfg.validators
    const rejected = new Map<number, RejectReason>()
    for (const [k, index] of vote.rejected.entries())
      rejected.set(index, rejectReasonFromWire(vote.reasons[k]!) ?? RejectReason.MALFORMED)
    const field = round.phase === 'pre-prepare' ? 'prePrepare' : 'prepare'
    const permit = this.log.view(voter, 'permit', null)
    round.txs.forEach((t, i) => {
      if (!t.live) return
      t.responseCount++
      const why = rejected.get(i)
      const view: VoteView = why == null ? permit : this.log.view(voter, 'reject', String(why))
      this.log.addVote(this.log.touch(round.txHashes[i]!), field, view)
      if (why == null) t.signMap.add(voter)
      else {
        if (t.rejects === NO_REJECTS) t.rejects = new Map()
        t.rejects.set(voter, why)
      }
      if (t.requestFlag && t.signMap.size >= quorum) t.requestFlag = false
    })
    if (round.quorumAt == null && round.votes.size >= quorum) {
      round.quorumAt = now
      const grace = Math.max(
        MIN_GRACE_MS,
        GRACE_SHARE * this.cfg.txRoundMs,
        2 * (now - round.phaseStartedAt),
      )
      this.out.push({ type: 'set-timer', key: `tx-grace:${round.hash}`, at: now + grace })
    }
    // every tx decided: q permits, or a quorum impossible
    const decided = round.txs.every(
      (t) => !t.live || !t.requestFlag || t.rejects.size > size - quorum,
    )
    if (decided) this.advance(round, now)
  }

  /** The phase ends: certified txs go on, the rest fail with their reason. */
  private advance(round: TargetRound, now: number): void {
    const { quorum, size } = this.cfg.validators
    const certified: boolean[] = []
    round.txs.forEach((t, i) => {
      const ok = t.live && !t.requestFlag
      certified.push(ok)
      if (t.live && !ok) {
        t.live = false
        this.failTx(round.txHashes[i]!, this.rejectReason(t, round.phase, quorum, size))
      }
    })
    const cert: BatchCertificate = {
      phase: phaseOf[round.phase],
      batch: fromHex(round.hash),
      count: round.txs.length,
      votes: [...round.votes.values()],
    }
    if (!certified.some(Boolean)) {
      this.endRound(round, now)
      return
    }
    if (round.phase === 'pre-prepare') {
      round.phase = 'prepare'
      round.votes = new Map()
      round.quorumAt = null
      round.phaseStartedAt = now
      round.txs = round.txs.map((t) => freshCount(t.live))
      round.txHashes.forEach((h, i) => {
        if (!certified[i]) return
        this.pool.markPrepared(h)
        if (this.log.advance(this.log.touch(h), 'prepared')) this.status(h, 'prepared', null)
      })
      this.out.push({
        type: 'publish',
        topic: 'prepare',
        message: { target: this.selfId, batch: fromHex(round.hash), cert },
      })
      if (this.isValidator) {
        const notPrepared = certified.flatMap((ok, i) => (ok ? [] : [i]))
        this.count(
          round,
          this.ownVote(
            Phase.PREPARE,
            round.hash,
            round.txs.length,
            notPrepared,
            RejectReason.NOT_PREPARED,
          ),
          now,
        )
      }
      return
    }
    // PREPARE: the certified txs are committed
    this.out.push({
      type: 'publish',
      topic: 'commit',
      message: { batch: fromHex(round.hash), cert },
    })
    let committed = 0
    round.txHashes.forEach((h, i) => {
      if (!certified[i]) return
      this.host.commitLocally(h, round.batch.txs[i]!, cert.batch, now)
      committed++
    })
    this.window.onEnd(now - round.startedAt, now)
    this.endRound(round, now, committed)
  }

  /** A round is over; `committed` of its txs made it (only those count toward the rate). */
  private endRound(round: TargetRound, now: number, committed = 0): void {
    this.rounds.delete(round.hash)
    this.host.settle(round.hash)
    this.inRoundTxs -= round.txs.length
    this.gauge.ended(now, committed)
    this.drain(now)
  }

  /**
   * Why a tx short of q permits failed. A reject reason is believed only when more than f
   * validators gave it, so at least one honest validator said so; fewer rejects may all be one
   * Byzantine validator's lie (a NONCE_USED for a tx whose nonce is free would send its client
   * away), so the tx fails NO_QUORUM: too few permits in time, and the client may send it again.
   */
  private rejectReason(t: TxCount, phase: RoundPhase, quorum: number, size: number): Reason {
    const permits = `${t.signMap.size} of ${quorum} permits in ${phase}`
    if (t.rejects.size === 0)
      return {
        code: 'NO_QUORUM',
        message: `${permits}, no rejects; the others did not answer in time`,
      }
    const tally = new Map<RejectReason, number>()
    for (const r of t.rejects.values()) tally.set(r, (tally.get(r) ?? 0) + 1)
    const [top] = [...tally.entries()].sort((a, b) => b[1] - a[1])
    const given = [...tally.entries()].map(([r, n]) => `${n} ${reasonCode(r)}`).join(', ')
    const rejected = `${permits}; rejected by ${t.rejects.size} of ${size} validators (${given})`
    const believed = size - quorum + 1 // f + 1
    if (top![1] >= believed) return { ...reason(top![0], rejected), rejectedBy: top![1] }
    return {
      code: 'NO_QUORUM',
      message: `${rejected}, no reason given by f + 1 = ${believed} of them, which would make it sure; ${t.rejects.size >= believed ? 'q permits can no longer come' : 'the others did not answer in time'}`,
    }
  }

  private failTx(hash: string, why: Reason): void {
    const entry = this.pool.get(hash)
    if (entry && entry.status !== 'committed') this.pool.remove(hash)
    const record = this.log.touch(hash)
    if (this.log.advance(record, 'failed', why)) this.status(hash, 'failed', why)
  }

  /** Fail the rounds past their deadline. */
  expire(now: number): void {
    for (const round of [...this.rounds.values()]) {
      if (round.deadline > now) continue
      const { quorum, size } = this.cfg.validators
      const silent = this.cfg.validators.ids.filter((v) => !round.votes.has(v))
      this.window.onTimeout(now)
      round.txs.forEach((t, i) => {
        if (!t.live) return
        t.live = false
        this.failTx(round.txHashes[i]!, {
          code: 'TIMEOUT',
          message: `no commit certificate after ${this.cfg.txRoundMs} ms: ${t.signMap.size} of ${quorum} permits in ${round.phase} (${t.rejects.size} rejects; no answer from ${silent.length} of ${size} validators)`,
        })
      })
      this.endRound(round, now)
    }
  }

  /** Does this target hold the tx: waiting for a batch, or in one of its rounds? */
  holds(hash: string): boolean {
    if (this.waiting.has(hash)) return true
    for (const r of this.rounds.values()) if (r.txHashes.includes(hash)) return true
    return false
  }

  private ownVote(
    phase: Phase,
    batch: string,
    count: number,
    rejected: number[],
    why = RejectReason.NONE,
  ): BatchVote {
    return signBatchVote(this.cfg.signer, this.cfg.chainId, {
      phase,
      batch: fromHex(batch),
      count,
      rejected,
      reasons: rejected.map(() => rejectReasonToWire(why)),
      voter: this.selfId,
    })
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

  private trace(msg: string, fields: Record<string, string | number | boolean | null>): void {
    this.out.push({ type: 'trace', msg, fields })
  }
}

/** Two batch votes give the same answer: the same txs rejected, for the same reasons. */
function sameAnswer(a: BatchVote, b: BatchVote): boolean {
  if (a.rejected.length !== b.rejected.length) return false
  for (let i = 0; i < a.rejected.length; i++)
    if (a.rejected[i] !== b.rejected[i] || a.reasons[i] !== b.reasons[i]) return false
  return true
}
