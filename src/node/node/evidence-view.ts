/**
 * Equivocation evidence as JSON (GET /evidence, `bftchain evidence`): each
 * record with both signed messages in full — hashes and signatures in hex,
 * peer ids in their text form, enum values by their protobuf names — so
 * anyone holding the validator set can re-encode each message (protobuf,
 * signature field empty, see messages.proto) and check its signature.
 */
import {
  type BatchVote,
  type ElectionVote,
  type Evidence,
  EvidenceKind,
  RejectReason,
  rejectReasonFromWire,
  type SignedProposal,
  type Vote,
} from '../../core/codec/index.js'
import { toHex } from '../../core/crypto/hash.js'
import { type PeerIdString, peerIdToString } from '../../core/crypto/peer-id.js'

export type EvidenceKindName = 'election-vote' | 'block-vote' | 'tx-vote' | 'proposal'

const KIND_NAMES: Record<EvidenceKind, EvidenceKindName | null> = {
  [EvidenceKind.EVIDENCE_UNSPECIFIED]: null,
  [EvidenceKind.ELECTION_VOTE]: 'election-vote',
  [EvidenceKind.BLOCK_VOTE]: 'block-vote',
  [EvidenceKind.TX_VOTE]: 'tx-vote',
  [EvidenceKind.PROPOSAL]: 'proposal',
}

/** The kind's name in the API, the CLI and the metrics' `kind` label. */
export function evidenceKindName(kind: EvidenceKind): EvidenceKindName {
  const name = KIND_NAMES[kind]
  // the codec refuses an unspecified kind, on the wire and on disk
  if (name == null) throw new RangeError(`evidence of no kind (${kind})`)
  return name
}

/** A block vote (subject: block hash, '' for nil) or a tx vote (subject: tx hash). */
export interface VoteJson {
  phase: string
  subject: string
  height: number
  round: number
  result: string
  reason: string
  voter: PeerIdString
  signature: string
}

export interface ElectionVoteJson {
  height: number
  round: number
  candidate: PeerIdString
  voter: PeerIdString
  signature: string
}

/** A proposal statement and the leader's signature over it (the leader is the offender). */
export interface ProposalJson {
  height: number
  round: number
  blockHash: string
  validRound: number | null
  signature: string
}

/**
 * A tx vote: one validator's answer to a whole batch in one phase, a permit for every tx but the
 * `rejected` indexes, each with its reason (by name).
 */
export interface BatchVoteJson {
  phase: string
  batch: string
  count: number
  rejected: number[]
  reasons: string[]
  voter: PeerIdString
  signature: string
}

export type SignedMessageJson = VoteJson | ElectionVoteJson | ProposalJson | BatchVoteJson

export interface EvidenceJson {
  kind: EvidenceKindName
  offender: PeerIdString
  height: number
  round: number
  /** when this node saw the second message, ISO 8601 */
  seenAt: string
  first: SignedMessageJson
  second: SignedMessageJson
}

export function voteToJson(v: Vote): VoteJson {
  return {
    phase: v.phase,
    subject: toHex(v.subject),
    height: v.height,
    round: v.round,
    result: v.result,
    reason: v.reason,
    voter: peerIdToString(v.voter),
    signature: toHex(v.signature),
  }
}

export function batchVoteToJson(v: BatchVote): BatchVoteJson {
  return {
    phase: v.phase,
    batch: toHex(v.batch),
    count: v.count,
    rejected: [...v.rejected],
    // the codec let only known reasons in
    reasons: v.reasons.map((r) => rejectReasonFromWire(r) ?? RejectReason.MALFORMED),
    voter: peerIdToString(v.voter),
    signature: toHex(v.signature),
  }
}

export function electionVoteToJson(v: ElectionVote): ElectionVoteJson {
  return {
    height: v.height,
    round: v.round,
    candidate: peerIdToString(v.candidate),
    voter: peerIdToString(v.voter),
    signature: toHex(v.signature),
  }
}

export function proposalToJson(p: SignedProposal): ProposalJson {
  const s = p.statement!
  return {
    height: s.height,
    round: s.round,
    blockHash: toHex(s.blockHash),
    validRound: s.validRound ?? null,
    signature: toHex(p.signature),
  }
}

export function evidenceToJson(e: Evidence): EvidenceJson {
  const kind = evidenceKindName(e.kind)
  const pair = (): [SignedMessageJson, SignedMessageJson] => {
    switch (e.kind) {
      case EvidenceKind.ELECTION_VOTE:
        return [electionVoteToJson(e.firstElection!), electionVoteToJson(e.secondElection!)]
      case EvidenceKind.PROPOSAL:
        return [proposalToJson(e.firstProposal!), proposalToJson(e.secondProposal!)]
      case EvidenceKind.TX_VOTE:
        return [batchVoteToJson(e.firstBatchVote!), batchVoteToJson(e.secondBatchVote!)]
      default:
        return [voteToJson(e.firstVote!), voteToJson(e.secondVote!)]
    }
  }
  const [first, second] = pair()
  return {
    kind,
    offender: peerIdToString(e.offender),
    height: e.height,
    round: e.round,
    seenAt: new Date(e.seenAt).toISOString(),
    first,
    second,
  }
}
