/**
 * block_new (core/consensus/block-new.ts): what a leader proposes from its pool. Nonces are used
 * in any order (state/nonces.ts), so a committed tx goes in whatever earlier nonce of its sender is
 * still missing; a tx whose nonce the chain used never does; a sender's txs wait for its
 * registration, which may come in the same block. The header's roots are those of what it holds.
 */
import { describe, expect, it } from 'vitest'
import { txRoot } from '../../src/core/chain/block.js'
import { txHashHex } from '../../src/core/chain/tx.js'
import { type Block, ReceiptStatus } from '../../src/core/codec/index.js'
import { Mempool } from '../../src/core/mempool/mempool.js'
import { applyExecution, executeBlock } from '../../src/core/state/execute.js'
import { nonceUsed } from '../../src/core/state/nonces.js'
import { bob, carol, chainWithBob, poolTx as pool, propose } from './block-fixtures.js'
import { registrationOf, signedTx } from './fixtures.js'

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
