/**
 * Equivocation evidence: a validator that signed two different answers to
 * one question (two election votes in a round, two block votes in a phase
 * and round, two answers to one tx question, two proposals in a round). The
 * first answer is the one that counts; the pair is kept as proof, once per
 * question, in a bounded book (the oldest go first), persisted by the shell
 * and served at GET /evidence.
 *
 * Bound: MAX_EVIDENCE records in memory and on disk, one per (kind,
 * offender, height, round, phase); at most one new record per question, so
 * a liar repeating itself adds nothing.
 */
import {
  type BatchVote,
  type ElectionVote,
  type Evidence,
  EvidenceKind,
  type SignedProposal,
  type Vote,
} from '../codec/index.js'
import { type PeerIdString, peerIdFromString } from '../crypto/peer-id.js'
import type { CoreAction } from './types.js'

export const MAX_EVIDENCE = 1_000

export type EvidencePair =
  | { kind: EvidenceKind.BLOCK_VOTE; first: Vote; second: Vote }
  | { kind: EvidenceKind.TX_VOTE; first: BatchVote; second: BatchVote }
  | { kind: EvidenceKind.ELECTION_VOTE; first: ElectionVote; second: ElectionVote }
  | { kind: EvidenceKind.PROPOSAL; first: SignedProposal; second: SignedProposal }

export class EvidenceBook {
  /** newest last; keyed by the question, so one record per question */
  private readonly records = new Map<string, Evidence>()

  constructor(
    private readonly out: CoreAction[],
    private readonly capacity = MAX_EVIDENCE,
  ) {}

  /** Keep a pair (once per question); true when it is new. */
  keep(
    offender: PeerIdString,
    height: number,
    round: number,
    /** what else tells the question apart: a vote's phase, a tx hash */
    question: string,
    pair: EvidencePair,
    now: number,
  ): boolean {
    const key = `${pair.kind}|${offender}|${height}|${round}|${question}`
    if (this.records.has(key)) return false
    const evidence: Evidence = {
      kind: pair.kind,
      offender: peerIdFromString(offender),
      height,
      round,
      seenAt: now,
    }
    if (pair.kind === EvidenceKind.ELECTION_VOTE) {
      evidence.firstElection = pair.first
      evidence.secondElection = pair.second
    } else if (pair.kind === EvidenceKind.PROPOSAL) {
      evidence.firstProposal = pair.first
      evidence.secondProposal = pair.second
    } else if (pair.kind === EvidenceKind.TX_VOTE) {
      evidence.firstBatchVote = pair.first
      evidence.secondBatchVote = pair.second
    } else {
      evidence.firstVote = pair.first
      evidence.secondVote = pair.second
    }
    this.records.set(key, evidence)
    let evict: string | null = null
    if (this.records.size > this.capacity) {
      evict = this.records.keys().next().value ?? null
      if (evict != null) this.records.delete(evict)
    }
    this.out.push({ type: 'persist', ops: [{ op: 'evidence-put', key, evidence, evict }] })
    this.out.push({ type: 'evidence', evidence })
    return true
  }

  /** Put back what the store kept (oldest first). */
  restore(saved: { key: string; evidence: Evidence }[]): void {
    for (const { key, evidence } of saved) this.records.set(key, evidence)
    while (this.records.size > this.capacity) {
      const oldest = this.records.keys().next().value
      if (oldest === undefined) break
      this.records.delete(oldest)
    }
  }

  /** Newest first. */
  list(): Evidence[] {
    return [...this.records.values()].reverse()
  }

  get size(): number {
    return this.records.size
  }
}
