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

/** Records kept, at most; the oldest go first. */
export const TX_LOG_CAPACITY = 100_000
/** Bytes of tx bodies the records hold, at most: beyond, the oldest records give up their body. */
export const TX_LOG_BODY_BYTES = 64 * 1024 * 1024

export class TxLog {
  private readonly records = new Map<string, TxRecord>()
  /** records that hold a body, oldest first, with its size */
  private readonly bodies = new Map<string, number>()
  private bodyBytes = 0

  constructor(
    private readonly capacity = TX_LOG_CAPACITY,
    private readonly maxBodyBytes = TX_LOG_BODY_BYTES,
  ) {}

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
        if (oldest !== undefined) {
          this.records.delete(oldest)
          this.dropBody(oldest)
        }
      }
    }
    if (tx != null && r.tx == null) {
      r.tx = tx
      const bytes = tx.data.length + tx.signature.length + 128
      this.bodies.set(hash, bytes)
      this.bodyBytes += bytes
      while (this.bodyBytes > this.maxBodyBytes) {
        const oldest = this.bodies.keys().next().value
        if (oldest === undefined) break
        const record = this.records.get(oldest)
        if (record != null) record.tx = null
        this.dropBody(oldest)
      }
    }
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

  private dropBody(hash: string): void {
    const bytes = this.bodies.get(hash)
    if (bytes === undefined) return
    this.bodies.delete(hash)
    this.bodyBytes -= bytes
  }

  /** How many records and body bytes are held (the simulation checks the bounds). */
  sizes(): { records: number; bodyBytes: number } {
    return { records: this.records.size, bodyBytes: this.bodyBytes }
  }

  /** Record the voters of a certificate as permits (when this node did not count them itself). */
  certVotes(r: TxRecord, phase: 'prePrepare' | 'prepare', voters: PeerIdString[]): void {
    if (r.votes[phase].length > 0) return
    r.votes[phase] = voters.map((voter) => ({ voter, result: 'permit', reason: null }))
  }
}
