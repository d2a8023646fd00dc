/**
 * Valid, signed messages for every gossip topic, built with the core's own
 * signing functions, for tests that need the network to accept them.
 */
import { accountsRoot, txRoot } from '../../../src/core/chain/block.js'
import { certificateFrom } from '../../../src/core/chain/certificates.js'
import {
  batchHeader,
  signAccount,
  signBatchVote,
  signBlockPrepare,
  signElectionRequest,
  signElectionVote,
  signTx,
  signTxBatch,
  signVote,
} from '../../../src/core/chain/signatures.js'
import { batchDigest } from '../../../src/core/chain/tx-batch.js'
import {
  type AccountRegistration,
  type BatchCertificate,
  type BatchCommit,
  type BatchPrepare,
  type BlockPrepare,
  type BlockSyncMessage,
  type Certificate,
  type ElectionMessage,
  Phase,
  RejectReason,
  type Tx,
  type TxBatch,
  TxKind,
  VoteResult,
} from '../../../src/core/codec/index.js'
import { addressOf, sha256 } from '../../../src/core/crypto/index.js'
import { peerIdFromString } from '../../../src/core/crypto/peer-id.js'
import { generateAccountKey } from '../../../src/node/keys/account-key.js'
import type { NodeIdentity } from '../../../src/node/keys/node-key.js'

const utf8 = new TextEncoder()

export function dataTx(chainId: string, nonce: number, data = `record ${nonce}`): Tx {
  const account = generateAccountKey('ed25519')
  return signTx(account, {
    chainId,
    kind: TxKind.DATA,
    from: addressOf(account.publicKey),
    nonce,
    gas: 0,
    data: utf8.encode(data),
  })
}

/** A batch of `txs` signed by its target, `seq` its batch counter. */
export function txBatch(chainId: string, target: NodeIdentity, txs: Tx[], seq = 1): TxBatch {
  const header = batchHeader(peerIdFromString(target.peerId), seq, txs)
  return signTxBatch(target.signer, chainId, header, txs)
}

/** The batch votes of `signers` on `batch` (`count` txs) in `phase`, all permits. */
export function batchCertificate(
  chainId: string,
  signers: NodeIdentity[],
  phase: Phase,
  batch: Uint8Array,
  count: number,
): BatchCertificate {
  return {
    phase,
    batch,
    count,
    votes: signers.map((s) =>
      signBatchVote(s.signer, chainId, {
        phase,
        batch,
        count,
        rejected: [],
        reasons: [],
        voter: peerIdFromString(s.peerId),
      }),
    ),
  }
}

/** q PERMIT signatures of `signers` on (phase, subject, height, round). */
export function certificate(
  chainId: string,
  signers: NodeIdentity[],
  phase: Phase,
  subject: Uint8Array,
  height = 0,
  round = 0,
): Certificate {
  return certificateFrom(
    signers.map((s) =>
      signVote(s.signer, chainId, {
        phase,
        subject,
        height,
        round,
        result: VoteResult.PERMIT,
        reason: RejectReason.NONE,
        voter: peerIdFromString(s.peerId),
      }),
    ),
  )
}

/** The Prepare of a batch: q PRE_PREPARE batch votes of `signers`. */
export function batchPrepare(
  chainId: string,
  target: NodeIdentity,
  signers: NodeIdentity[],
  batch: TxBatch,
): BatchPrepare {
  const d = batchDigest(batch)
  return {
    target: peerIdFromString(target.peerId),
    batch: d.hash,
    cert: batchCertificate(chainId, signers, Phase.PRE_PREPARE, d.hash, batch.txs.length),
  }
}

/** The Commit of a batch: q PREPARE batch votes of `signers`. */
export function batchCommit(chainId: string, signers: NodeIdentity[], batch: TxBatch): BatchCommit {
  const d = batchDigest(batch)
  return {
    batch: d.hash,
    cert: batchCertificate(chainId, signers, Phase.PREPARE, d.hash, batch.txs.length),
  }
}

export function finalMessage(
  chainId: string,
  signers: NodeIdentity[],
  height: number,
  label: string,
): BlockSyncMessage {
  const blockHash = sha256(utf8.encode(label))
  return {
    final: {
      height,
      round: 0,
      blockHash,
      commitCert: certificate(chainId, signers, Phase.BLOCK_COMMIT, blockHash, height, 0),
    },
  }
}

export function accountRegistration(chainId: string, username: string): AccountRegistration {
  return signAccount(generateAccountKey('ed25519'), {
    chainId,
    username,
    data: `${username}'s data`,
  })
}

export function electionRequest(
  chainId: string,
  candidate: NodeIdentity,
  height: number,
  round: number,
): ElectionMessage {
  return {
    request: signElectionRequest(candidate.signer, chainId, {
      height,
      round,
      candidate: peerIdFromString(candidate.peerId),
    }),
  }
}

/**
 * A proposal of `txs` by `leader` for (height, round 0) on `parentHash`, elected by `voters`:
 * valid to gossip validation (its state root is made up, so no validator will permit it).
 */
export function blockPrepare(
  chainId: string,
  leader: NodeIdentity,
  voters: NodeIdentity[],
  height: number,
  parentHash: Uint8Array,
  txs: Tx[],
): BlockPrepare {
  const candidate = peerIdFromString(leader.peerId)
  const signatures = voters.map((v) => {
    const vote = signElectionVote(v.signer, chainId, {
      height,
      round: 0,
      candidate,
      voter: peerIdFromString(v.peerId),
    })
    return { voter: vote.voter, signature: vote.signature }
  })
  return signBlockPrepare(leader.signer, chainId, {
    height,
    round: 0,
    block: {
      header: {
        chainId,
        height,
        round: 0,
        parentHash,
        proposer: candidate,
        time: Date.now(),
        txRoot: txRoot(txs),
        accountsRoot: accountsRoot([]),
        stateRoot: sha256(utf8.encode('made up')),
      },
      txs,
      accounts: [],
    },
    electionCert: { height, round: 0, candidate, signatures },
  })
}
