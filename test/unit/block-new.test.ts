/**
 * block_new (core/consensus/block-new.ts): what a leader proposes from its pool. Nonces are used
 * in any order (state/nonces.ts), so a committed tx goes in whatever earlier nonce of its sender is
 * still missing; a tx whose nonce the chain used never does; a sender's txs wait for its
 * registration, which may come in the same block. The header's roots are those of what it holds.
 */
import { describe, expect, it } from 'vitest'
import { accountsRoot, txRoot } from '../../src/core/chain/block.js'
import { genesisHash, genesisTimeMs } from '../../src/core/chain/genesis.js'
import { txHashHex, txSize } from '../../src/core/chain/tx.js'
import { type Block, ReceiptStatus, type Tx } from '../../src/core/codec/index.js'
import type { ChainTip } from '../../src/core/consensus/block-check.js'
import { blockNew } from '../../src/core/consensus/block-new.js'
import { Mempool } from '../../src/core/mempool/mempool.js'
import { applyExecution, executeBlock, genesisStateRoot } from '../../src/core/state/execute.js'
import { LedgerState } from '../../src/core/state/ledger.js'
import { nonceUsed } from '../../src/core/state/nonces.js'
import {
  accountIdentity,
  CHAIN_ID,
  grantTx,
  registrationOf,
  signedTx,
  testGenesis,
  validators,
} from './fixtures.js'

const authority = accountIdentity('authority')
const bob = accountIdentity('bob')
const carol = accountIdentity('carol')
const genesis = testGenesis(
  validators(4).map((v) => v.peerIdString),
  authority,
  1_000,
)
const G = genesisTimeMs(genesis)
const proposer = validators(4)[0]!.peerId

/** A ledger where bob is registered and holds 100 gas (block 1), and the tip after it. */
function chainWithBob(): { ledger: LedgerState; head: ChainTip } {
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

/** Pool `tx`, committed unless told it is only pending. */
function pool(p: Mempool, tx: Tx, status: 'pending' | 'committed' = 'committed'): void {
  const hash = txHashHex(tx)
  p.add(hash, tx, txSize(tx), 0)
  if (status === 'committed') p.markCommitted(hash)
}

function propose(ledger: LedgerState, head: ChainTip, p: Mempool): Block {
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

const nonces = (block: Block) => block.txs.map((tx) => tx.nonce).sort((a, b) => a - b)

describe('blockNew', () => {
  it('proposes a committed tx while an earlier nonce of its sender is only pending, and that one later', () => {
    const { ledger, head } = chainWithBob()
    const p = new Mempool()
    const first = signedTx(bob, { nonce: 0, gas: 1 })
    pool(p, first, 'pending')
    pool(p, signedTx(bob, { nonce: 2, gas: 1 }))
    pool(p, signedTx(bob, { nonce: 1, gas: 1 }))

    const block = propose(ledger, head, p)
    expect(nonces(block)).toEqual([1, 2])
    // the block executes as proposed: every tx ok, and the header's stateRoot is what it makes
    const exec = executeBlock(ledger, block, head.stateRoot)
    expect(exec.receipts.txs.map((r) => r.status)).toEqual([ReceiptStatus.OK, ReceiptStatus.OK])
    expect(exec.stateRoot).toEqual(block.header!.stateRoot)
    expect(block.header!.txRoot).toEqual(txRoot(block.txs))

    // once final, nonce 0 is still unused, and its tx goes in when it commits
    applyExecution(ledger, exec)
    for (const tx of block.txs) p.remove(txHashHex(tx))
    expect(nonceUsed(ledger.account(bob.address), 0)).toBe(false)
    p.markCommitted(txHashHex(first))
    const next = propose(ledger, { ...head, height: 2, stateRoot: exec.stateRoot }, p)
    expect(nonces(next)).toEqual([0])
  })

  it('never proposes a committed tx whose nonce the chain has used', () => {
    const { ledger, head } = chainWithBob()
    const p = new Mempool()
    pool(p, signedTx(bob, { nonce: 0, gas: 1 }))
    const exec = executeBlock(ledger, propose(ledger, head, p), head.stateRoot)
    applyExecution(ledger, exec)
    // another tx at the used nonce (a conflicting one), committed, and a fresh one
    const fresh = new Mempool()
    pool(fresh, signedTx(bob, { nonce: 0, gas: 2 }))
    pool(fresh, signedTx(bob, { nonce: 5, gas: 1 }))
    const block = propose(ledger, { ...head, height: 2, stateRoot: exec.stateRoot }, fresh)
    expect(nonces(block)).toEqual([5])
  })

  it("holds a sender's txs until its registration, and takes both into one block", () => {
    const { ledger, head } = chainWithBob()
    const p = new Mempool()
    pool(p, signedTx(carol, { nonce: 0 }))
    expect(propose(ledger, head, p).txs).toEqual([])
    p.addAccount(carol.address, registrationOf(carol, 'carol'))
    const block = propose(ledger, head, p)
    expect(block.accounts.map((a) => a.username)).toEqual(['carol'])
    expect(nonces(block)).toEqual([0])
    const exec = executeBlock(ledger, block, head.stateRoot)
    expect(exec.receipts.txs.map((r) => r.status)).toEqual([ReceiptStatus.OK])
  })

  it('leaves out pending txs', () => {
    const { ledger, head } = chainWithBob()
    const p = new Mempool()
    pool(p, signedTx(bob, { nonce: 0 }), 'pending')
    expect(propose(ledger, head, p).txs).toEqual([])
  })
})
