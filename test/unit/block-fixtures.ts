/**
 * A chain one block past genesis, a pool and a leader's proposal, for the tests of what a leader
 * proposes (block-new.test.ts) and what a final block does to the pool (block-final.test.ts).
 */
import { expect } from 'vitest'
import { accountsRoot, txRoot } from '../../src/core/chain/block.js'
import { genesisHash, genesisTimeMs } from '../../src/core/chain/genesis.js'
import { txHashHex, txSize } from '../../src/core/chain/tx.js'
import { type Block, ReceiptStatus, type Tx } from '../../src/core/codec/index.js'
import type { ChainTip } from '../../src/core/consensus/block-check.js'
import { blockNew } from '../../src/core/consensus/block-new.js'
import type { Mempool } from '../../src/core/mempool/mempool.js'
import { applyExecution, executeBlock, genesisStateRoot } from '../../src/core/state/execute.js'
import { LedgerState } from '../../src/core/state/ledger.js'
import {
  accountIdentity,
  CHAIN_ID,
  grantTx,
  registrationOf,
  testGenesis,
  validators,
} from './fixtures.js'

export const authority = accountIdentity('authority')
export const bob = accountIdentity('bob')
export const carol = accountIdentity('carol')
const genesis = testGenesis(
  validators(4).map((v) => v.peerIdString),
  authority,
  1_000,
)
const G = genesisTimeMs(genesis)
const proposer = validators(4)[0]!.peerId

/** A ledger where bob is registered and holds 100 gas (block 1), and the tip after it. */
export function chainWithBob(): { ledger: LedgerState; head: ChainTip } {
  const ledger = LedgerState.fromGenesis(genesis)
  const txs = [grantTx(authority, bob, 100)]
  const accounts = [registrationOf(bob, 'bob')]
  const block: Block = {
    header: {
      chainId: CHAIN_ID,
      height: 1,
      round: 0,
      parentHash: genesisHash(genesis),
      proposer,
      time: G + 1_000,
      txRoot: txRoot(txs),
      accountsRoot: accountsRoot(accounts),
      stateRoot: new Uint8Array(32),
    },
    txs,
    accounts,
  }
  const exec = executeBlock(ledger, block, genesisStateRoot(genesisHash(genesis)))
  expect(exec.receipts.txs.map((r) => r.status)).toEqual([ReceiptStatus.OK])
  applyExecution(ledger, exec)
  return {
    ledger,
    head: {
      height: 1,
      hash: new Uint8Array(32).fill(1),
      time: G + 1_000,
      stateRoot: exec.stateRoot,
    },
  }
}

/** Pool `tx`, committed unless told it is only pending; its hash. */
export function poolTx(p: Mempool, tx: Tx, status: 'pending' | 'committed' = 'committed'): string {
  const hash = txHashHex(tx)
  p.add(hash, tx, txSize(tx), 0)
  if (status === 'committed') p.markCommitted(hash)
  return hash
}

/** What the leader of round 0 at the height after `head` proposes from `p` (block_new). */
export function propose(ledger: LedgerState, head: ChainTip, p: Mempool): Block {
  return blockNew({
    chainId: CHAIN_ID,
    height: head.height + 1,
    round: 0,
    head,
    proposer,
    ledger,
    pool: p,
    now: head.time + 500,
  })
}
