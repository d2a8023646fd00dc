/**
 * Certificates: q signatures of distinct validators on one statement. Every
 * node checks every certificate before acting on it (DESIGN §5, §6).
 */
import type {
  BatchCertificate,
  Certificate,
  ElectionCertificate,
  Phase,
  Vote,
  VoteSignature,
} from '../codec/index.js'
import { RejectReason, VoteResult } from '../codec/index.js'
import { bytesEqual } from '../crypto/hash.js'
import { type PeerIdString, peerIdToString } from '../crypto/peer-id.js'
import { verifyBatchVote, verifyElectionVote, verifyVote } from './signatures.js'
import type { ValidatorSet } from './validator-set.js'

export type CertificateErrorCode =
  | 'WRONG_PHASE'
  | 'WRONG_SUBJECT'
  | 'WRONG_HEIGHT'
  | 'WRONG_ROUND'
  | 'WRONG_CANDIDATE'
  | 'TOO_FEW_SIGNERS'
  | 'DUPLICATE_SIGNER'
  | 'NOT_A_VALIDATOR'
  | 'BAD_SIGNATURE'

export class CertificateError extends Error {
  override readonly name = 'CertificateError'
  constructor(
    readonly code: CertificateErrorCode,
    detail = '',
  ) {
    super(detail ? `${code}: ${detail}` : code)
  }
}

/** What a certificate must attest; omitted fields are not checked. */
export interface CertificateExpectation {
  phase: Phase
  subject: Uint8Array
  height?: number
  round?: number
}

/** The PERMIT vote a certificate signature stands for. */
export function certifiedVote(cert: Certificate, voter: Uint8Array, signature: Uint8Array): Vote {
  return {
    phase: cert.phase,
    subject: cert.subject,
    height: cert.height,
    round: cert.round,
    result: VoteResult.PERMIT,
    reason: RejectReason.NONE,
    voter,
    signature,
  }
}

/**
 * q distinct validators, each signature valid. Cheap checks first: no
 * signature is verified for a certificate that is short on its face.
 */
function checkSigners(
  signatures: VoteSignature[],
  validators: ValidatorSet,
  verifyOne: (s: VoteSignature, index: number) => boolean,
): PeerIdString[] {
  if (signatures.length < validators.quorum) {
    throw new CertificateError(
      'TOO_FEW_SIGNERS',
      `${signatures.length} < quorum ${validators.quorum}`,
    )
  }
  const seen = new Set<PeerIdString>()
  signatures.forEach((s, i) => {
    let id: PeerIdString
    try {
      id = peerIdToString(s.voter)
    } catch {
      throw new CertificateError('NOT_A_VALIDATOR', `signer ${i} is not a peer id`)
    }
    if (!validators.has(id)) throw new CertificateError('NOT_A_VALIDATOR', id)
    if (seen.has(id)) throw new CertificateError('DUPLICATE_SIGNER', id)
    seen.add(id)
    if (!verifyOne(s, i)) throw new CertificateError('BAD_SIGNATURE', id)
  })
  return [...seen]
}

/**
 * Check a vote certificate: the expected statement, q distinct validators,
 * every signature valid. Returns the signers. Throws CertificateError.
 * (Cheap checks first: no signature is verified for a certificate that is
 * wrong on its face.)
 */
export function verifyCertificate(
  chainId: string,
  cert: Certificate,
  expect: CertificateExpectation,
  validators: ValidatorSet,
): PeerIdString[] {
  if (cert.phase !== expect.phase)
    throw new CertificateError('WRONG_PHASE', `${cert.phase} != ${expect.phase}`)
  if (!bytesEqual(cert.subject, expect.subject)) throw new CertificateError('WRONG_SUBJECT')
  if (expect.height !== undefined && cert.height !== expect.height) {
    throw new CertificateError('WRONG_HEIGHT', `${cert.height} != ${expect.height}`)
  }
  if (expect.round !== undefined && cert.round !== expect.round) {
    throw new CertificateError('WRONG_ROUND', `${cert.round} != ${expect.round}`)
  }
  return checkSigners(cert.signatures, validators, (s) =>
    verifyVote(chainId, certifiedVote(cert, s.voter, s.signature)),
  )
}

/** Check an election certificate for (height, round): q distinct validators voted for its candidate. */
export function verifyElectionCertificate(
  chainId: string,
  cert: ElectionCertificate,
  expect: { height: number; round: number },
  validators: ValidatorSet,
): PeerIdString[] {
  if (cert.height !== expect.height) throw new CertificateError('WRONG_HEIGHT')
  if (cert.round !== expect.round) throw new CertificateError('WRONG_ROUND')
  let candidate: PeerIdString
  try {
    candidate = peerIdToString(cert.candidate)
  } catch {
    throw new CertificateError('WRONG_CANDIDATE', 'not a peer id')
  }
  if (!validators.has(candidate))
    throw new CertificateError('WRONG_CANDIDATE', `${candidate} is not a validator`)
  return checkSigners(cert.signatures, validators, (s) =>
    verifyElectionVote(chainId, {
      height: cert.height,
      round: cert.round,
      candidate: cert.candidate,
      voter: s.voter,
      signature: s.signature,
    }),
  )
}

/** Assemble a certificate from PERMIT votes on one statement (votes are assumed checked). */
export function certificateFrom(votes: Vote[]): Certificate {
  const first = votes[0]
  if (first == null) throw new RangeError('a certificate needs votes')
  return {
    phase: first.phase,
    subject: first.subject,
    height: first.height,
    round: first.round,
    signatures: votes.map((v) => ({ voter: v.voter, signature: v.signature })),
  }
}

/** What a batch certificate shows: who voted, and for each tx who permits it. */
export interface BatchTally {
  voters: PeerIdString[]
  /** per tx, how many of the votes permit it */
  permits: number[]
  /** per tx: q permits */
  certified: boolean[]
}

/** Count a batch certificate's votes per tx (its votes are assumed checked). */
export function tallyBatch(cert: BatchCertificate, quorum: number): BatchTally {
  const permits = new Array<number>(cert.count).fill(cert.votes.length)
  for (const v of cert.votes) for (const i of v.rejected) permits[i]! -= 1
  return {
    voters: cert.votes.map((v) => peerIdToString(v.voter)),
    permits,
    certified: permits.map((p) => p >= quorum),
  }
}

/**
 * Check a batch certificate: the expected phase, batch and size, at least q votes of distinct
 * validators, every signature valid, and at least one tx with q permits. Cheap checks first.
 * Returns the tally. Throws CertificateError.
 */
export function verifyBatchCertificate(
  chainId: string,
  cert: BatchCertificate,
  expect: { phase: Phase; batch: Uint8Array; count?: number },
  validators: ValidatorSet,
): BatchTally {
  if (cert.phase !== expect.phase)
    throw new CertificateError('WRONG_PHASE', `${cert.phase} != ${expect.phase}`)
  if (!bytesEqual(cert.batch, expect.batch)) throw new CertificateError('WRONG_SUBJECT')
  if (expect.count !== undefined && cert.count !== expect.count)
    throw new CertificateError('WRONG_SUBJECT', `${cert.count} txs, not ${expect.count}`)
  for (const v of cert.votes)
    if (v.phase !== cert.phase || v.count !== cert.count || !bytesEqual(v.batch, cert.batch))
      throw new CertificateError('WRONG_SUBJECT', 'a vote for another statement')
  const tally = tallyBatch(cert, validators.quorum)
  if (!tally.certified.some(Boolean))
    throw new CertificateError('TOO_FEW_SIGNERS', 'no tx has a quorum of permits')
  checkSigners(
    cert.votes.map((v) => ({ voter: v.voter, signature: v.signature })),
    validators,
    (_s, i) => verifyBatchVote(chainId, cert.votes[i]!),
  )
  return tally
}
