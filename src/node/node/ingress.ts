/**
 * What each gossip topic accepts before anything else sees it: the message
 * decodes within its limit (done by the codec), names our chain, and carries
 * valid signatures and certificates from the right signers. Failures carry
 * their verdict (REJECT lowers the sender's score). Accepted messages go on
 * the node's event bus; the consensus core takes them from there.
 */

import {
  CertificateError,
  type CertificateExpectation,
  verifyCertificate,
  verifyElectionCertificate,
} from '../../core/chain/certificates.js'
import {
  verifyAccount,
  verifyBlockPrepare,
  verifyElectionRequest,
  verifyElectionVote,
  verifyPrePrepare,
  verifyPrepare,
} from '../../core/chain/signatures.js'
import { txHash } from '../../core/chain/tx.js'
import type { ValidatorSet } from '../../core/chain/validator-set.js'
import {
  type AccountRegistration,
  AccountRegistrationCodec,
  type BlockSyncMessage,
  BlockSyncMessageCodec,
  type Commit,
  CommitCodec,
  type ElectionMessage,
  ElectionMessageCodec,
  Phase,
  type PrePrepare,
  PrePrepareCodec,
  type Prepare,
  PrepareCodec,
} from '../../core/codec/index.js'
import { bytesEqual } from '../../core/crypto/hash.js'
import { peerIdToString } from '../../core/crypto/peer-id.js'
import { GossipAction, GossipValidationError } from '../p2p/errors.js'
import type { GossipHandler } from '../p2p/gossip.js'
import type { TopicName } from '../p2p/topics.js'

export interface IngressContext {
  chainId: string
  validators: ValidatorSet
}

/** An accepted gossip message, as the node's event bus carries it. */
export type GossipEvent =
  | { topic: 'tx'; message: PrePrepare; from: string }
  | { topic: 'prepare'; message: Prepare; from: string }
  | { topic: 'commit'; message: Commit; from: string }
  | { topic: 'block-sync'; message: BlockSyncMessage; from: string }
  | { topic: 'accounts'; message: AccountRegistration; from: string }
  | { topic: 'election'; message: ElectionMessage; from: string }

const reject = (code: string, detail?: string): never => {
  throw new GossipValidationError(GossipAction.REJECT, code, detail)
}

function isValidatorId(ctx: IngressContext, bytes: Uint8Array): boolean {
  try {
    return ctx.validators.has(peerIdToString(bytes))
  } catch {
    return false
  }
}

function checkCert(
  ctx: IngressContext,
  cert: Parameters<typeof verifyCertificate>[1],
  expect: CertificateExpectation,
): void {
  try {
    verifyCertificate(ctx.chainId, cert, expect, ctx.validators)
  } catch (err) {
    // a certificate that is wrong on its face is forged: the sender pays
    if (err instanceof CertificateError) reject(`CERT_${err.code}`, err.message)
    throw err
  }
}

export function ingressHandlers(
  ctx: IngressContext,
  deliver: (event: GossipEvent) => void,
): { [K in TopicName]: GossipHandler<Extract<GossipEvent, { topic: K }>['message']> } {
  return {
    tx: {
      codec: PrePrepareCodec,
      validate(p) {
        const tx = p.tx!
        if (tx.chainId !== ctx.chainId) reject('WRONG_CHAIN', tx.chainId)
        if (!bytesEqual(txHash(tx), p.txHash)) reject('WRONG_TX_HASH')
        if (!verifyPrePrepare(ctx.chainId, p))
          reject('BAD_SIGNATURE', 'pre-prepare not signed by its target')
      },
      handle: (message, from) => deliver({ topic: 'tx', message, from }),
    },
    prepare: {
      codec: PrepareCodec,
      validate(p) {
        if (!verifyPrepare(ctx.chainId, p))
          reject('BAD_SIGNATURE', 'prepare not signed by its target')
        checkCert(ctx, p.cert!, { phase: Phase.PRE_PREPARE, subject: p.txHash })
      },
      handle: (message, from) => deliver({ topic: 'prepare', message, from }),
    },
    commit: {
      codec: CommitCodec,
      validate(c) {
        checkCert(ctx, c.cert!, { phase: Phase.PREPARE, subject: c.txHash })
      },
      handle: (message, from) => deliver({ topic: 'commit', message, from }),
    },
    'block-sync': {
      codec: BlockSyncMessageCodec,
      validate(m) {
        if (m.prepare != null) {
          const p = m.prepare
          const header = p.block!.header!
          if (header.chainId !== ctx.chainId) reject('WRONG_CHAIN', header.chainId)
          if (header.height !== p.height || header.round !== p.round) reject('HEADER_MISMATCH')
          if (!bytesEqual(p.electionCert!.candidate, header.proposer))
            reject('NOT_ELECTED', 'proposer is not the elected candidate')
          if (!verifyBlockPrepare(ctx.chainId, p))
            reject('BAD_SIGNATURE', 'block prepare not signed by its proposer')
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
          if (p.validCert != null) {
            checkCert(ctx, p.validCert, {
              phase: Phase.BLOCK_PERMIT,
              subject: p.validCert.subject,
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
          })
        }
      },
      handle: (message, from) => deliver({ topic: 'block-sync', message, from }),
    },
    accounts: {
      codec: AccountRegistrationCodec,
      validate(a) {
        if (a.chainId !== ctx.chainId) reject('WRONG_CHAIN', a.chainId)
        if (!verifyAccount(a)) reject('BAD_SIGNATURE', 'registration not signed by its key')
      },
      handle: (message, from) => deliver({ topic: 'accounts', message, from }),
    },
    election: {
      codec: ElectionMessageCodec,
      validate(m) {
        if (m.request != null) {
          if (!isValidatorId(ctx, m.request.candidate)) reject('NOT_A_VALIDATOR', 'candidate')
          if (!verifyElectionRequest(ctx.chainId, m.request))
            reject('BAD_SIGNATURE', 'election request')
        } else if (m.vote != null) {
          if (!isValidatorId(ctx, m.vote.voter)) reject('NOT_A_VALIDATOR', 'voter')
          if (!isValidatorId(ctx, m.vote.candidate)) reject('NOT_A_VALIDATOR', 'candidate')
          if (!verifyElectionVote(ctx.chainId, m.vote)) reject('BAD_SIGNATURE', 'election vote')
        }
      },
      handle: (message, from) => deliver({ topic: 'election', message, from }),
    },
  }
}
