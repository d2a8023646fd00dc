/**
 * The wire format: one WireCodec per message, each with its size limit,
 * repeated-field bounds and shape check. Everything that comes from a peer,
 * a client or the disk is decoded through these.
 */
import { bytesEqual, HASH_BYTES } from '../crypto/hash.js'
import { ED25519_SIGNATURE_BYTES } from '../crypto/keys.js'
import { isEd25519PeerIdBytes } from '../crypto/peer-id.js'
import * as L from './limits.js'
import * as M from './messages.js'
import { encodeFinalizedBlockWith, encodeTx, encodeTxBatchWith } from './splice.js'
import { need, needLength, needMax, needPresent, type Protons, wireCodec } from './wire.js'

export * from './errors.js'
export * from './limits.js'
export * from './messages.js'
export type { WireCodec } from './wire.js'
export { fieldSpans } from './wire.js'

// ------------------------------------------------------------------ reject reasons by number

/** The reject reasons in wire order (a batch vote carries them as numbers). */
const REJECT_REASONS = Object.values(M.RejectReason) as M.RejectReason[]

export function rejectReasonToWire(r: M.RejectReason): number {
  return REJECT_REASONS.indexOf(r)
}

/** The reason a wire number names; undefined for a number no reason has. */
export function rejectReasonFromWire(n: number): M.RejectReason | undefined {
  return REJECT_REASONS[n]
}

// ------------------------------------------------------------------ shared shape checks

const sigLimits = { signatures: L.MAX_VALIDATORS_ON_WIRE }
const blockLimits = { txs: L.MAX_BLOCK_TXS, accounts: L.MAX_BLOCK_ACCOUNTS }
const compactLimits = { txHashes: L.MAX_BLOCK_TXS, accounts: L.MAX_BLOCK_ACCOUNTS }

function peerId(bytes: Uint8Array, field: string): void {
  need(isEd25519PeerIdBytes(bytes), `${field} is not an Ed25519 peer id`)
}

function hash(bytes: Uint8Array, field: string): void {
  needLength(bytes, HASH_BYTES, field)
}

function nodeSignature(bytes: Uint8Array, field = 'signature'): void {
  needLength(bytes, ED25519_SIGNATURE_BYTES, field)
}

const utf8 = new TextEncoder()

function chainId(id: string): void {
  need(id.length > 0, 'chainId is empty')
  // a UTF-16 unit is at most 3 bytes of UTF-8: a short id needs no encoding (every tx has one)
  if (id.length * 3 > L.MAX_CHAIN_ID_BYTES)
    needMax(utf8.encode(id).length, L.MAX_CHAIN_ID_BYTES, 'chainId bytes')
}

/**
 * A tx's shape; `list` and `index` name it in a message (`txs[3]`, or `list` alone). The name is made only
 * for an error: a batch checks thousands of txs, each costing no string when it is well formed.
 */
function checkTx(tx: M.Tx, list?: string, index?: number): void {
  chainId(tx.chainId)
  if (
    tx.from.length === HASH_BYTES &&
    tx.data.length <= L.MAX_TX_DATA_BYTES &&
    tx.signature.length > 0 &&
    tx.signature.length <= L.MAX_SIGNATURE_BYTES
  )
    return
  const at = list == null ? 'tx' : index == null ? list : `${list}[${index}]`
  hash(tx.from, `${at}.from`)
  needMax(tx.data.length, L.MAX_TX_DATA_BYTES, `${at}.data bytes`)
  need(tx.signature.length > 0, `${at}.signature is missing`)
  needMax(tx.signature.length, L.MAX_SIGNATURE_BYTES, `${at}.signature bytes`)
}

/** Each tx of a message's list `list` well formed (checkTx). */
function checkTxs(txs: M.Tx[], list: string): void {
  for (let i = 0; i < txs.length; i++) checkTx(txs[i]!, list, i)
}

function checkAccount(a: M.AccountRegistration, at = 'account'): void {
  chainId(a.chainId)
  need(a.username.length > 0, `${at}.username is empty`)
  needMax(a.username.length, 64, `${at}.username characters`)
  needMax(a.data.length, L.MAX_ACCOUNT_DATA_BYTES, `${at}.data characters`)
  need(a.publicKey.length > 0, `${at}.publicKey is missing`)
  needMax(a.publicKey.length, L.MAX_PUBLIC_KEY_BYTES, `${at}.publicKey bytes`)
  need(a.signature.length > 0, `${at}.signature is missing`)
  needMax(a.signature.length, L.MAX_SIGNATURE_BYTES, `${at}.signature bytes`)
}

function checkSignatures(sigs: M.VoteSignature[], at: string): void {
  need(sigs.length > 0, `${at}.signatures is empty`)
  needMax(sigs.length, L.MAX_VALIDATORS_ON_WIRE, `${at}.signatures`)
  sigs.forEach((s, i) => {
    peerId(s.voter, `${at}.signatures[${i}].voter`)
    nodeSignature(s.signature, `${at}.signatures[${i}].signature`)
  })
}

const isBlockPhase = (p: M.Phase): boolean =>
  p === M.Phase.BLOCK_PERMIT || p === M.Phase.BLOCK_COMMIT

/** A tx vote is about a tx hash; a block vote about a block hash, or nil (empty). */
function subject(phase: M.Phase, bytes: Uint8Array, field: string): void {
  if (isBlockPhase(phase))
    need(
      bytes.length === 0 || bytes.length === HASH_BYTES,
      `${field} must be empty (nil) or a hash`,
    )
  else needLength(bytes, HASH_BYTES, field)
}

function checkCertificate(c: M.Certificate, at = 'cert'): void {
  need(c.phase !== M.Phase.PHASE_UNSPECIFIED, `${at}.phase is unspecified`)
  subject(c.phase, c.subject, `${at}.subject`)
  checkSignatures(c.signatures, at)
}

function checkElectionCertificate(c: M.ElectionCertificate, at = 'electionCert'): void {
  peerId(c.candidate, `${at}.candidate`)
  checkSignatures(c.signatures, at)
}

function checkHeader(h: M.BlockHeader): void {
  chainId(h.chainId)
  need(h.height >= 1, 'header.height must be >= 1')
  hash(h.parentHash, 'header.parentHash')
  peerId(h.proposer, 'header.proposer')
  hash(h.txRoot, 'header.txRoot')
  hash(h.accountsRoot, 'header.accountsRoot')
  hash(h.stateRoot, 'header.stateRoot')
}

function checkBlock(b: M.Block): void {
  needPresent(b.header, 'block.header')
  checkHeader(b.header)
  needMax(b.txs.length, L.MAX_BLOCK_TXS, 'block.txs')
  needMax(b.accounts.length, L.MAX_BLOCK_ACCOUNTS, 'block.accounts')
  checkTxs(b.txs, 'block.txs')
  for (const [i, a] of b.accounts.entries()) checkAccount(a, `block.accounts[${i}]`)
}

function checkVote(v: M.Vote): void {
  need(v.phase !== M.Phase.PHASE_UNSPECIFIED, 'phase is unspecified')
  need(v.result !== M.VoteResult.RESULT_UNSPECIFIED, 'result is unspecified')
  need(
    (v.result === M.VoteResult.REJECT) === (v.reason !== M.RejectReason.NONE),
    'a reject, and only a reject, has a reason',
  )
  subject(v.phase, v.subject, 'subject')
  peerId(v.voter, 'voter')
  nodeSignature(v.signature)
}

function checkCompactBlock(b: M.CompactBlock): void {
  needPresent(b.header, 'compact.header')
  checkHeader(b.header)
  needMax(b.txHashes.length, L.MAX_BLOCK_TXS, 'compact.txHashes')
  needMax(b.accounts.length, L.MAX_BLOCK_ACCOUNTS, 'compact.accounts')
  for (let i = 0; i < b.txHashes.length; i++)
    if (b.txHashes[i]!.length !== HASH_BYTES) hash(b.txHashes[i]!, `compact.txHashes[${i}]`)
  for (const [i, a] of b.accounts.entries()) checkAccount(a, `compact.accounts[${i}]`)
}

/** A proposal as it travels: its block whole or compact, exactly one. */
function checkPrepareBlock(p: M.BlockPrepare): void {
  exactlyOne([p.block, p.compact], 'block, compact')
  if (p.block != null) checkBlock(p.block)
  else checkCompactBlock(p.compact!)
  checkPrepareRest(p)
}

/** A proposal as this node keeps it: its block whole. */
function checkFullPrepare(p: M.BlockPrepare): void {
  needPresent(p.block, 'block')
  need(p.compact == null, 'a kept proposal holds its block whole')
  checkBlock(p.block)
  checkPrepareRest(p)
}

function checkPrepareRest(p: M.BlockPrepare): void {
  needPresent(p.electionCert, 'electionCert')
  checkElectionCertificate(p.electionCert)
  if (p.validCert != null) checkCertificate(p.validCert, 'validCert')
  need((p.validRound == null) === (p.validCert == null), 'validRound and validCert go together')
  nodeSignature(p.signature)
}

function checkAdd(a: M.Add): void {
  hash(a.blockHash, 'blockHash')
  needPresent(a.permitCert, 'permitCert')
  checkCertificate(a.permitCert, 'permitCert')
  nodeSignature(a.signature)
}

function checkFinal(f: M.Final): void {
  hash(f.blockHash, 'blockHash')
  needPresent(f.commitCert, 'commitCert')
  checkCertificate(f.commitCert, 'commitCert')
}

function exactlyOne(fields: unknown[], names: string): void {
  need(fields.filter((f) => f != null).length === 1, `exactly one of ${names} must be set`)
}

// ------------------------------------------------------------------ the codecs

/**
 * The generated codecs with a hand-made encode where it is hot (splice.ts): a tx, and the batch and
 * the final block made of them, are re-encoded to check every decode is canonical, and a tx is
 * encoded for its hash and size.
 */
const TxProtons: Protons<M.Tx> = { encode: encodeTx, decode: (b, o) => M.Tx.decode(b, o) }
const TxBatchProtons: Protons<M.TxBatch> = {
  encode: (b) => encodeTxBatchWith(b),
  decode: (b, o) => M.TxBatch.decode(b, o),
}
const FinalizedBlockProtons: Protons<M.FinalizedBlock> = {
  encode: (f) => encodeFinalizedBlockWith(f),
  decode: (b, o) => M.FinalizedBlock.decode(b, o),
}

export const TxCodec = wireCodec('Tx', TxProtons, L.MAX_TX_BYTES, {}, (tx) => checkTx(tx))

export const GasGrantCodec = wireCodec('GasGrant', M.GasGrant, 128, {}, (g) => {
  hash(g.to, 'to')
  need(g.amount > 0, 'amount must be positive')
})

export const AccountRegistrationCodec = wireCodec(
  'AccountRegistration',
  M.AccountRegistration,
  L.MAX_ACCOUNT_BYTES,
  {},
  (a) => checkAccount(a),
)

export const VoteCodec = wireCodec('Vote', M.Vote, L.MAX_VOTE_BYTES, {}, checkVote)

/** A batch vote's shape: its rejected indexes ascending and within the batch, a reason each. */
function checkBatchVote(v: M.BatchVote, at = 'batchVote'): void {
  need(
    v.phase === M.Phase.PRE_PREPARE || v.phase === M.Phase.PREPARE,
    `${at}.phase is not a tx phase`,
  )
  hash(v.batch, `${at}.batch`)
  need(v.count > 0, `${at}.count is 0`)
  needMax(v.count, L.MAX_BATCH_TXS, `${at}.count`)
  need(v.rejected.length === v.reasons.length, `${at}: one reason per rejected tx`)
  needMax(v.rejected.length, v.count, `${at}.rejected`)
  for (let i = 0; i < v.rejected.length; i++) {
    need(v.rejected[i]! < v.count, `${at}.rejected[${i}] is past the batch`)
    need(i === 0 || v.rejected[i]! > v.rejected[i - 1]!, `${at}.rejected is not ascending`)
    const why = rejectReasonFromWire(v.reasons[i]!)
    need(why != null && why !== M.RejectReason.NONE, `${at}.reasons[${i}] is not a reject reason`)
  }
  peerId(v.voter, `${at}.voter`)
  nodeSignature(v.signature, `${at}.signature`)
}

function checkBatchCertificate(c: M.BatchCertificate, at = 'cert'): void {
  need(
    c.phase === M.Phase.PRE_PREPARE || c.phase === M.Phase.PREPARE,
    `${at}.phase is not a tx phase`,
  )
  hash(c.batch, `${at}.batch`)
  need(c.votes.length > 0, `${at}.votes is empty`)
  needMax(c.votes.length, L.MAX_VALIDATORS_ON_WIRE, `${at}.votes`)
  c.votes.forEach((v, i) => {
    checkBatchVote(v, `${at}.votes[${i}]`)
    need(
      v.phase === c.phase && v.count === c.count,
      `${at}.votes[${i}] is for another phase or batch size`,
    )
    need(bytesEqual(v.batch, c.batch), `${at}.votes[${i}] is for another batch`)
  })
}

const batchVoteLimits = { rejected: L.MAX_BATCH_TXS, reasons: L.MAX_BATCH_TXS }

export const VoteBatchCodec = wireCodec(
  'VoteBatch',
  M.VoteBatch,
  L.MAX_VOTE_BATCH * (L.MAX_VOTE_BYTES + 4) +
    L.MAX_BATCH_VOTES_PER_REQUEST * (L.MAX_BATCH_VOTE_BYTES + 4),
  {
    votes: L.MAX_VOTE_BATCH,
    batchVotes: L.MAX_BATCH_VOTES_PER_REQUEST,
    batchVotes$: batchVoteLimits,
  },
  (b) => {
    need(b.votes.length + b.batchVotes.length > 0, 'votes is empty')
    needMax(b.votes.length, L.MAX_VOTE_BATCH, 'votes')
    needMax(b.batchVotes.length, L.MAX_BATCH_VOTES_PER_REQUEST, 'batchVotes')
    for (const v of b.votes) checkVote(v)
    for (const v of b.batchVotes) checkBatchVote(v)
  },
)

export const VoteBatchReplyCodec = wireCodec(
  'VoteBatchReply',
  M.VoteBatchReply,
  (L.MAX_VOTE_BATCH + L.MAX_BATCH_VOTES_PER_REQUEST) * 300,
  { refused: L.MAX_VOTE_BATCH + L.MAX_BATCH_VOTES_PER_REQUEST },
  (r) => {
    needMax(r.refused.length, L.MAX_VOTE_BATCH + L.MAX_BATCH_VOTES_PER_REQUEST, 'refused')
    for (const x of r.refused) {
      need(x.index < L.MAX_VOTE_BATCH + L.MAX_BATCH_VOTES_PER_REQUEST, 'refused index out of range')
      need(x.error.length > 0, 'a refusal has an error')
      needMax(x.error.length, 256, 'error characters')
    }
  },
)

export const CertificateCodec = wireCodec(
  'Certificate',
  M.Certificate,
  L.MAX_CERTIFICATE_BYTES,
  sigLimits,
  (c) => checkCertificate(c),
)

export const TxBatchCodec = wireCodec(
  'TxBatch',
  TxBatchProtons,
  L.MAX_TX_BATCH_BYTES,
  { txs: L.MAX_BATCH_TXS },
  (b) => {
    peerId(b.target, 'target')
    need(b.txs.length > 0, 'txs is empty')
    needMax(b.txs.length, L.MAX_BATCH_TXS, 'txs')
    checkTxs(b.txs, 'txs')
    nodeSignature(b.signature)
  },
)

export const BatchVoteCodec = wireCodec(
  'BatchVote',
  M.BatchVote,
  L.MAX_BATCH_VOTE_BYTES,
  batchVoteLimits,
  (v) => checkBatchVote(v),
)

const batchCertLimits = { votes: L.MAX_VALIDATORS_ON_WIRE, votes$: batchVoteLimits }
const MAX_BATCH_CERT_BYTES = 64 + 64 * (L.MAX_BATCH_VOTE_BYTES + 8)

export const BatchPrepareCodec = wireCodec(
  'BatchPrepare',
  M.BatchPrepare,
  MAX_BATCH_CERT_BYTES + 128,
  { cert: batchCertLimits },
  (p) => {
    peerId(p.target, 'target')
    hash(p.batch, 'batch')
    needPresent(p.cert, 'cert')
    checkBatchCertificate(p.cert)
    need(bytesEqual(p.cert.batch, p.batch), 'cert is for another batch')
    need(p.cert.phase === M.Phase.PRE_PREPARE, 'a prepare carries PRE_PREPARE votes')
  },
)

export const BatchCommitCodec = wireCodec(
  'BatchCommit',
  M.BatchCommit,
  MAX_BATCH_CERT_BYTES + 64,
  { cert: batchCertLimits },
  (c) => {
    hash(c.batch, 'batch')
    needPresent(c.cert, 'cert')
    checkBatchCertificate(c.cert)
    need(bytesEqual(c.cert.batch, c.batch), 'cert is for another batch')
    need(c.cert.phase === M.Phase.PREPARE, 'a commit carries PREPARE votes')
  },
)

export const ElectionMessageCodec = wireCodec(
  'ElectionMessage',
  M.ElectionMessage,
  512,
  {},
  (m) => {
    exactlyOne([m.request, m.vote], 'request, vote')
    if (m.request != null) {
      peerId(m.request.candidate, 'request.candidate')
      nodeSignature(m.request.signature, 'request.signature')
    }
    if (m.vote != null) checkElectionVote(m.vote, 'vote')
    if (m.request != null) need(m.relay == null, 'only an election vote is relayed')
  },
)

export const ElectionCertificateCodec = wireCodec(
  'ElectionCertificate',
  M.ElectionCertificate,
  L.MAX_CERTIFICATE_BYTES,
  sigLimits,
  (c) => checkElectionCertificate(c),
)

export const BlockHeaderCodec = wireCodec('BlockHeader', M.BlockHeader, 1024, {}, checkHeader)

export const BlockCodec = wireCodec('Block', M.Block, L.MAX_BLOCK_BYTES, blockLimits, checkBlock)

export const BlockSyncMessageCodec = wireCodec(
  'BlockSyncMessage',
  M.BlockSyncMessage,
  L.MAX_GOSSIP_BYTES,
  {
    prepare: {
      block: blockLimits,
      compact: compactLimits,
      electionCert: sigLimits,
      validCert: sigLimits,
    },
    add: { permitCert: sigLimits },
    final: { commitCert: sigLimits },
  },
  (m) => {
    exactlyOne([m.prepare, m.add, m.final], 'prepare, add, final')
    if (m.prepare != null) checkPrepareBlock(m.prepare)
    if (m.add != null) checkAdd(m.add)
    if (m.final != null) checkFinal(m.final)
  },
)

export const FinalizedBlockCodec = wireCodec(
  'FinalizedBlock',
  FinalizedBlockProtons,
  L.MAX_BLOCK_BYTES + L.MAX_CERTIFICATE_BYTES,
  { block: blockLimits, commitCert: sigLimits },
  (f) => {
    needPresent(f.block, 'block')
    checkBlock(f.block)
    needPresent(f.commitCert, 'commitCert')
    checkCertificate(f.commitCert, 'commitCert')
  },
)

export const StatusCodec = wireCodec(
  'Status',
  M.Status,
  L.MAX_STATUS_BYTES,
  { peers: L.MAX_STATUS_PEERS, peers$: { addrs: L.MAX_PEER_ADDRS } },
  (s) => {
    chainId(s.chainId)
    need(s.role !== M.Role.ROLE_UNSPECIFIED, 'role is unspecified')
    hash(s.genesisHash, 'genesisHash')
    hash(s.headHash, 'headHash')
    needMax(s.peers.length, L.MAX_STATUS_PEERS, 'peers')
    s.peers.forEach((p, i) => {
      peerId(p.peerId, `peers[${i}].peerId`)
      needMax(p.addrs.length, L.MAX_PEER_ADDRS, `peers[${i}].addrs`)
      for (const a of p.addrs) needMax(a.length, L.MAX_ADDR_BYTES, `peers[${i}].addrs bytes`)
      if (p.record != null) needMax(p.record.length, L.MAX_PEER_RECORD_BYTES, `peers[${i}].record`)
    })
  },
)

export const HistoryRequestCodec = wireCodec('HistoryRequest', M.HistoryRequest, 128, {}, (r) => {
  need(
    [r.txHash, r.batchHash, r.blockHash].filter((f) => f != null).length <= 1,
    'at most one of txHash, batchHash, blockHash',
  )
  if (r.blockHash != null) {
    hash(r.blockHash, 'blockHash')
    return
  }
  if (r.txHash != null) {
    hash(r.txHash, 'txHash')
    return
  }
  if (r.batchHash != null) {
    hash(r.batchHash, 'batchHash')
    return
  }
  need(r.fromHeight >= 1, 'fromHeight must be >= 1')
  need(r.toHeight >= r.fromHeight, 'toHeight must be >= fromHeight')
  needMax(r.toHeight - r.fromHeight + 1, L.MAX_HISTORY_BLOCKS, 'requested blocks')
})

export const HistoryResponseCodec = wireCodec(
  'HistoryResponse',
  M.HistoryResponse,
  L.MAX_HISTORY_RESPONSE_BYTES,
  {
    blocks: L.MAX_HISTORY_BLOCKS,
    blocks$: { block: blockLimits, commitCert: sigLimits },
    batch: { txs: L.MAX_BATCH_TXS },
    block: blockLimits,
  },
  (r) => {
    needMax(r.blocks.length, L.MAX_HISTORY_BLOCKS, 'blocks')
    for (const b of r.blocks) {
      needPresent(b.block, 'blocks[].block')
      checkBlock(b.block)
      needPresent(b.commitCert, 'blocks[].commitCert')
      checkCertificate(b.commitCert, 'blocks[].commitCert')
    }
    if (r.tx != null) checkTx(r.tx)
    if (r.block != null) checkBlock(r.block)
    if (r.batch != null) {
      peerId(r.batch.target, 'batch.target')
      needMax(r.batch.txs.length, L.MAX_BATCH_TXS, 'batch.txs')
      checkTxs(r.batch.txs, 'batch.txs')
      nodeSignature(r.batch.signature, 'batch.signature')
    }
    needMax(r.error.length, 256, 'error characters')
    const parts = [r.blocks.length > 0, r.tx != null, r.batch != null].filter(Boolean).length
    need(parts <= 1, 'blocks, tx and batch are exclusive')
    need(r.error.length === 0 || parts === 0, 'an error comes alone')
  },
)

export const PoolRecordCodec = wireCodec(
  'PoolRecord',
  M.PoolRecord,
  L.MAX_TX_BYTES + L.MAX_ACCOUNT_BYTES + 64,
  {},
  (r) => {
    exactlyOne([r.tx, r.account], 'tx, account')
    need((r.tx == null) === (r.batch == null), 'a pooled tx comes with the batch that committed it')
    if (r.tx != null) checkTx(r.tx)
    if (r.batch != null) hash(r.batch, 'batch')
    if (r.account != null) checkAccount(r.account)
  },
)

export const PoolTxsCodec = wireCodec(
  'PoolTxs',
  M.PoolTxs,
  L.MAX_POOL_RECORD_BYTES + L.MAX_TX_BYTES + 64,
  { txs: L.MAX_POOL_RECORD_TXS },
  (r) => {
    need(r.txs.length > 0, 'txs is empty')
    needMax(r.txs.length, L.MAX_POOL_RECORD_TXS, 'txs')
    for (const [i, t] of r.txs.entries()) {
      needPresent(t.tx, `txs[${i}].tx`)
      needPresent(t.batch, `txs[${i}].batch`)
      need(t.account == null, `txs[${i}] holds an account`)
      checkTx(t.tx, `txs[${i}].tx`)
      hash(t.batch, `txs[${i}].batch`)
    }
  },
)

export const AccountRecordCodec = wireCodec(
  'AccountRecord',
  M.AccountRecord,
  L.MAX_ACCOUNT_BYTES + 64 * 1024,
  { lots: 4096 },
  (a) => {
    need(a.username.length > 0, 'username is empty')
    need(a.publicKey.length > 0, 'publicKey is missing')
  },
)

export const UnclaimedRecordCodec = wireCodec(
  'UnclaimedRecord',
  M.UnclaimedRecord,
  64 * 1024,
  { lots: 4096 },
  () => {},
)

export const ReceiptsCodec = wireCodec(
  'Receipts',
  M.Receipts,
  L.MAX_BLOCK_BYTES,
  { txs: L.MAX_BLOCK_TXS, accounts: L.MAX_BLOCK_ACCOUNTS },
  (r) => {
    for (const list of [r.txs, r.accounts])
      for (const x of list) {
        if (x.hash.length !== HASH_BYTES) hash(x.hash, 'receipt.hash')
        need(x.status !== M.ReceiptStatus.RECEIPT_UNSPECIFIED, 'receipt.status is unspecified')
      }
  },
)

function checkProposal(p: M.SignedProposal, at: string): void {
  needPresent(p.statement, `${at}.statement`)
  hash(p.statement.blockHash, `${at}.statement.blockHash`)
  nodeSignature(p.signature, `${at}.signature`)
}

function checkElectionVote(v: M.ElectionVote, at: string): void {
  peerId(v.candidate, `${at}.candidate`)
  peerId(v.voter, `${at}.voter`)
  nodeSignature(v.signature, `${at}.signature`)
}

/** Two signed messages of one kind by one offender: the pair its kind names, nothing else. */
export const EvidenceCodec = wireCodec(
  'Evidence',
  M.Evidence,
  4 * 1024 + 2 * L.MAX_BATCH_VOTE_BYTES,
  { firstBatchVote: batchVoteLimits, secondBatchVote: batchVoteLimits },
  (e) => {
    peerId(e.offender, 'offender')
    const votes = e.firstVote != null || e.secondVote != null
    const elections = e.firstElection != null || e.secondElection != null
    const proposals = e.firstProposal != null || e.secondProposal != null
    const batchVotes = e.firstBatchVote != null || e.secondBatchVote != null
    switch (e.kind) {
      case M.EvidenceKind.BLOCK_VOTE:
        need(
          e.firstVote != null && e.secondVote != null && !elections && !proposals && !batchVotes,
          'two votes',
        )
        checkVote(e.firstVote!)
        checkVote(e.secondVote!)
        break
      case M.EvidenceKind.TX_VOTE:
        need(
          e.firstBatchVote != null &&
            e.secondBatchVote != null &&
            !votes &&
            !elections &&
            !proposals,
          'two batch votes',
        )
        checkBatchVote(e.firstBatchVote!, 'firstBatchVote')
        checkBatchVote(e.secondBatchVote!, 'secondBatchVote')
        break
      case M.EvidenceKind.ELECTION_VOTE:
        need(
          e.firstElection != null && e.secondElection != null && !votes && !proposals,
          'two election votes',
        )
        checkElectionVote(e.firstElection!, 'firstElection')
        checkElectionVote(e.secondElection!, 'secondElection')
        break
      case M.EvidenceKind.PROPOSAL:
        need(
          e.firstProposal != null && e.secondProposal != null && !votes && !elections,
          'two proposals',
        )
        checkProposal(e.firstProposal!, 'firstProposal')
        checkProposal(e.secondProposal!, 'secondProposal')
        break
      default:
        need(false, 'kind is unspecified')
    }
  },
)

export const SignStateCodec = wireCodec(
  'SignState',
  M.SignState,
  2 * L.MAX_BLOCK_BYTES + 64 * 1024,
  {
    validCert: sigLimits,
    validPrepare: { block: blockLimits, electionCert: sigLimits, validCert: sigLimits },
    validAdd: { permitCert: sigLimits },
  },
  (s) => {
    need(
      (s.lockedRound == null) === (s.lockedHash == null),
      'lockedRound and lockedHash go together',
    )
    if (s.lockedHash != null) hash(s.lockedHash, 'lockedHash')
    need(
      (s.validRound == null) === (s.validPrepare == null) &&
        (s.validPrepare == null) === (s.validCert == null),
      'validRound, validPrepare and validCert go together',
    )
    if (s.validPrepare != null) checkFullPrepare(s.validPrepare)
    if (s.validAdd != null) checkAdd(s.validAdd)
  },
)
