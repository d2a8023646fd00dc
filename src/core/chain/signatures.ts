/**
 * Signing and checking each signed message. A signature is over the message
 * encoded with its `signature` field empty, domain-separated by chain id and
 * kind (crypto/signing.ts). Node messages are signed by peer-id keys
 * (Ed25519); txs and account registrations by account keys.
 */
import {
  type AccountRegistration,
  AccountRegistrationCodec,
  type Add,
  type BatchHeader,
  type BatchVote,
  type BlockPrepare,
  type ElectionRequest,
  type ElectionVote,
  type ProposalStatement,
  type Tx,
  type TxBatch,
  TxCodec,
  type Vote,
  VoteCodec,
  KeyType as WireKeyType,
} from '../codec/index.js'
import * as M from '../codec/messages.js'
import { sha256 } from '../crypto/hash.js'
import { type KeyType, type Signer, sign, verify } from '../crypto/keys.js'
import { peerIdToPublicKey } from '../crypto/peer-id.js'
import { SignKind } from '../crypto/signing.js'
import { blockHash, txRoot } from './block.js'
import { txBody, txChecked, txCheckedUnder } from './tx.js'

const EMPTY = new Uint8Array(0)

export function wireKeyType(type: KeyType): WireKeyType {
  return type === 'rsa' ? WireKeyType.RSA : WireKeyType.ED25519
}

export function keyTypeOf(type: WireKeyType): KeyType {
  return type === WireKeyType.RSA ? 'rsa' : 'ed25519'
}

// ------------------------------------------------------------------ bodies

export { txBody } from './tx.js'
export const accountBody = (a: AccountRegistration): Uint8Array =>
  AccountRegistrationCodec.encode({ ...a, signature: EMPTY })
export const voteBody = (v: Vote): Uint8Array => VoteCodec.encode({ ...v, signature: EMPTY })
const batchVoteBody = (v: BatchVote): Uint8Array => M.BatchVote.encode({ ...v, signature: EMPTY })
const electionRequestBody = (r: ElectionRequest): Uint8Array =>
  M.ElectionRequest.encode({ ...r, signature: EMPTY })
const electionVoteBody = (v: ElectionVote): Uint8Array =>
  M.ElectionVote.encode({ ...v, signature: EMPTY })
/**
 * What a leader signs for a proposal: its statement, with the block by its header's hash (so the
 * block may travel whole or compact under the same signature).
 */
export function proposalStatement(p: Omit<BlockPrepare, 'signature'>): ProposalStatement {
  return {
    height: p.height,
    round: p.round,
    blockHash: blockHash((p.block ?? p.compact)!.header!),
    validRound: p.validRound,
  }
}
const statementBody = (s: ProposalStatement): Uint8Array => M.ProposalStatement.encode(s)
const addBody = (a: Add): Uint8Array => M.Add.encode({ ...a, signature: EMPTY })

// ------------------------------------------------------------------ account-signed

export function signTx(signer: Signer, tx: Omit<Tx, 'signature'>): Tx {
  const unsigned = { ...tx, signature: EMPTY }
  const body = TxCodec.encode(unsigned)
  return { ...unsigned, signature: sign(signer, tx.chainId, SignKind.Tx, body) }
}

/**
 * Is `tx` signed by this key? Checked once per tx object (chain/tx.ts remembers the key it checked
 * out under), so a tx's admission, its batch's gate and its block cost one verification between
 * them; not kept in the cache of verified signatures (keys.ts), which would cost a hash of the
 * tx per check to save one only for a second object of the same tx.
 */
export function verifyTx(tx: Tx, keyType: KeyType, publicKey: Uint8Array): boolean {
  if (txCheckedUnder(tx, keyType, publicKey)) return true
  const ok = verify(keyType, publicKey, tx.chainId, SignKind.Tx, txBody(tx), tx.signature, {
    cache: false,
  })
  if (ok) txChecked(tx, keyType, publicKey)
  return ok
}

export function signAccount(
  signer: Signer,
  a: Omit<AccountRegistration, 'signature' | 'keyType' | 'publicKey'>,
): AccountRegistration {
  const unsigned: AccountRegistration = {
    ...a,
    keyType: wireKeyType(signer.type),
    publicKey: signer.publicKey,
    signature: EMPTY,
  }
  return {
    ...unsigned,
    signature: sign(signer, a.chainId, SignKind.Account, accountBody(unsigned)),
  }
}

/** Signed by the key it registers: proves the registrant holds it. */
export function verifyAccount(a: AccountRegistration): boolean {
  return verify(
    keyTypeOf(a.keyType),
    a.publicKey,
    a.chainId,
    SignKind.Account,
    accountBody(a),
    a.signature,
  )
}

// ------------------------------------------------------------------ node-signed

/** Check a signature by the Ed25519 key behind a peer id (given as bytes). */
function verifyByPeer(
  peerId: Uint8Array,
  chainId: string,
  kind: SignKind,
  body: Uint8Array,
  signature: Uint8Array,
): boolean {
  let key: Uint8Array
  try {
    key = peerIdToPublicKey(peerId)
  } catch {
    return false
  }
  return verify('ed25519', key, chainId, kind, body, signature)
}

type Unsigned<T> = Omit<T, 'signature'>

export function signVote(signer: Signer, chainId: string, v: Unsigned<Vote>): Vote {
  const unsigned = { ...v, signature: EMPTY }
  return { ...unsigned, signature: sign(signer, chainId, SignKind.Vote, voteBody(unsigned)) }
}

export function verifyVote(chainId: string, v: Vote): boolean {
  return verifyByPeer(v.voter, chainId, SignKind.Vote, voteBody(v), v.signature)
}

/**
 * A batch's header: the target, its batch counter, and the root of its txs, made as a block's
 * txRoot is (block.ts: over each tx's whole encoding, its signature included). The target signs
 * it, and the batch's hash is its sha256, so a vote or certificate names the whole batch, down
 * to every tx's bytes.
 */
export function batchHeader(target: Uint8Array, seq: number, txs: Tx[]): BatchHeader {
  return { target, seq, txsRoot: txRoot(txs), count: txs.length }
}

export function batchHashOf(header: BatchHeader): Uint8Array {
  return sha256(M.BatchHeader.encode(header))
}

export function signTxBatch(
  signer: Signer,
  chainId: string,
  header: BatchHeader,
  txs: Tx[],
): TxBatch {
  return {
    target: header.target,
    seq: header.seq,
    txs,
    signature: sign(signer, chainId, SignKind.TxBatch, M.BatchHeader.encode(header)),
  }
}

/** Signed by its target (the caller supplies the header it computed from the txs). */
export function verifyTxBatch(
  chainId: string,
  header: BatchHeader,
  signature: Uint8Array,
): boolean {
  return verifyByPeer(
    header.target,
    chainId,
    SignKind.TxBatch,
    M.BatchHeader.encode(header),
    signature,
  )
}

export function signBatchVote(signer: Signer, chainId: string, v: Unsigned<BatchVote>): BatchVote {
  const unsigned = { ...v, signature: EMPTY }
  return {
    ...unsigned,
    signature: sign(signer, chainId, SignKind.BatchVote, batchVoteBody(unsigned)),
  }
}

export function verifyBatchVote(chainId: string, v: BatchVote): boolean {
  return verifyByPeer(v.voter, chainId, SignKind.BatchVote, batchVoteBody(v), v.signature)
}

export function signElectionRequest(
  signer: Signer,
  chainId: string,
  r: Unsigned<ElectionRequest>,
): ElectionRequest {
  const unsigned = { ...r, signature: EMPTY }
  return {
    ...unsigned,
    signature: sign(signer, chainId, SignKind.ElectionRequest, electionRequestBody(unsigned)),
  }
}

export function verifyElectionRequest(chainId: string, r: ElectionRequest): boolean {
  return verifyByPeer(
    r.candidate,
    chainId,
    SignKind.ElectionRequest,
    electionRequestBody(r),
    r.signature,
  )
}

export function signElectionVote(
  signer: Signer,
  chainId: string,
  v: Unsigned<ElectionVote>,
): ElectionVote {
  const unsigned = { ...v, signature: EMPTY }
  return {
    ...unsigned,
    signature: sign(signer, chainId, SignKind.ElectionVote, electionVoteBody(unsigned)),
  }
}

export function verifyElectionVote(chainId: string, v: ElectionVote): boolean {
  return verifyByPeer(v.voter, chainId, SignKind.ElectionVote, electionVoteBody(v), v.signature)
}

export function signBlockPrepare(
  signer: Signer,
  chainId: string,
  p: Unsigned<BlockPrepare>,
): BlockPrepare {
  const unsigned = { ...p, signature: EMPTY }
  return {
    ...unsigned,
    signature: sign(
      signer,
      chainId,
      SignKind.BlockPrepare,
      statementBody(proposalStatement(unsigned)),
    ),
  }
}

/** Signed by the round's elected leader (the candidate of its election certificate). */
export function verifyBlockPrepare(chainId: string, p: BlockPrepare): boolean {
  const leader = p.electionCert?.candidate
  if (leader == null) return false
  return verifyProposal(chainId, leader, proposalStatement(p), p.signature)
}

/** A proposal statement signed by `leader` (a proposal, or one half of proposal evidence). */
export function verifyProposal(
  chainId: string,
  leader: Uint8Array,
  statement: ProposalStatement,
  signature: Uint8Array,
): boolean {
  return verifyByPeer(leader, chainId, SignKind.BlockPrepare, statementBody(statement), signature)
}

export function signAdd(signer: Signer, chainId: string, a: Unsigned<Add>): Add {
  const unsigned = { ...a, signature: EMPTY }
  return { ...unsigned, signature: sign(signer, chainId, SignKind.Add, addBody(unsigned)) }
}

/** Signed by the leader, whose peer id the caller supplies (from the round's election). */
export function verifyAdd(chainId: string, a: Add, leader: Uint8Array): boolean {
  return verifyByPeer(leader, chainId, SignKind.Add, addBody(a), a.signature)
}
