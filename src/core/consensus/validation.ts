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
  verifyBatchCertificate,
  verifyCertificate,
  verifyElectionCertificate,
} from '../chain/certificates.js'
import {
  verifyBlockPrepare,
  verifyElectionRequest,
  verifyElectionVote,
  verifyTx,
  verifyTxBatch,
} from '../chain/signatures.js'
import { txSenderHex } from '../chain/tx.js'
import { batchDigest } from '../chain/tx-batch.js'
import type { ValidatorSet } from '../chain/validator-set.js'
import type {
  AccountRegistration,
  BatchCertificate,
  BatchCommit,
  BatchPrepare,
  BlockSyncMessage,
  Certificate,
  ElectionMessage,
  TxBatch,
} from '../codec/index.js'
import {
  AccountRegistrationCodec,
  BlockSyncMessageCodec,
  ElectionMessageCodec,
  Phase,
} from '../codec/index.js'
import { bytesEqual, toHex } from '../crypto/hash.js'
import type { KeyType } from '../crypto/keys.js'
import { type PeerIdString, peerIdToString } from '../crypto/peer-id.js'
import { rotationLeader } from './election.js'
import { GossipGate, OBSERVER_TARGET_BUDGET, VALIDATOR_TARGET_BUDGET } from './gossip-gate.js'

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
  /** the round this node is in at that height */
  round?: () => number
  /** the node's clock (ms), for the per-target budgets and the relay gap */
  now?: () => number
  /** one re-announcement of a message is forwarded at most this often (ms) */
  relayGapMs?: number
  /** what the gate remembers between messages (gossip-gate.ts) */
  gate?: GossipGate
  /** what the node holds of a round's proposal, to drop a leader's flood of others */
  proposal?: (
    height: number,
    round: number,
  ) => { hash: string; equivocated: boolean; certified: string | null } | null
  /** a validator's signed word that its head is `head`: far ahead, so not forwarded but noted */
  claim?: (validator: PeerIdString, head: number) => void
  /** a peer whose valid messages exceed what it may send: its reputation pays */
  misbehaving?: (peer: PeerIdString, reason: string) => void
  /** an account's key, to check a tx's signature before it is forwarded */
  senderKey?: (address: string) => { keyType: KeyType; publicKey: Uint8Array } | null
  /** whether a registration of this many bytes still fits the pool (else it is not forwarded) */
  accountRoom?: (bytes: number) => boolean
  /** planted for a simulation hunt: the election without its rotation rule */
  unsafeElection?: boolean
}

function ignoreStale(ctx: ValidationContext, height: number): void {
  if (ctx.height != null && height < ctx.height())
    throw new ValidationError('ignore', 'STALE_HEIGHT', `height ${height}`)
}

const ignore = (code: string, detail?: string): never => {
  throw new ValidationError('ignore', code, detail)
}

/**
 * A re-announcement: true when its content was checked before and this relay is new (forward it
 * without checking again); IGNOREs it when the relay is not new; false when the content is new.
 */
function relayed(ctx: ValidationContext, key: string | null, relay: number): boolean {
  if (ctx.gate == null || key == null) return false
  const seen = ctx.gate.seen(key, relay, ctx.now?.() ?? 0, ctx.relayGapMs ?? 0)
  if (seen === 'drop') ignore('DUPLICATE_RELAY', `relay ${relay}`)
  return seen === 'forward'
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

/**
 * A target's batch: every tx of our chain and distinct, the target's signature over the batch's
 * header, the target within its budget of rounds and bytes, and every tx whose sender's key we
 * know signed by it (an honest target admits a tx before it batches it: a forgery is its lie).
 */
export function validateTxBatch(ctx: ValidationContext, b: TxBatch): void {
  for (const tx of b.txs) if (tx.chainId !== ctx.chainId) reject('WRONG_CHAIN', tx.chainId)
  const d = batchDigest(b)
  if (new Set(d.txHashesHex).size !== d.txHashesHex.length)
    reject('DUPLICATE_TX', 'a tx twice in one batch')
  if (!verifyTxBatch(ctx.chainId, d.header, b.signature))
    reject('BAD_SIGNATURE', 'batch not signed by its target')
  // the target signed it: within its budget of rounds, or it floods
  const target = peerIdToString(b.target)
  if (ctx.gate != null && ctx.now != null) {
    const budget = ctx.validators.has(target) ? VALIDATOR_TARGET_BUDGET : OBSERVER_TARGET_BUDGET
    if (!ctx.gate.takeRound(target, budget, ctx.now(), d.bytes)) {
      ctx.misbehaving?.(target, 'more tx rounds than a target may run')
      ignore(
        'TARGET_BUDGET',
        `${target} runs more than ${budget.perSecond} rounds or ${budget.bytesPerSecond} bytes a second`,
      )
    }
  }
  for (const tx of b.txs) {
    const key = ctx.senderKey?.(txSenderHex(tx))
    if (key != null && !verifyTx(tx, key.keyType, key.publicKey))
      reject('BAD_TX_SIGNATURE', 'a tx of the batch is not signed by its sender')
  }
}

/** A batch certificate that is wrong on its face is forged: the sender pays. */
function checkBatchCert(
  ctx: ValidationContext,
  cert: BatchCertificate,
  phase: Phase,
  batch: Uint8Array,
): void {
  try {
    verifyBatchCertificate(ctx.chainId, cert, { phase, batch }, ctx.validators)
  } catch (err) {
    if (err instanceof CertificateError) reject(`CERT_${err.code}`, err.message)
    throw err
  }
}

export function validateBatchPrepare(ctx: ValidationContext, p: BatchPrepare): void {
  checkBatchCert(ctx, p.cert!, Phase.PRE_PREPARE, p.batch)
}

export function validateBatchCommit(ctx: ValidationContext, c: BatchCommit): void {
  checkBatchCert(ctx, c.cert!, Phase.PREPARE, c.batch)
}

export function validateAccount(ctx: ValidationContext, a: AccountRegistration): void {
  // a full pool takes no more: dropped and not forwarded, before the signature is checked
  if (ctx.accountRoom != null && !ctx.accountRoom(AccountRegistrationCodec.encode(a).length))
    ignore('POOL_FULL', 'pending registrations are at their bound')
  const check = checkRegistration(a, ctx.chainId)
  if (!check.ok) reject(check.code, check.message)
}

export function validateElection(ctx: ValidationContext, m: ElectionMessage): void {
  const msg = (m.request ?? m.vote)!
  ignoreStale(ctx, msg.height)
  const relay = m.relay ?? 0
  const key = ctx.gate
    ? GossipGate.contentKey(ElectionMessageCodec.encode({ ...m, relay: undefined }))
    : null
  if (relay > 0 && relayed(ctx, key, relay)) return
  const height = ctx.height?.()
  // rounds we left long ago matter to no one (a replay): dropped before any signature check
  if (height != null && msg.height === height && ctx.round != null && msg.round + 1 < ctx.round())
    ignore('STALE_ROUND', `round ${msg.round}`)
  if (m.request != null) {
    if (!isValidatorId(ctx, m.request.candidate)) reject('NOT_A_VALIDATOR', 'candidate')
    if (m.request.round > 0 && !ctx.unsafeElection)
      reject('ROTATION_ROUND', `round ${m.request.round} has a rotation leader: no election`)
    if (!verifyElectionRequest(ctx.chainId, m.request)) reject('BAD_SIGNATURE', 'election request')
  } else if (m.vote != null) {
    const v = m.vote
    if (!isValidatorId(ctx, v.voter)) reject('NOT_A_VALIDATOR', 'voter')
    if (!isValidatorId(ctx, v.candidate)) reject('NOT_A_VALIDATOR', 'candidate')
    if (
      v.round > 0 &&
      !ctx.unsafeElection &&
      peerIdToString(v.candidate) !== rotationLeader(ctx.validators, v.height, v.round)
    )
      reject('NOT_ROTATION_LEADER', `round ${v.round} is led by its rotation leader`)
    if (!verifyElectionVote(ctx.chainId, v)) reject('BAD_SIGNATURE', 'election vote')
  }
  if (key != null) ctx.gate!.passed(key, relay, ctx.now?.() ?? 0)
  // far ahead of us: noted as its signer's word on its head, not forwarded
  if (height != null && msg.height > height + 1) {
    const signer = m.request ? m.request.candidate : m.vote!.voter
    ctx.claim?.(peerIdToString(signer), msg.height - 1)
    ignore('FAR_AHEAD', `height ${msg.height}`)
  }
}

export function validateBlockSync(ctx: ValidationContext, m: BlockSyncMessage): void {
  const inner = (m.prepare ?? m.add ?? m.final)!
  const relay = m.relay ?? 0
  // a validator decides on its own count of the commit votes, often before the leader's Final
  // comes: the first Final of the block just below us is still checked and forwarded (observers
  // finalize on it), once per height
  const lateFinal =
    m.final != null &&
    relay === 0 &&
    ctx.height != null &&
    inner.height === ctx.height() - 1 &&
    ctx.gate?.mayForwardLateFinal(inner.height) === true
  if (lateFinal) {
    checkBlockSync(ctx, m)
    ctx.gate!.forwardedLateFinal(inner.height)
    return
  }
  ignoreStale(ctx, inner.height)
  let key: string | null = null
  if (relay > 0) {
    // a re-announcement, in a later round, of a proposal or an Add: bounded by the rounds we know
    if (m.final != null) reject('BAD_RELAY', 'a Final is not re-announced')
    if (relay <= inner.round)
      reject('BAD_RELAY', `relay ${relay} is not after round ${inner.round}`)
    const height = ctx.height?.()
    if (height != null && inner.height === height && ctx.round != null && relay > ctx.round() + 1)
      ignore('RELAY_AHEAD', `relay ${relay}`)
    key = ctx.gate
      ? GossipGate.contentKey(BlockSyncMessageCodec.encode({ ...m, relay: undefined }))
      : null
    if (relayed(ctx, key, relay)) return
  }
  checkBlockSync(ctx, m)
  if (key != null) ctx.gate!.passed(key, relay, ctx.now?.() ?? 0)
}

function checkBlockSync(ctx: ValidationContext, m: BlockSyncMessage): void {
  if (m.prepare != null) {
    const p = m.prepare
    // whole or compact (as it travels on gossip): the signature is over the header's hash either way
    const header = (p.block ?? p.compact)!.header!
    if (header.chainId !== ctx.chainId) reject('WRONG_CHAIN', header.chainId)
    if (header.height !== p.height) reject('HEADER_MISMATCH', 'the block is for another height')
    // a leader that already signed two proposals in this round: the rest of its flood is dropped
    const known = ctx.proposal?.(p.height, p.round)
    if (known?.equivocated) {
      const hash = toHex(blockHash(header))
      if (hash !== known.hash && hash !== known.certified)
        ignore('EQUIVOCATED_PROPOSAL', `round ${p.round} already has two proposals`)
    }
    // signed by the round's elected leader, whoever made the block
    // a rotation round has one possible leader: a certificate for another is a forgery
    if (
      p.round > 0 &&
      !ctx.unsafeElection &&
      isValidatorId(ctx, p.electionCert!.candidate) &&
      peerIdToString(p.electionCert!.candidate) !==
        rotationLeader(ctx.validators, p.height, p.round)
    )
      reject('NOT_ROTATION_LEADER', `round ${p.round} is led by its rotation leader`)
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
