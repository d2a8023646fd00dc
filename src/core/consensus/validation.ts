/**
 * What a gossip message must be before anything acts on it: it names our
 * chain and carries valid signatures and certificates from the right
 * signers. The node's topic validators and the simulation's network both
 * call these, so the core only ever sees messages that passed them.
 * Failures carry their verdict (Lodestar gossipValidation.ts): REJECT for
 * what an honest peer never sends (the sender's score drops), IGNORE for
 * what is merely useless.
 */

import { checkRegistration } from '../chain/account.js'
import { blockHash } from '../chain/block.js'
import {
  CertificateError,
  type CertificateExpectation,
  verifyCertificate,
  verifyElectionCertificate,
} from '../chain/certificates.js'
import {
  verifyBlockPrepare,
  verifyElectionRequest,
  verifyElectionVote,
  verifyPrePrepare,
  verifyPrepare,
} from '../chain/signatures.js'
import { txHash } from '../chain/tx.js'
import type { ValidatorSet } from '../chain/validator-set.js'
import type {
  AccountRegistration,
  BlockSyncMessage,
  Certificate,
  Commit,
  ElectionMessage,
  PrePrepare,
  Prepare,
} from '../codec/index.js'
import { Phase } from '../codec/index.js'
import { bytesEqual } from '../crypto/hash.js'
import { peerIdToString } from '../crypto/peer-id.js'

export type ValidationAction = 'ignore' | 'reject'

export class ValidationError extends Error {
  override readonly name = 'ValidationError'
  constructor(
    readonly action: ValidationAction,
    readonly code: string,
    detail?: string,
  ) {
    super(detail ? `${code}: ${detail}` : code)
  }
}

export interface ValidationContext {
  chainId: string
  validators: ValidatorSet
  /** the height this node is deciding: older election and block messages are IGNOREd, not forwarded */
  height?: () => number
}

function ignoreStale(ctx: ValidationContext, height: number): void {
  if (ctx.height != null && height < ctx.height())
    throw new ValidationError('ignore', 'STALE_HEIGHT', `height ${height}`)
}

const reject = (code: string, detail?: string): never => {
  throw new ValidationError('reject', code, detail)
}

function isValidatorId(ctx: ValidationContext, bytes: Uint8Array): boolean {
  try {
    return ctx.validators.has(peerIdToString(bytes))
  } catch {
    return false
  }
}

/** A certificate that is wrong on its face is forged: the sender pays. */
function checkCert(
  ctx: ValidationContext,
  cert: Certificate,
  expect: CertificateExpectation,
): void {
  try {
    verifyCertificate(ctx.chainId, cert, expect, ctx.validators)
  } catch (err) {
    if (err instanceof CertificateError) reject(`CERT_${err.code}`, err.message)
    throw err
  }
}

export function validatePrePrepare(ctx: ValidationContext, p: PrePrepare): void {
  const tx = p.tx!
  if (tx.chainId !== ctx.chainId) reject('WRONG_CHAIN', tx.chainId)
  if (!bytesEqual(txHash(tx), p.txHash)) reject('WRONG_TX_HASH')
  if (!verifyPrePrepare(ctx.chainId, p))
    reject('BAD_SIGNATURE', 'pre-prepare not signed by its target')
}

export function validatePrepare(ctx: ValidationContext, p: Prepare): void {
  if (!verifyPrepare(ctx.chainId, p)) reject('BAD_SIGNATURE', 'prepare not signed by its target')
  checkCert(ctx, p.cert!, { phase: Phase.PRE_PREPARE, subject: p.txHash })
}

export function validateCommit(ctx: ValidationContext, c: Commit): void {
  checkCert(ctx, c.cert!, { phase: Phase.PREPARE, subject: c.txHash })
}

export function validateAccount(ctx: ValidationContext, a: AccountRegistration): void {
  const check = checkRegistration(a, ctx.chainId)
  if (!check.ok) reject(check.code, check.message)
}

export function validateElection(ctx: ValidationContext, m: ElectionMessage): void {
  ignoreStale(ctx, (m.request ?? m.vote)!.height)
  if (m.request != null) {
    if (!isValidatorId(ctx, m.request.candidate)) reject('NOT_A_VALIDATOR', 'candidate')
    if (!verifyElectionRequest(ctx.chainId, m.request)) reject('BAD_SIGNATURE', 'election request')
  } else if (m.vote != null) {
    if (!isValidatorId(ctx, m.vote.voter)) reject('NOT_A_VALIDATOR', 'voter')
    if (!isValidatorId(ctx, m.vote.candidate)) reject('NOT_A_VALIDATOR', 'candidate')
    if (!verifyElectionVote(ctx.chainId, m.vote)) reject('BAD_SIGNATURE', 'election vote')
  }
}

export function validateBlockSync(ctx: ValidationContext, m: BlockSyncMessage): void {
  ignoreStale(ctx, (m.prepare ?? m.add ?? m.final)!.height)
  if (m.prepare != null) {
    const p = m.prepare
    const header = p.block!.header!
    if (header.chainId !== ctx.chainId) reject('WRONG_CHAIN', header.chainId)
    if (header.height !== p.height) reject('HEADER_MISMATCH', 'the block is for another height')
    // signed by the round's elected leader, whoever made the block
    if (!verifyBlockPrepare(ctx.chainId, p))
      reject('BAD_SIGNATURE', 'block prepare not signed by the elected leader')
    try {
      verifyElectionCertificate(
        ctx.chainId,
        p.electionCert!,
        { height: p.height, round: p.round },
        ctx.validators,
      )
    } catch (err) {
      if (err instanceof CertificateError) reject(`ELECTION_${err.code}`, err.message)
      throw err
    }
    if (p.validRound == null) {
      // a new block: made by this round's leader, in this round
      if (header.round !== p.round)
        reject('HEADER_MISMATCH', 'a new block is made in the round it is proposed')
      if (!bytesEqual(p.electionCert!.candidate, header.proposer)) {
        reject('NOT_ELECTED', 'proposer is not the elected candidate')
      }
    } else {
      // a leader re-proposes its valid block: q permits in validRound show it valid
      if (p.validRound >= p.round)
        reject('BAD_VALID_ROUND', `${p.validRound} is not before round ${p.round}`)
      if (header.round > p.validRound)
        reject('HEADER_MISMATCH', 'the block is younger than its valid round')
      if (!bytesEqual(p.validCert!.subject, blockHash(header)))
        reject('BAD_VALID_CERT', 'the certificate is for another block')
      checkCert(ctx, p.validCert!, {
        phase: Phase.BLOCK_PERMIT,
        subject: p.validCert!.subject,
        height: p.height,
        round: p.validRound,
      })
    }
  } else if (m.add != null) {
    const a = m.add
    checkCert(ctx, a.permitCert!, {
      phase: Phase.BLOCK_PERMIT,
      subject: a.blockHash,
      height: a.height,
      round: a.round,
    })
  } else if (m.final != null) {
    const f = m.final
    checkCert(ctx, f.commitCert!, {
      phase: Phase.BLOCK_COMMIT,
      subject: f.blockHash,
      height: f.height,
      round: f.round,
    })
  }
}

/** The signers of an already verified certificate. */
export function signersOf(cert: Certificate): string[] {
  return cert.signatures.map((s) => peerIdToString(s.voter))
}
