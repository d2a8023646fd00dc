/**
 * What this node knows of each recent tx: status, reason, target and the
 * votes of each phase (at the target: every answer; elsewhere: the signers of
 * the certificates it saw). Bounded: the oldest records go first.
 */
import type { Tx } from '../codec/index.js'
import type { PeerIdString } from '../crypto/peer-id.js'
import { dropOldest, lowWater, SizedFifo } from '../fifo.js'
import type { Reason } from './reasons.js'
import type { TxStatus } from './types.js'

export interface VoteView {
  voter: PeerIdString
  result: 'permit' | 'reject'
  reason: string | null
}

export interface TxRecord {
  hash: string
  /** the body, until a final block holds it (then the block store serves it) */
  tx: Tx | null
  status: TxStatus
  reason: Reason | null
  target: PeerIdString | null
  /** shared, frozen views (TxLog.view): read them, add with TxLog.addVote */
  votes: { prePrepare: readonly VoteView[]; prepare: readonly VoteView[] }
  /** where it stands in the chain, once final */
  block: { height: number; index: number } | null
}

const RANK: Record<TxStatus, number> = {
  pending: 0,
  prepared: 1,
  committed: 2,
  final: 3,
  failed: 0,
}

/**
 * Records kept, at most; the oldest go first. A record costs about 360 bytes of heap (its hash,
 * status, block and shared vote views; measured in a heap snapshot), so 30,000 are about 11 MB:
 * 15 s of votes at 2,000 tx/s, longer than a tx's round may last (txRoundMs, 10 s by default).
 * An older final tx is still found, without its votes, in the block store (tx index). At 50,000
 * the log was a sixth of a loaded validator's heap (docs/PERFORMANCE.md).
 */
export const TX_LOG_CAPACITY = 30_000
/**
 * Bytes of tx bodies the records hold, at most: beyond, the oldest records give up their body.
 * Only txs not yet in a final block hold one (the block store has the others: `inBlock`).
 */
export const TX_LOG_BODY_BYTES = 32 * 1024 * 1024
/**
 * Distinct vote views shared between records, at most (validators × results × reasons: a few
 * hundred); beyond, the table starts over. A record of a tx that q validators permitted holds
 * the same frozen views, and often the same array of them, as every other such record: 100,000
 * records would otherwise hold 800,000 small objects.
 */
export const MAX_SHARED_VIEWS = 4_096
const NO_VOTES: readonly VoteView[] = Object.freeze([])

export class TxLog {
  private readonly records = new Map<string, TxRecord>()
  /** records that hold a body, oldest first, with its size; a body pushed out leaves its record */
  private readonly bodies: SizedFifo<string, { bytes: number }>
  private readonly views = new Map<string, VoteView>()

  constructor(
    private readonly capacity = TX_LOG_CAPACITY,
    maxBodyBytes = TX_LOG_BODY_BYTES,
  ) {
    this.bodies = new SizedFifo(Number.MAX_SAFE_INTEGER, maxBodyBytes, (hash) => {
      const record = this.records.get(hash)
      if (record != null) record.tx = null
    })
  }

  get(hash: string): TxRecord | undefined {
    return this.records.get(hash)
  }

  /** The record of `hash`, made if new. */
  touch(hash: string, tx: Tx | null = null): TxRecord {
    let r = this.records.get(hash)
    if (r == null) {
      r = {
        hash,
        tx,
        status: 'pending',
        reason: null,
        target: null,
        votes: { prePrepare: NO_VOTES, prepare: NO_VOTES },
        block: null,
      }
      this.records.set(hash, r)
      if (this.records.size > this.capacity) {
        const keep = lowWater(this.capacity)
        dropOldest(
          this.records,
          () => this.records.size > keep,
          (oldest) => this.bodies.delete(oldest),
        )
      }
    }
    if (tx != null && r.tx == null) {
      r.tx = tx
      this.bodies.add(hash, { bytes: tx.data.length + tx.signature.length + 128 })
    }
    return r
  }

  /**
   * Move a record forward; a status never goes back (a late prepare does not
   * undo a commit). Returns true when the status changed.
   */
  advance(r: TxRecord, status: TxStatus, reason: Reason | null = null): boolean {
    if (r.status === status) return false
    if (status !== 'failed' && r.status !== 'failed' && RANK[status] < RANK[r.status]) return false
    if (status === 'failed' && RANK[r.status] >= RANK.committed) return false
    r.status = status
    r.reason = reason
    return true
  }

  /**
   * The chain decided that the tx fails (a failed receipt, or its nonce used by another tx in a
   * final block): unlike `advance`, this fails a committed tx too. A final tx never changes.
   * Returns true when the status changed.
   */
  failByChain(r: TxRecord, reason: Reason): boolean {
    if (r.status === 'final' || r.status === 'failed') return false
    r.status = 'failed'
    r.reason = reason
    return true
  }

  /** The tx is in a final block, which holds its body: the record lets go of its own. */
  inBlock(r: TxRecord, at: { height: number; index: number }): void {
    r.block = at
    r.tx = null
    this.bodies.delete(r.hash)
  }

  /** How many records and body bytes are held (the simulation checks the bounds). */
  sizes(): { records: number; bodyBytes: number } {
    return { records: this.records.size, bodyBytes: this.bodies.bytes }
  }

  /** The shared, frozen view of one vote. */
  view(voter: PeerIdString, result: 'permit' | 'reject', reason: string | null): VoteView {
    const key = `${voter} ${result} ${reason ?? ''}`
    let v = this.views.get(key)
    if (v == null) {
      if (this.views.size >= MAX_SHARED_VIEWS) this.views.clear()
      v = Object.freeze({ voter, result, reason })
      this.views.set(key, v)
    }
    return v
  }

  /** Permits by `voters`, as one frozen array to share between the records of a certificate. */
  permits(voters: readonly PeerIdString[]): readonly VoteView[] {
    return Object.freeze(voters.map((voter) => this.view(voter, 'permit', null)))
  }

  /** One more vote in a phase: a shared (frozen) array is copied first, the record's own grows. */
  addVote(r: TxRecord, phase: 'prePrepare' | 'prepare', view: VoteView): void {
    const votes = r.votes[phase]
    if (Object.isFrozen(votes)) r.votes[phase] = [...votes, view]
    else (votes as VoteView[]).push(view)
  }

  /** Record the voters of a certificate as permits (when this node did not count them itself). */
  certVotes(r: TxRecord, phase: 'prePrepare' | 'prepare', permits: readonly VoteView[]): void {
    if (r.votes[phase].length > 0) return
    r.votes[phase] = permits
  }
}
