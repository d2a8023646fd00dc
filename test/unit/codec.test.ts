import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { encodeBlockPrepare, encodeSignState } from '../../src/core/chain/tx-encoding.js'
import {
  AccountRecordCodec,
  AccountRegistrationCodec,
  BatchCommitCodec,
  BatchPrepareCodec,
  BatchVoteCodec,
  BlockCodec,
  BlockHeaderCodec,
  BlockSyncMessageCodec,
  CertificateCodec,
  DecodeError,
  type DecodeErrorCode,
  ElectionCertificateCodec,
  ElectionMessageCodec,
  EvidenceCodec,
  FinalizedBlockCodec,
  GasGrantCodec,
  HistoryRequestCodec,
  HistoryResponseCodec,
  KeyType,
  MAX_BATCH_TXS,
  MAX_BLOCK_ACCOUNTS,
  MAX_BLOCK_TXS,
  MAX_HISTORY_BLOCKS,
  MAX_PEER_ADDRS,
  MAX_STATUS_PEERS,
  MAX_VALIDATORS_ON_WIRE,
  Phase,
  PoolRecordCodec,
  PoolTxsCodec,
  ReceiptsCodec,
  RejectReason,
  Role,
  rejectReasonToWire,
  SignStateCodec,
  StatusCodec,
  TxBatchCodec,
  TxCodec,
  TxKind,
  UnclaimedRecordCodec,
  VoteBatchCodec,
  VoteBatchReplyCodec,
  VoteCodec,
  VoteResult,
  type WireCodec,
} from '../../src/core/codec/index.js'
import * as M from '../../src/core/codec/messages.js'
import { listRoot, sha256, toHex } from '../../src/core/crypto/hash.js'
import { addressOf, sign } from '../../src/core/crypto/keys.js'
import { SignKind } from '../../src/core/crypto/signing.js'
import {
  CHAIN_ID,
  concatBytes,
  ed25519Signer,
  hashOf,
  type NodeIdentity,
  signatureOf,
  validators,
  Xorshift,
} from './fixtures.js'

// ------------------------------------------------------------------ realistic messages

const utf8 = new TextEncoder()
const vals = validators(4)
const [v0, v1, v2, v3] = vals as [NodeIdentity, NodeIdentity, NodeIdentity, NodeIdentity]
const alice = ed25519Signer('alice')
const bob = ed25519Signer('bob')
const authority = ed25519Signer('authority')

function bytes(b: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(b)
}

function signedTx(tx: M.Tx, signer = alice): M.Tx {
  const body = TxCodec.encode({ ...tx, signature: new Uint8Array(0) })
  return { ...tx, signature: bytes(sign(signer, CHAIN_ID, SignKind.Tx, body)) }
}

const gasGrant: M.GasGrant = { to: bytes(addressOf(bob.publicKey)), amount: 1_000_000 }

const dataTx = signedTx({
  chainId: CHAIN_ID,
  kind: TxKind.DATA,
  from: bytes(addressOf(alice.publicKey)),
  nonce: 7,
  gas: 3,
  data: utf8.encode('{"record":"hello, chain"}'),
  signature: new Uint8Array(0),
})

const grantTx = signedTx(
  {
    chainId: CHAIN_ID,
    kind: TxKind.GAS_GRANT,
    from: bytes(addressOf(authority.publicKey)),
    nonce: 1,
    gas: 0,
    data: GasGrantCodec.encode(gasGrant),
    signature: new Uint8Array(0),
  },
  authority,
)

const txHash = sha256(TxCodec.encode(dataTx))

const account: M.AccountRegistration = (() => {
  const a: M.AccountRegistration = {
    chainId: CHAIN_ID,
    username: 'alice',
    data: '{"email":"alice@example.org"}',
    keyType: KeyType.ED25519,
    publicKey: bytes(alice.publicKey),
    signature: new Uint8Array(0),
  }
  const body = AccountRegistrationCodec.encode(a)
  return { ...a, signature: bytes(sign(alice, CHAIN_ID, SignKind.Account, body)) }
})()

function voteSignatures(subject: string, voters: NodeIdentity[]): M.VoteSignature[] {
  return voters.map((v) => ({ voter: v.peerId, signature: signatureOf(v, subject) }))
}

function certificate(
  phase: M.Phase,
  subject: Uint8Array,
  height: number,
  round: number,
  voters: NodeIdentity[] = [v0, v1, v2],
): M.Certificate {
  return {
    phase,
    subject: bytes(subject),
    height,
    round,
    signatures: voteSignatures(`${phase}:${height}:${round}`, voters),
  }
}

/** A certificate with `n` signatures, voters repeating: only the count matters to the codec. */
function bigCertificate(n: number): M.Certificate {
  const c = certificate(Phase.PREPARE, txHash, 0, 0, [])
  const sig = voteSignatures('big', vals)
  c.signatures = Array.from({ length: n }, (_, i) => sig[i % sig.length] as M.VoteSignature)
  return c
}

const vote: M.Vote = {
  phase: Phase.BLOCK_PERMIT,
  subject: hashOf('block-12'),
  height: 12,
  round: 1,
  result: VoteResult.REJECT,
  reason: RejectReason.LOCKED,
  voter: v2.peerId,
  signature: signatureOf(v2, 'vote'),
}

const batchHash = hashOf('batch-1')

const batchVote: M.BatchVote = {
  phase: Phase.PRE_PREPARE,
  batch: batchHash,
  count: 3,
  rejected: [1],
  reasons: [rejectReasonToWire(RejectReason.NONCE_USED)],
  voter: v2.peerId,
  signature: signatureOf(v2, 'batch-vote'),
}

const voteBatch: M.VoteBatch = {
  votes: [vote, { ...vote, voter: v1.peerId, signature: signatureOf(v1, 'vote') }],
  batchVotes: [batchVote],
}

const voteBatchReply: M.VoteBatchReply = { refused: [{ index: 1, error: 'stale round' }] }

const prePrepareCert = certificate(Phase.PRE_PREPARE, txHash, 0, 0)
const prepareCert = certificate(Phase.PREPARE, txHash, 0, 0, [v0, v1, v3])

const txBatch: M.TxBatch = {
  target: v0.peerId,
  seq: 12,
  txs: [dataTx, dataTx],
  signature: signatureOf(v0, 'tx-batch'),
}

function batchCert(phase: M.Phase, voters: NodeIdentity[] = [v0, v1, v2]): M.BatchCertificate {
  return {
    phase,
    batch: batchHash,
    count: 3,
    votes: voters.map((v) => ({
      ...batchVote,
      phase,
      rejected: [],
      reasons: [],
      voter: v.peerId,
      signature: signatureOf(v, `batch-vote-${Phase[phase]}`),
    })),
  }
}

const batchPrepare: M.BatchPrepare = {
  target: v0.peerId,
  batch: batchHash,
  cert: batchCert(Phase.PRE_PREPARE),
}

const batchCommit: M.BatchCommit = { batch: batchHash, cert: batchCert(Phase.PREPARE) }

/** What a batch certificate must not be, for either message that carries one. */
function batchCertInvalid<T>(get: (m: T) => M.BatchCertificate): Mutation<T>[] {
  return [
    [
      'cert batch of 31 bytes',
      (m) => {
        get(m).batch = short(31)
      },
    ],
    [
      'cert without votes',
      (m) => {
        get(m).votes = []
      },
    ],
    [
      'a vote of the cert for another batch',
      (m) => {
        ;(get(m).votes[0] as M.BatchVote).batch = hashOf('batch-2')
      },
    ],
    [
      'a vote of the cert for another batch size',
      (m) => {
        ;(get(m).votes[0] as M.BatchVote).count = 4
      },
    ],
    [
      'a vote of the cert in a block phase',
      (m) => {
        ;(get(m).votes[0] as M.BatchVote).phase = Phase.BLOCK_COMMIT
      },
    ],
  ]
}

const electionRequest: M.ElectionMessage = {
  request: { height: 12, round: 1, candidate: v1.peerId, signature: signatureOf(v1, 'request') },
}

const electionVote: M.ElectionMessage = {
  vote: {
    height: 12,
    round: 1,
    candidate: v1.peerId,
    voter: v3.peerId,
    signature: signatureOf(v3, 'election-vote'),
  },
}

const relayedElectionVote: M.ElectionMessage = { ...electionVote, relay: 3 }

const voteEvidence: M.Evidence = {
  kind: M.EvidenceKind.BLOCK_VOTE,
  offender: v2.peerId,
  height: 12,
  round: 1,
  seenAt: 1_700_000_000_000,
  firstVote: vote,
  secondVote: { ...vote, result: VoteResult.PERMIT, reason: RejectReason.NONE },
}

const proposalEvidence: M.Evidence = {
  kind: M.EvidenceKind.PROPOSAL,
  offender: v1.peerId,
  height: 12,
  round: 1,
  seenAt: 1_700_000_000_000,
  firstProposal: {
    statement: { height: 12, round: 1, blockHash: hashOf('block-a') },
    signature: signatureOf(v1, 'proposal-a'),
  },
  secondProposal: {
    statement: { height: 12, round: 1, blockHash: hashOf('block-b'), validRound: 0 },
    signature: signatureOf(v1, 'proposal-b'),
  },
}

const electionCert: M.ElectionCertificate = {
  height: 12,
  round: 1,
  candidate: v1.peerId,
  signatures: voteSignatures('election', [v1, v2, v3]),
}

const header: M.BlockHeader = {
  chainId: CHAIN_ID,
  height: 12,
  round: 1,
  parentHash: hashOf('block-11'),
  proposer: v1.peerId,
  time: 1_767_225_600_123,
  txRoot: bytes(listRoot([sha256(TxCodec.encode(dataTx)), sha256(TxCodec.encode(grantTx))])),
  accountsRoot: bytes(listRoot([sha256(AccountRegistrationCodec.encode(account))])),
  stateRoot: hashOf('state-12'),
}

const block: M.Block = { header, txs: [dataTx, grantTx], accounts: [account] }
const blockHash = bytes(sha256(BlockHeaderCodec.encode(header)))

const blockPrepare: M.BlockSyncMessage = {
  prepare: {
    height: 12,
    round: 1,
    block,
    electionCert,
    validRound: 0,
    validCert: certificate(Phase.BLOCK_PERMIT, blockHash, 12, 0),
    signature: signatureOf(v1, 'block-prepare'),
  },
}

const blockAdd: M.BlockSyncMessage = {
  add: {
    height: 12,
    round: 1,
    blockHash,
    permitCert: certificate(Phase.BLOCK_PERMIT, blockHash, 12, 1),
    signature: signatureOf(v1, 'add'),
  },
}

/** A sign state with everything set: a vote of each kind, a lock, a valid block with its add. */
const signState: M.SignState = {
  height: 1,
  round: 2,
  electionCandidate: v1.peerId,
  permitSubject: hashOf('block-1'),
  commitSubject: hashOf('block-1'),
  lockedRound: 2,
  lockedHash: hashOf('block-1'),
  validRound: 2,
  validCert: prepareCert,
  validPrepare: blockPrepare.prepare!,
  validAdd: blockAdd.add!,
}

const blockFinal: M.BlockSyncMessage = {
  final: {
    height: 12,
    round: 1,
    blockHash,
    commitCert: certificate(Phase.BLOCK_COMMIT, blockHash, 12, 1, [v0, v1, v2, v3]),
  },
}

const finalized: M.FinalizedBlock = {
  block,
  commitCert: certificate(Phase.BLOCK_COMMIT, blockHash, 12, 1),
}

const status: M.Status = {
  chainId: CHAIN_ID,
  genesisHash: hashOf('genesis'),
  height: 12,
  headHash: blockHash,
  role: Role.OBSERVER,
  peers: [
    {
      peerId: v0.peerId,
      addrs: [multiaddr('/ip4/10.0.0.1/tcp/4001').bytes, multiaddr('/ip6/::1/tcp/4001').bytes],
    },
    { peerId: v1.peerId, addrs: [multiaddr('/dns4/v1.example.org/tcp/4001').bytes] },
  ],
}

const historyRange: M.HistoryRequest = { fromHeight: 1, toHeight: MAX_HISTORY_BLOCKS }
const historyTx: M.HistoryRequest = { fromHeight: 0, toHeight: 0, txHash: bytes(txHash) }

const historyBlocks: M.HistoryResponse = {
  blocks: [
    finalized,
    {
      block: { header: { ...header, height: 13, parentHash: blockHash }, txs: [], accounts: [] },
      commitCert: certificate(Phase.BLOCK_COMMIT, hashOf('block-13'), 13, 0),
    },
  ],
  error: '',
}

const historyTxResponse: M.HistoryResponse = { blocks: [], tx: dataTx, error: '' }

// ------------------------------------------------------------------ the table

type Mutation<T> = [label: string, mutate: (m: T) => void]

interface Case {
  name: string
  maxBytes: number
  message: unknown
  encoded: Uint8Array
  decode(bytes: Uint8Array): unknown
  encode(message: unknown): Uint8Array
  /** Encodings of messages with one field out of shape: each must be INVALID_FIELD. */
  invalid: { label: string; bytes: Uint8Array; check: () => void }[]
  /** Encodings with a repeated field over its bound. */
  overLimit: { label: string; bytes: () => Uint8Array }[]
}

function wireCase<T>(
  name: string,
  codec: WireCodec<T>,
  message: T,
  invalid: Mutation<T>[] = [],
  overLimit: Mutation<T>[] = [],
): Case {
  const mutated = (mutate: (m: T) => void): T => {
    const m = structuredClone(message)
    mutate(m)
    return m
  }
  return {
    name,
    maxBytes: codec.maxBytes,
    message,
    encoded: codec.encode(message),
    decode: (bytes) => codec.decode(bytes),
    encode: (m) => codec.encode(m as T),
    invalid: invalid.map(([label, mutate]) => {
      const m = mutated(mutate)
      return { label, bytes: codec.encode(m), check: () => codec.check(m) }
    }),
    overLimit: overLimit.map(([label, mutate]) => ({
      label,
      bytes: () => codec.encode(mutated(mutate)),
    })),
  }
}

const short = (n: number): Uint8Array<ArrayBuffer> => new Uint8Array(n).fill(0xab)

const txInvalid: Mutation<M.Tx>[] = [
  [
    'from of 31 bytes',
    (t) => {
      t.from = short(31)
    },
  ],
  [
    'from of 33 bytes',
    (t) => {
      t.from = short(33)
    },
  ],
  [
    'empty chainId',
    (t) => {
      t.chainId = ''
    },
  ],
  [
    'missing signature',
    (t) => {
      t.signature = new Uint8Array(0)
    },
  ],
]

function certInvalid<T>(get: (m: T) => M.Certificate): Mutation<T>[] {
  return [
    [
      'cert subject of 31 bytes',
      (m) => {
        get(m).subject = short(31)
      },
    ],
    [
      'cert phase unspecified',
      (m) => {
        get(m).phase = Phase.PHASE_UNSPECIFIED
      },
    ],
    [
      'cert voter not a peer id',
      (m) => {
        ;(get(m).signatures[0] as M.VoteSignature).voter = short(38)
      },
    ],
    [
      'cert signature of 63 bytes',
      (m) => {
        ;(get(m).signatures[0] as M.VoteSignature).signature = short(63)
      },
    ],
  ]
}

function headerInvalid<T>(get: (m: T) => M.BlockHeader): Mutation<T>[] {
  return [
    [
      'header parentHash of 31 bytes',
      (m) => {
        get(m).parentHash = short(31)
      },
    ],
    [
      'header txRoot of 33 bytes',
      (m) => {
        get(m).txRoot = short(33)
      },
    ],
    [
      'header accountsRoot empty',
      (m) => {
        get(m).accountsRoot = new Uint8Array(0)
      },
    ],
    [
      'header stateRoot of 16 bytes',
      (m) => {
        get(m).stateRoot = short(16)
      },
    ],
    [
      'header height 0',
      (m) => {
        get(m).height = 0
      },
    ],
    [
      'header proposer not a peer id',
      (m) => {
        get(m).proposer = short(38)
      },
    ],
  ]
}

function blockTxInvalid<T>(get: (m: T) => M.Block): Mutation<T>[] {
  return [
    [
      'block tx from of 31 bytes',
      (m) => {
        ;(get(m).txs[0] as M.Tx).from = short(31)
      },
    ],
    [
      'block account without key',
      (m) => {
        ;(get(m).accounts[0] as M.AccountRegistration).publicKey = new Uint8Array(0)
      },
    ],
  ]
}

function sigsOver<T>(get: (m: T) => M.Certificate | M.ElectionCertificate): Mutation<T> {
  return [
    `${MAX_VALIDATORS_ON_WIRE + 1} signatures`,
    (m) => {
      get(m).signatures = bigCertificate(MAX_VALIDATORS_ON_WIRE + 1).signatures
    },
  ]
}

const cases: Case[] = [
  wireCase('Tx (data)', TxCodec, dataTx, txInvalid),
  wireCase('Tx (gas grant)', TxCodec, grantTx, txInvalid),
  wireCase('GasGrant', GasGrantCodec, gasGrant, [
    [
      'to of 31 bytes',
      (g) => {
        g.to = short(31)
      },
    ],
    [
      'to of 64 bytes',
      (g) => {
        g.to = short(64)
      },
    ],
    [
      'zero amount',
      (g) => {
        g.amount = 0
      },
    ],
  ]),
  wireCase('AccountRegistration', AccountRegistrationCodec, account, [
    [
      'empty username',
      (a) => {
        a.username = ''
      },
    ],
    [
      'username of 65 characters',
      (a) => {
        a.username = 'a'.repeat(65)
      },
    ],
    [
      'empty publicKey',
      (a) => {
        a.publicKey = new Uint8Array(0)
      },
    ],
    [
      'empty signature',
      (a) => {
        a.signature = new Uint8Array(0)
      },
    ],
  ]),
  wireCase('Vote', VoteCodec, vote, [
    [
      'subject of 31 bytes',
      (v) => {
        v.subject = short(31)
      },
    ],
    [
      'subject of 33 bytes',
      (v) => {
        v.subject = short(33)
      },
    ],
    [
      'voter not a peer id',
      (v) => {
        v.voter = short(38)
      },
    ],
    [
      'signature of 65 bytes',
      (v) => {
        v.signature = short(65)
      },
    ],
    [
      'phase unspecified',
      (v) => {
        v.phase = Phase.PHASE_UNSPECIFIED
      },
    ],
  ]),
  wireCase(
    'VoteBatch',
    VoteBatchCodec,
    voteBatch,
    [
      [
        'no votes of either kind',
        (b) => {
          b.votes = []
          b.batchVotes = []
        },
      ],
      [
        'a batch vote with a rejected index past its batch',
        (b) => {
          ;(b.batchVotes[0] as M.BatchVote).rejected = [7]
        },
      ],
      [
        'a vote with an unspecified result',
        (b) => {
          ;(b.votes[0] as M.Vote).result = VoteResult.RESULT_UNSPECIFIED
        },
      ],
    ],
    [
      [
        '4097 votes',
        (b) => {
          b.votes = Array.from({ length: 4097 }, () => vote)
        },
      ],
    ],
  ),
  wireCase('VoteBatchReply', VoteBatchReplyCodec, voteBatchReply, [
    [
      'a refusal without an error',
      (r) => {
        ;(r.refused[0] as M.VoteRefusal).error = ''
      },
    ],
    [
      'error of 257 characters',
      (r) => {
        ;(r.refused[0] as M.VoteRefusal).error = 'x'.repeat(257)
      },
    ],
  ]),
  wireCase(
    'Certificate',
    CertificateCodec,
    prePrepareCert,
    certInvalid((c: M.Certificate) => c),
    [sigsOver((c: M.Certificate) => c)],
  ),
  wireCase(
    'TxBatch',
    TxBatchCodec,
    txBatch,
    [
      [
        'no txs',
        (b) => {
          b.txs = []
        },
      ],
      [
        'target not a peer id',
        (b) => {
          b.target = short(38)
        },
      ],
      [
        'a tx with from of 33 bytes',
        (b) => {
          ;(b.txs[1] as M.Tx).from = short(33)
        },
      ],
      [
        'signature of 63 bytes',
        (b) => {
          b.signature = short(63)
        },
      ],
    ],
    [
      [
        `${MAX_BATCH_TXS + 1} txs`,
        (b) => {
          b.txs = Array.from({ length: MAX_BATCH_TXS + 1 }, () => dataTx)
        },
      ],
    ],
  ),
  wireCase('BatchVote', BatchVoteCodec, batchVote, [
    [
      'a block phase',
      (v) => {
        v.phase = Phase.BLOCK_PERMIT
      },
    ],
    [
      'batch of 33 bytes',
      (v) => {
        v.batch = short(33)
      },
    ],
    [
      'count 0',
      (v) => {
        v.count = 0
      },
    ],
    [
      `count ${MAX_BATCH_TXS + 1}`,
      (v) => {
        v.count = MAX_BATCH_TXS + 1
      },
    ],
    [
      'a rejected index past the batch',
      (v) => {
        v.rejected = [3]
      },
    ],
    [
      'rejected indexes not ascending',
      (v) => {
        v.rejected = [2, 1]
        v.reasons = [v.reasons[0]!, v.reasons[0]!]
      },
    ],
    [
      'a rejected tx without its reason',
      (v) => {
        v.reasons = []
      },
    ],
    [
      'a reject reason of NONE',
      (v) => {
        v.reasons = [rejectReasonToWire(RejectReason.NONE)]
      },
    ],
    [
      'a reject reason no one knows',
      (v) => {
        v.reasons = [9_999]
      },
    ],
    [
      'voter not a peer id',
      (v) => {
        v.voter = short(38)
      },
    ],
  ]),
  wireCase('BatchPrepare', BatchPrepareCodec, batchPrepare, [
    [
      'cert missing',
      (p) => {
        delete p.cert
      },
    ],
    [
      'cert for another batch than the message',
      (p) => {
        p.batch = hashOf('batch-2')
      },
    ],
    [
      'PREPARE votes in a prepare',
      (p) => {
        p.cert = batchCert(Phase.PREPARE)
      },
    ],
    ...batchCertInvalid((p: M.BatchPrepare) => p.cert as M.BatchCertificate),
  ]),
  wireCase('BatchCommit', BatchCommitCodec, batchCommit, [
    [
      'cert missing',
      (c) => {
        delete c.cert
      },
    ],
    [
      'batch of 31 bytes',
      (c) => {
        c.batch = short(31)
      },
    ],
    [
      'PRE_PREPARE votes in a commit',
      (c) => {
        c.cert = batchCert(Phase.PRE_PREPARE)
      },
    ],
    ...batchCertInvalid((c: M.BatchCommit) => c.cert as M.BatchCertificate),
  ]),
  wireCase('ElectionMessage (request)', ElectionMessageCodec, electionRequest, [
    [
      'candidate of 37 bytes',
      (m) => {
        ;(m.request as M.ElectionRequest).candidate = short(37)
      },
    ],
    [
      'signature of 63 bytes',
      (m) => {
        ;(m.request as M.ElectionRequest).signature = short(63)
      },
    ],
    [
      'both request and vote',
      (m) => {
        m.vote = structuredClone(electionVote.vote)
      },
    ],
    [
      'neither request nor vote',
      (m) => {
        delete m.request
      },
    ],
  ]),
  wireCase('ElectionMessage (vote)', ElectionMessageCodec, electionVote, [
    [
      'voter of 37 bytes',
      (m) => {
        ;(m.vote as M.ElectionVote).voter = short(37)
      },
    ],
    [
      'candidate empty',
      (m) => {
        ;(m.vote as M.ElectionVote).candidate = new Uint8Array(0)
      },
    ],
    [
      'both request and vote',
      (m) => {
        m.request = structuredClone(electionRequest.request)
      },
    ],
  ]),
  wireCase('ElectionMessage (relayed vote)', ElectionMessageCodec, relayedElectionVote, [
    [
      'a relayed request',
      (m) => {
        m.request = structuredClone(electionRequest.request)
        delete m.vote
      },
    ],
  ]),
  wireCase('Evidence (block votes)', EvidenceCodec, voteEvidence, [
    [
      'one vote only',
      (e) => {
        delete e.secondVote
      },
    ],
    [
      'votes and election votes together',
      (e) => {
        e.firstElection = structuredClone(electionVote.vote)
      },
    ],
    [
      'offender of 37 bytes',
      (e) => {
        e.offender = short(37)
      },
    ],
  ]),
  wireCase('Evidence (proposals)', EvidenceCodec, proposalEvidence, [
    [
      'a block hash of 31 bytes',
      (e) => {
        ;(e.firstProposal as M.SignedProposal).statement!.blockHash = short(31)
      },
    ],
    [
      'kind unspecified',
      (e) => {
        e.kind = M.EvidenceKind.EVIDENCE_UNSPECIFIED
      },
    ],
  ]),
  wireCase(
    'ElectionCertificate',
    ElectionCertificateCodec,
    electionCert,
    [
      [
        'candidate not a peer id',
        (c) => {
          c.candidate = short(38)
        },
      ],
      [
        'voter of 37 bytes',
        (c) => {
          ;(c.signatures[1] as M.VoteSignature).voter = short(37)
        },
      ],
    ],
    [sigsOver((c: M.ElectionCertificate) => c)],
  ),
  wireCase(
    'BlockHeader',
    BlockHeaderCodec,
    header,
    headerInvalid((h: M.BlockHeader) => h),
  ),
  wireCase(
    'Block',
    BlockCodec,
    block,
    [
      [
        'header missing',
        (b) => {
          delete b.header
        },
      ],
      ...headerInvalid((b: M.Block) => b.header as M.BlockHeader),
      ...blockTxInvalid((b: M.Block) => b),
    ],
    [
      [
        `${MAX_BLOCK_TXS + 1} txs`,
        (b) => {
          b.txs = Array.from({ length: MAX_BLOCK_TXS + 1 }, () => dataTx)
        },
      ],
      [
        `${MAX_BLOCK_ACCOUNTS + 1} accounts`,
        (b) => {
          b.accounts = Array.from({ length: MAX_BLOCK_ACCOUNTS + 1 }, () => account)
        },
      ],
    ],
  ),
  wireCase(
    'BlockSyncMessage (prepare)',
    BlockSyncMessageCodec,
    blockPrepare,
    [
      ...headerInvalid(
        (m: M.BlockSyncMessage) => (m.prepare!.block as M.Block).header as M.BlockHeader,
      ),
      ...blockTxInvalid((m: M.BlockSyncMessage) => m.prepare!.block as M.Block),
      ...certInvalid((m: M.BlockSyncMessage) => m.prepare!.validCert as M.Certificate),
      [
        'electionCert candidate not a peer id',
        (m) => {
          ;(m.prepare!.electionCert as M.ElectionCertificate).candidate = short(38)
        },
      ],
      [
        'block missing',
        (m) => {
          delete m.prepare!.block
        },
      ],
      [
        'electionCert missing',
        (m) => {
          delete m.prepare!.electionCert
        },
      ],
      [
        'validRound without validCert',
        (m) => {
          delete m.prepare!.validCert
        },
      ],
      [
        'validCert without validRound',
        (m) => {
          delete m.prepare!.validRound
        },
      ],
      [
        'prepare and add',
        (m) => {
          m.add = structuredClone(blockAdd.add)
        },
      ],
      [
        'prepare and final',
        (m) => {
          m.final = structuredClone(blockFinal.final)
        },
      ],
      [
        'prepare, add and final',
        (m) => {
          m.add = structuredClone(blockAdd.add)
          m.final = structuredClone(blockFinal.final)
        },
      ],
      [
        'none of prepare, add, final',
        (m) => {
          delete m.prepare
        },
      ],
    ],
    [
      sigsOver((m: M.BlockSyncMessage) => m.prepare!.electionCert as M.ElectionCertificate),
      sigsOver((m: M.BlockSyncMessage) => m.prepare!.validCert as M.Certificate),
      [
        `block with ${MAX_BLOCK_ACCOUNTS + 1} accounts`,
        (m) => {
          ;(m.prepare!.block as M.Block).accounts = Array.from(
            { length: MAX_BLOCK_ACCOUNTS + 1 },
            () => account,
          )
        },
      ],
    ],
  ),
  wireCase(
    'BlockSyncMessage (add)',
    BlockSyncMessageCodec,
    blockAdd,
    [
      [
        'blockHash of 31 bytes',
        (m) => {
          ;(m.add as M.Add).blockHash = short(31)
        },
      ],
      [
        'blockHash empty',
        (m) => {
          ;(m.add as M.Add).blockHash = new Uint8Array(0)
        },
      ],
      [
        'permitCert missing',
        (m) => {
          delete m.add!.permitCert
        },
      ],
      [
        'signature missing',
        (m) => {
          ;(m.add as M.Add).signature = new Uint8Array(0)
        },
      ],
      ...certInvalid((m: M.BlockSyncMessage) => m.add!.permitCert as M.Certificate),
      [
        'add and final',
        (m) => {
          m.final = structuredClone(blockFinal.final)
        },
      ],
    ],
    [sigsOver((m: M.BlockSyncMessage) => m.add!.permitCert as M.Certificate)],
  ),
  wireCase(
    'BlockSyncMessage (final)',
    BlockSyncMessageCodec,
    blockFinal,
    [
      [
        'blockHash of 33 bytes',
        (m) => {
          ;(m.final as M.Final).blockHash = short(33)
        },
      ],
      [
        'commitCert missing',
        (m) => {
          delete m.final!.commitCert
        },
      ],
      ...certInvalid((m: M.BlockSyncMessage) => m.final!.commitCert as M.Certificate),
      [
        'final and prepare',
        (m) => {
          m.prepare = structuredClone(blockPrepare.prepare)
        },
      ],
    ],
    [sigsOver((m: M.BlockSyncMessage) => m.final!.commitCert as M.Certificate)],
  ),
  wireCase(
    'FinalizedBlock',
    FinalizedBlockCodec,
    finalized,
    [
      [
        'block missing',
        (f) => {
          delete f.block
        },
      ],
      [
        'commitCert missing',
        (f) => {
          delete f.commitCert
        },
      ],
      ...headerInvalid((f: M.FinalizedBlock) => (f.block as M.Block).header as M.BlockHeader),
      ...blockTxInvalid((f: M.FinalizedBlock) => f.block as M.Block),
      ...certInvalid((f: M.FinalizedBlock) => f.commitCert as M.Certificate),
    ],
    [
      sigsOver((f: M.FinalizedBlock) => f.commitCert as M.Certificate),
      [
        `block with ${MAX_BLOCK_TXS + 1} txs`,
        (f) => {
          ;(f.block as M.Block).txs = Array.from({ length: MAX_BLOCK_TXS + 1 }, () => dataTx)
        },
      ],
    ],
  ),
  wireCase(
    'Status',
    StatusCodec,
    status,
    [
      [
        'genesisHash of 31 bytes',
        (s) => {
          s.genesisHash = short(31)
        },
      ],
      [
        'headHash of 33 bytes',
        (s) => {
          s.headHash = short(33)
        },
      ],
      [
        'headHash empty',
        (s) => {
          s.headHash = new Uint8Array(0)
        },
      ],
      [
        'empty chainId',
        (s) => {
          s.chainId = ''
        },
      ],
      [
        'peer id not a peer id',
        (s) => {
          ;(s.peers[0] as M.PeerAddress).peerId = short(38)
        },
      ],
      [
        'peer address of 257 bytes',
        (s) => {
          ;(s.peers[0] as M.PeerAddress).addrs = [short(257)]
        },
      ],
    ],
    [
      [
        `${MAX_STATUS_PEERS + 1} peers`,
        (s) => {
          s.peers = Array.from({ length: MAX_STATUS_PEERS + 1 }, () => s.peers[0] as M.PeerAddress)
        },
      ],
      [
        `${MAX_PEER_ADDRS + 1} addresses of one peer`,
        (s) => {
          ;(s.peers[0] as M.PeerAddress).addrs = Array.from(
            { length: MAX_PEER_ADDRS + 1 },
            (_, i) => multiaddr(`/ip4/10.0.0.${i}/tcp/4001`).bytes,
          )
        },
      ],
    ],
  ),
  wireCase('HistoryRequest (range)', HistoryRequestCodec, historyRange, [
    [
      'fromHeight 0',
      (r) => {
        r.fromHeight = 0
      },
    ],
    [
      'toHeight < fromHeight',
      (r) => {
        r.toHeight = 0
      },
    ],
    [
      `${MAX_HISTORY_BLOCKS + 1} blocks`,
      (r) => {
        r.toHeight = r.fromHeight + MAX_HISTORY_BLOCKS
      },
    ],
  ]),
  wireCase('HistoryRequest (txHash)', HistoryRequestCodec, historyTx, [
    [
      'txHash of 31 bytes',
      (r) => {
        r.txHash = short(31)
      },
    ],
    [
      'txHash of 33 bytes',
      (r) => {
        r.txHash = short(33)
      },
    ],
    [
      'txHash empty',
      (r) => {
        r.txHash = new Uint8Array(0)
      },
    ],
  ]),
  wireCase(
    'HistoryResponse (blocks)',
    HistoryResponseCodec,
    historyBlocks,
    [
      [
        'block txRoot of 31 bytes',
        (r) => {
          ;((r.blocks[1] as M.FinalizedBlock).block as M.Block).header = {
            ...header,
            txRoot: short(31),
          }
        },
      ],
      [
        'block missing',
        (r) => {
          delete (r.blocks[0] as M.FinalizedBlock).block
        },
      ],
      [
        'commitCert missing',
        (r) => {
          delete (r.blocks[0] as M.FinalizedBlock).commitCert
        },
      ],
      [
        'commitCert subject of 33 bytes',
        (r) => {
          ;((r.blocks[0] as M.FinalizedBlock).commitCert as M.Certificate).subject = short(33)
        },
      ],
      [
        'error of 257 characters',
        (r) => {
          r.error = 'e'.repeat(257)
        },
      ],
    ],
    [
      [
        `${MAX_HISTORY_BLOCKS + 1} blocks`,
        (r) => {
          r.blocks = Array.from(
            { length: MAX_HISTORY_BLOCKS + 1 },
            () => r.blocks[1] as M.FinalizedBlock,
          )
        },
      ],
      [
        `block with ${MAX_VALIDATORS_ON_WIRE + 1} commit signatures`,
        (r) => {
          ;(r.blocks[0] as M.FinalizedBlock).commitCert = bigCertificate(MAX_VALIDATORS_ON_WIRE + 1)
        },
      ],
    ],
  ),
  wireCase(
    'AccountRecord',
    AccountRecordCodec,
    {
      username: 'alice',
      data: 'about alice',
      keyType: M.KeyType.ED25519,
      publicKey: account.publicKey,
      registeredAt: 3,
      nextNonce: 7,
      hasTransacted: true,
      lastBlockIndex: 9,
      gasUsed: 40,
      expiredGas: 5,
      missingNonces: [2, 5],
      lots: [{ blockIndex: 4, time: 1_767_225_600_000, remaining: 60 }],
    },
    [
      [
        'no username',
        (a) => {
          a.username = ''
        },
      ],
      [
        'no public key',
        (a) => {
          a.publicKey = new Uint8Array(0)
        },
      ],
    ],
  ),
  wireCase('UnclaimedRecord', UnclaimedRecordCodec, {
    lots: [{ blockIndex: 2, time: 5, remaining: 100 }],
    expiredGas: 3,
  }),
  wireCase(
    'Receipts',
    ReceiptsCodec,
    {
      txs: [
        {
          hash: hashOf('tx-a'),
          status: M.ReceiptStatus.OK,
          reason: '',
          draws: [{ index: 0, useGas: 4 }],
        },
        { hash: hashOf('tx-b'), status: M.ReceiptStatus.FAILED, reason: 'NONCE_USED', draws: [] },
      ],
      accounts: [{ hash: hashOf('acct'), status: M.ReceiptStatus.OK, reason: '', draws: [] }],
    },
    [
      [
        'a receipt with a short hash',
        (r) => {
          ;(r.txs[0] as M.Receipt).hash = short(31)
        },
      ],
      [
        'a receipt without a status',
        (r) => {
          ;(r.txs[0] as M.Receipt).status = M.ReceiptStatus.RECEIPT_UNSPECIFIED
        },
      ],
    ],
  ),
  wireCase('SignState', SignStateCodec, signState, [
    [
      'a locked round without its hash',
      (x) => {
        x.lockedHash = undefined
      },
    ],
    [
      'a valid block without its certificate',
      (x) => {
        x.validCert = undefined
      },
    ],
    [
      'a locked hash of 31 bytes',
      (x) => {
        x.lockedHash = short(31)
      },
    ],
  ]),
  wireCase('PoolRecord (tx)', PoolRecordCodec, { tx: dataTx, batch: batchHash }, [
    [
      'a tx without the batch that committed it',
      (r) => {
        r.batch = undefined
      },
    ],
    [
      'a batch hash of 31 bytes',
      (r) => {
        r.batch = short(31)
      },
    ],
    [
      'tx and account together',
      (r) => {
        r.account = account
      },
    ],
  ]),
  wireCase('PoolRecord (account)', PoolRecordCodec, { account }, [
    [
      'nothing set',
      (r) => {
        r.account = undefined
      },
    ],
  ]),
  wireCase(
    'PoolTxs',
    PoolTxsCodec,
    {
      txs: [
        { tx: dataTx, batch: batchHash },
        { tx: dataTx, batch: batchHash },
      ],
    },
    [
      [
        'no txs',
        (r) => {
          r.txs = []
        },
      ],
      [
        'a tx without the batch that committed it',
        (r) => {
          r.txs[1]!.batch = undefined
        },
      ],
      [
        'an account in place of a tx',
        (r) => {
          r.txs[0] = { account }
        },
      ],
      [
        'a batch hash of 31 bytes',
        (r) => {
          r.txs[0]!.batch = short(31)
        },
      ],
    ],
  ),
  wireCase('HistoryResponse (tx)', HistoryResponseCodec, historyTxResponse, [
    [
      'tx.from of 31 bytes',
      (r) => {
        ;(r.tx as M.Tx).from = short(31)
      },
    ],
    [
      'tx without signature',
      (r) => {
        ;(r.tx as M.Tx).signature = new Uint8Array(0)
      },
    ],
  ]),
]

// ------------------------------------------------------------------ helpers

/** The DecodeError that `fn` throws; fails the test if it throws anything else or nothing. */
function decodeError(fn: () => unknown): DecodeError {
  try {
    fn()
  } catch (err) {
    if (err instanceof DecodeError) return err
    throw new Error(`expected a DecodeError, got ${String(err)}`)
  }
  throw new Error('expected a DecodeError, but the bytes were accepted')
}

function expectCode(fn: () => unknown, code: DecodeErrorCode): void {
  expect(decodeError(fn).code).toBe(code)
}

/** Whether a message sets a field that is not repeated (proto3 defaults are not on the wire). */
function hasSingularField(message: unknown): boolean {
  return Object.values(message as Record<string, unknown>).some(
    (v) =>
      !Array.isArray(v) &&
      v !== undefined &&
      v !== '' &&
      v !== 0 &&
      v !== false &&
      !(v instanceof Uint8Array && v.length === 0),
  )
}

/** A short JSON view of a decoded message: byte fields by length, lists by their length. */
function summary(m: unknown): string {
  return JSON.stringify(m, (_key, v: unknown) => {
    if (v instanceof Uint8Array) return `<${v.length} bytes>`
    if (Array.isArray(v) && v.length > 0 && typeof v[0] === 'object') return `[${v.length} items]`
    return v
  })
}

/** Cut points: every byte position of the encoding, from empty to one short of whole. */
function cuts(length: number): number[] {
  return Array.from({ length }, (_, i) => i)
}

const byName = cases.map((c) => [c.name, c] as const)

// ------------------------------------------------------------------ tests

describe('wire codecs', () => {
  it('cover every codec exported by src/core/codec', async () => {
    const codecs = Object.entries(await import('../../src/core/codec/index.js'))
      .filter(([name]) => name.endsWith('Codec'))
      .map(([, codec]) => (codec as WireCodec<unknown>).name)
    const tested = new Set(cases.map((c) => c.name.split(' ')[0]))
    expect(codecs.length).toBeGreaterThanOrEqual(18)
    for (const name of codecs) expect(tested, name).toContain(name)
  })

  describe.each(byName)('%s', (_name, c) => {
    it('round trips: encode -> decode -> deep equal, and re-encodes to the same bytes', () => {
      expect(c.encoded.length).toBeGreaterThan(0)
      expect(c.encoded.length).toBeLessThanOrEqual(c.maxBytes)
      const decoded = c.decode(c.encoded)
      expect(decoded).toEqual(c.message)
      expect(c.encode(decoded)).toEqual(c.encoded)
      // decoding a copy of the bytes gives the same message
      expect(c.decode(new Uint8Array(c.encoded))).toEqual(decoded)
    })

    it('rejects every truncation, except an honest shorter message on a field boundary', () => {
      // Protobuf cannot see a cut that falls between two elements of a trailing repeated
      // field: the prefix is a valid, shorter message. The length-prefixed transport, the
      // signatures and the quorum counts catch those; here such a cut must at least decode
      // to exactly its own bytes (no misread) and differ from the original.
      for (const at of cuts(c.encoded.length)) {
        const cut = c.encoded.subarray(0, at)
        let m: unknown
        try {
          m = c.decode(cut)
        } catch (err) {
          expect(err, `cut at ${at}`).toBeInstanceOf(DecodeError)
          continue
        }
        expect(c.encode(m), `cut at ${at}: ${summary(m)}`).toEqual(new Uint8Array(cut))
        expect(m, `cut at ${at}`).not.toEqual(c.decode(c.encoded))
      }
    })

    it('rejects input over its size limit before decoding it (TOO_LARGE)', () => {
      const over = new Uint8Array(c.maxBytes + 1)
      over.set(c.encoded)
      expectCode(() => c.decode(over), 'TOO_LARGE')
    })

    it('rejects an unknown field appended to a valid message (NON_CANONICAL)', () => {
      // field 15, varint 1; field 99, 3 length-delimited bytes
      expectCode(() => c.decode(concatBytes(c.encoded, [0x78, 0x01])), 'NON_CANONICAL')
      expectCode(
        () => c.decode(concatBytes(c.encoded, [0x9a, 0x06, 0x03, 0x61, 0x62, 0x63])),
        'NON_CANONICAL',
      )
    })

    it('rejects a message concatenated with itself (NON_CANONICAL)', () => {
      // Protobuf merges concatenated messages and keeps the last value of a singular field,
      // so the re-encoding is shorter than the input. Only a message whose set fields are all
      // repeated merges into a valid, longer one (a HistoryResponse of blocks).
      const doubled = concatBytes(c.encoded, c.encoded)
      expect(doubled.length).toBeLessThanOrEqual(c.maxBytes)
      if (hasSingularField(c.message)) expectCode(() => c.decode(doubled), 'NON_CANONICAL')
      else expect(c.encoded.length * 2).toBe(doubled.length)
    })

    it('throws nothing but DecodeError on seeded random garbage', () => {
      const seed = 0x5eed0000 + c.encoded.length
      const rng = new Xorshift(seed)
      for (let i = 0; i < 400; i++) {
        const length = 1 + rng.int(Math.min(c.encoded.length * 2, 4096))
        const input = rng.bytes(length)
        decodeError(() => c.decode(input))
      }
    })

    it('throws nothing but DecodeError on seeded mutations of a valid encoding', () => {
      const rng = new Xorshift(0xc0dec + c.encoded.length)
      let rejected = 0
      for (let i = 0; i < 400; i++) {
        const input = new Uint8Array(c.encoded)
        const flips = 1 + rng.int(4)
        for (let j = 0; j < flips; j++) input[rng.int(input.length)] = rng.next() & 0xff
        try {
          const m = c.decode(input)
          expect(m).toBeTypeOf('object')
        } catch (err) {
          if (!(err instanceof DecodeError)) {
            throw new Error(`seed mutation ${i}: ${String(err)}`)
          }
          rejected++
        }
      }
      // most single-byte changes break a tag, a length or a fixed-size field
      expect(rejected).toBeGreaterThan(0)
    })

    if (c.invalid.length > 0) {
      it.each(c.invalid.map((v) => [v.label, v] as const))(
        'rejects %s (INVALID_FIELD), both decoded and checked in memory',
        (_label, v) => {
          expectCode(() => c.decode(v.bytes), 'INVALID_FIELD')
          expectCode(() => v.check(), 'INVALID_FIELD')
        },
      )
    }

    if (c.overLimit.length > 0) {
      it.each(c.overLimit.map((v) => [v.label, v] as const))(
        'rejects %s while decoding (MALFORMED)',
        (_label, v) => {
          const bytes = v.bytes()
          expect(bytes.length).toBeLessThanOrEqual(c.maxBytes)
          // bounded while decoding, not only by the shape check afterwards
          expectCode(() => c.decode(bytes), 'MALFORMED')
        },
      )
    }
  })

  it('accepts a certificate with exactly the maximum number of signatures', () => {
    const cert = bigCertificate(MAX_VALIDATORS_ON_WIRE)
    const bytes = CertificateCodec.encode(cert)
    expect(CertificateCodec.decode(bytes).signatures).toHaveLength(MAX_VALIDATORS_ON_WIRE)
  })

  it('rejects a vote with an unknown enum value (MALFORMED)', () => {
    // phase = 9 is not a Phase
    const bytes = concatBytes(
      [0x08, 0x09],
      VoteCodec.encode({ ...vote, phase: Phase.PHASE_UNSPECIFIED }),
    )
    expectCode(() => VoteCodec.decode(bytes), 'MALFORMED')
  })

  it('rejects non-minimal varints', () => {
    // a length prefix of 32 written as 0xa0 0x00 instead of 0x20: decodes, re-encodes shorter
    const longLength = concatBytes([0x0a, 0xa0, 0x00], gasGrant.to, [0x10, 0x01])
    expectCode(() => GasGrantCodec.decode(longLength), 'NON_CANONICAL')
    // GasGrant.amount = 1 written as 0x81 0x00 instead of 0x01 (a uint64 field)
    decodeError(() =>
      GasGrantCodec.decode(concatBytes([0x0a, 0x20], gasGrant.to, [0x10, 0x81, 0x00])),
    )
    // ... and followed by more bytes, so that a reader that skips too few bytes does not simply run off the end
    decodeError(() =>
      GasGrantCodec.decode(concatBytes([0x10, 0x81, 0x00, 0x0a, 0x20], gasGrant.to)),
    )
    const minimal = concatBytes([0x0a, 0x20], gasGrant.to, [0x10, 0x01])
    expect(GasGrantCodec.decode(minimal).amount).toBe(1)
  })

  it('rejects fields out of order (NON_CANONICAL)', () => {
    const bytes = concatBytes([0x10, 0x05, 0x0a, 0x20], gasGrant.to)
    expectCode(() => GasGrantCodec.decode(bytes), 'NON_CANONICAL')
  })

  it('rejects invalid UTF-8 in a string field (NON_CANONICAL)', () => {
    const encoded = VoteBatchReplyCodec.encode({ refused: [{ index: 0, error: 'ab' }] })
    const bad = new Uint8Array(encoded)
    bad[bad.length - 1] = 0xff
    expectCode(() => VoteBatchReplyCodec.decode(bad), 'NON_CANONICAL')
  })

  it('names the message in its DecodeError', () => {
    const err = decodeError(() => BlockCodec.decode(new Uint8Array([0xff])))
    expect(err.messageName).toBe('Block')
    expect(err.message).toContain('Block')
    expect(err.name).toBe('DecodeError')
  })
})

describe('the sign state and a proposal with their txs spliced in (chain/tx-encoding.ts)', () => {
  const state = signState
  it('are the codecs’ own bytes, with or without a valid block, an add or a reject', () => {
    const variants: M.SignState[] = [
      state,
      { ...state, validAdd: undefined },
      { ...state, permitSubject: undefined, permitRejected: true },
      {
        ...state,
        validPrepare: undefined,
        validCert: undefined,
        validRound: undefined,
        validAdd: undefined,
      },
      { height: 3, round: 0 },
    ]
    for (const s of variants)
      expect(toHex(encodeSignState(s))).toBe(toHex(SignStateCodec.encode(s)))
    const prepare = blockPrepare.prepare!
    for (const p of [prepare, { ...prepare, validRound: undefined, validCert: undefined }])
      expect(toHex(encodeBlockPrepare(p))).toBe(toHex(M.BlockPrepare.encode(p)))
    expect(SignStateCodec.decode(encodeSignState(state))).toEqual(state)
  })
})
