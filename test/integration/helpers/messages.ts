/**
 * Valid, signed messages for every gossip topic, built with the core's own
 * signing functions, for tests that need the network to accept them.
 */
import { certificateFrom } from '../../../src/core/chain/certificates.js'
import {
  signAccount,
  signElectionRequest,
  signPrePrepare,
  signPrepare,
  signTx,
  signVote,
} from '../../../src/core/chain/signatures.js'
import { txHash } from '../../../src/core/chain/tx.js'
import {
  type AccountRegistration,
  type BlockSyncMessage,
  type Certificate,
  type Commit,
  type ElectionMessage,
  Phase,
  type PrePrepare,
  type Prepare,
  RejectReason,
  type Tx,
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

export function prePrepare(chainId: string, target: NodeIdentity, tx: Tx): PrePrepare {
  const id = peerIdFromString(target.peerId)
  return signPrePrepare(target.signer, chainId, { origin: id, target: id, txHash: txHash(tx), tx })
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

export function prepare(
  chainId: string,
  target: NodeIdentity,
  signers: NodeIdentity[],
  hash: Uint8Array,
): Prepare {
  return signPrepare(target.signer, chainId, {
    target: peerIdFromString(target.peerId),
    txHash: hash,
    cert: certificate(chainId, signers, Phase.PRE_PREPARE, hash),
  })
}

export function commit(chainId: string, signers: NodeIdentity[], hash: Uint8Array): Commit {
  return { txHash: hash, cert: certificate(chainId, signers, Phase.PREPARE, hash) }
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
