/**
 * Builds a valid chain without running consensus: blocks of signed txs,
 * executed for their state roots and certified by q validators, written
 * straight into node stores exactly as a final block is. Tests and the sync
 * benchmark use it to get hundreds or thousands of blocks in seconds.
 */
import { accountsRoot, blockHash, sortTxs, txRoot } from '../../src/core/chain/block.js'
import { certificateFrom } from '../../src/core/chain/certificates.js'
import { type Genesis, genesisHash, genesisTimeMs } from '../../src/core/chain/genesis.js'
import { signAccount, signTx, signVote } from '../../src/core/chain/signatures.js'
import {
  type AccountRegistration,
  type Block,
  type FinalizedBlock,
  Phase,
  RejectReason,
  type Tx,
  TxKind,
  VoteResult,
} from '../../src/core/codec/index.js'
import type { BlockFinalOp } from '../../src/core/consensus/types.js'
import { addressOf, type Signer, toHex } from '../../src/core/crypto/index.js'
import { peerIdFromString } from '../../src/core/crypto/peer-id.js'
import { applyExecution, executeBlock, genesisStateRoot } from '../../src/core/state/execute.js'
import { LedgerState } from '../../src/core/state/ledger.js'
import { generateAccountKey } from '../../src/node/keys/account-key.js'
import type { NodeIdentity } from '../../src/node/keys/node-key.js'
import { addChainOps } from '../../src/node/node/chain-store.js'
import type { Store } from '../../src/node/store/index.js'

export interface ChainSpec {
  genesis: Genesis
  /** the genesis validators' identities, to sign commit certificates */
  validators: NodeIdentity[]
  blocks: number
  txsPerBlock: number
  /** accounts registered in block 1 that send the txs */
  accounts?: number
  /** bytes of data per tx */
  dataBytes?: number
}

export interface BuiltChain {
  head: { height: number; hash: string; stateRoot: string }
  txs: number
  blocks: FinalizedBlock[]
}

/** Build `spec.blocks` final blocks and write them to every store (in batches of `batch` blocks). */
export async function buildChain(
  spec: ChainSpec,
  stores: Store[],
  keep = false,
  batch = 200,
): Promise<BuiltChain> {
  const { genesis } = spec
  const chainId = genesis.chainId
  const ledger = LedgerState.fromGenesis(genesis)
  const ghash = genesisHash(genesis)
  let parent = { hash: ghash, stateRoot: genesisStateRoot(ghash), time: genesisTimeMs(genesis) }
  const quorum = spec.validators.length - Math.floor((spec.validators.length - 1) / 3)
  const signers = spec.validators.slice(0, quorum)
  const keys: Signer[] = Array.from({ length: spec.accounts ?? 8 }, () =>
    generateAccountKey('ed25519'),
  )
  const nonces = keys.map(() => 0)
  const data = new Uint8Array(spec.dataBytes ?? 32).fill(0x61)
  const kept: FinalizedBlock[] = []
  let pending: BlockFinalOp[] = []
  let txCount = 0

  const flush = async (): Promise<void> => {
    for (const store of stores) {
      const b = store.batch()
      addChainOps(b, store, pending)
      await b.write()
    }
    pending = []
  }

  for (let height = 1; height <= spec.blocks; height++) {
    const accounts: AccountRegistration[] =
      height === 1
        ? keys.map((k, i) => signAccount(k, { chainId, username: `user-${i}`, data: '' }))
        : []
    const txs: Tx[] = []
    if (height > 1) {
      for (let i = 0; i < spec.txsPerBlock; i++) {
        const a = (height * spec.txsPerBlock + i) % keys.length
        const key = keys[a]!
        txs.push(
          signTx(key, {
            chainId,
            kind: TxKind.DATA,
            from: addressOf(key.publicKey),
            nonce: nonces[a]!++,
            gas: 0,
            data,
          }),
        )
      }
    }
    const sorted = sortTxs(txs)
    const block: Block = {
      header: {
        chainId,
        height,
        round: 0,
        parentHash: parent.hash,
        proposer: peerIdFromString(spec.validators[height % spec.validators.length]!.peerId),
        time: parent.time + 1_000,
        txRoot: txRoot(sorted),
        accountsRoot: accountsRoot(accounts),
        stateRoot: new Uint8Array(32),
      },
      txs: sorted,
      accounts,
    }
    const exec = executeBlock(ledger, block, parent.stateRoot)
    block.header!.stateRoot = exec.stateRoot
    applyExecution(ledger, exec)
    const hash = blockHash(block.header!)
    const commitCert = certificateFrom(
      signers.map((v) =>
        signVote(v.signer, chainId, {
          phase: Phase.BLOCK_COMMIT,
          subject: hash,
          height,
          round: 0,
          result: VoteResult.PERMIT,
          reason: RejectReason.NONE,
          voter: peerIdFromString(v.peerId),
        }),
      ),
    )
    const finalized: FinalizedBlock = { block, commitCert }
    if (keep) kept.push(finalized)
    pending.push({
      op: 'block-final',
      height,
      hash: toHex(hash),
      finalized,
      receipts: exec.receipts,
      accounts: [...exec.accounts.values()],
      unclaimed: [...exec.unclaimed.entries()],
      stateRoot: exec.stateRoot,
      poolDeletes: [],
      accountDeletes: [],
    })
    txCount += sorted.length
    parent = { hash, stateRoot: exec.stateRoot, time: block.header!.time }
    if (pending.length >= batch) await flush()
  }
  if (pending.length > 0) await flush()
  return {
    head: { height: spec.blocks, hash: toHex(parent.hash), stateRoot: toHex(parent.stateRoot) },
    txs: txCount,
    blocks: kept,
  }
}
