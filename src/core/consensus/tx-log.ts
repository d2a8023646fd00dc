/**
 * What this node knows of each recent tx: status, reason, target and the
 * votes of each phase (at the target: every answer; elsewhere: the signers of
 * the certificates it saw). Bounded: the oldest records go first.
 */
import type { Tx } from '../codec/index.js'
import type { PeerIdString } from '../crypto/peer-id.js'
import type { Reason } from './reasons.js'
import type { TxStatus } from './types.js'

export interface VoteView {
  voter: PeerIdString
  result: 'permit' | 'reject'
  reason: string | null
}

export interface TxRecord {
  hash: string
  tx: Tx | null
  status: TxStatus
  reason: Reason | null
  target: PeerIdString | null
  votes: { prePrepare: VoteView[]; prepare: VoteView[] }
  /** where it stands in the chain, once final */
  block: { height: number; index: number } | null
  updatedAt: number
}

const RANK: Record<TxStatus, number> = {
  pending: 0,
  prepared: 1,
  committed: 2,
  final: 3,
  failed: 0,
}

export class TxLog {
  private readonly records = new Map<string, TxRecord>()

  constructor(private readonly capacity = 100_000) {}

  get(hash: string): TxRecord | undefined {
    return this.records.get(hash)
  }

  /** The record of `hash`, made if new. */
  touch(hash: string, now: number, tx: Tx | null = null): TxRecord {
    let r = this.records.get(hash)
    if (r == null) {
      r = {
        hash,
        tx,
        status: 'pending',
        reason: null,
        target: null,
        votes: { prePrepare: [], prepare: [] },
        block: null,
        updatedAt: now,
      }
      this.records.set(hash, r)
      if (this.records.size > this.capacity) {
        const oldest = this.records.keys().next().value
        if (oldest !== undefined) this.records.delete(oldest)
      }
    }
    if (tx != null && r.tx == null) r.tx = tx
    r.updatedAt = now
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

  /** Record the voters of a certificate as permits (when this node did not count them itself). */
  certVotes(r: TxRecord, phase: 'prePrepare' | 'prepare', voters: PeerIdString[]): void {
    if (r.votes[phase].length > 0) return
    r.votes[phase] = voters.map((voter) => ({ voter, result: 'permit', reason: null }))
  }
}
