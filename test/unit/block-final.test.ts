/**
 * A final block's share for the pool and the tx log (core/consensus/block-final.ts): its txs leave
 * the pool and end final or failed by their receipts, with where they stand; other pooled txs at a
 * nonce it used fail NONCE_USED; a tx at a nonce it left unused stays; registrations the chain now
 * holds leave the pool. The store learns which committed txs and registrations to let go of.
 */
import { describe, expect, it } from 'vitest'
import { txHashHex } from '../../src/core/chain/tx.js'
import { ReceiptStatus } from '../../src/core/codec/index.js'
import { settleFinalBlock } from '../../src/core/consensus/block-final.js'
import { TxLog } from '../../src/core/consensus/tx-log.js'
import type { CoreAction } from '../../src/core/consensus/types.js'
import { Mempool } from '../../src/core/mempool/mempool.js'
import { applyExecution, executeBlock } from '../../src/core/state/execute.js'
import { bob, carol, chainWithBob, poolTx as pool, propose } from './block-fixtures.js'
import { registrationOf, signedTx } from './fixtures.js'

describe('settleFinalBlock', () => {
  it('ends the block’s txs by their receipts and sweeps what it used', () => {
    const { ledger, head } = chainWithBob()
    // the leader's pool: bob's nonces 1 (ok) and 2 (more gas than he holds), carol's registration
    const leader = new Mempool()
    const ok = signedTx(bob, { nonce: 1, gas: 10 })
    const broke = signedTx(bob, { nonce: 2, gas: 500 })
    pool(leader, ok, 'committed')
    pool(leader, broke, 'committed')
    leader.addAccount(carol.address, registrationOf(carol, 'carol'))
    const block = propose(ledger, head, leader)
    expect(block.txs.length).toBe(2)
    const exec = executeBlock(ledger, block, head.stateRoot)
    applyExecution(ledger, exec)

    // this node's pool: the block's txs, another committed tx and a pending one at nonce 1 (now
    // used), one at nonce 0 (unused: it stays), and carol's registration
    const here = new Mempool()
    const log = new TxLog()
    const okHash = pool(here, ok, 'committed')
    const brokeHash = pool(here, broke, 'pending')
    const rival = pool(here, signedTx(bob, { nonce: 1, gas: 11 }), 'committed')
    const rival2 = pool(here, signedTx(bob, { nonce: 1, gas: 12 }), 'pending')
    const early = pool(here, signedTx(bob, { nonce: 0, gas: 1 }), 'committed')
    here.addAccount(carol.address, registrationOf(carol, 'carol'))

    const out: CoreAction[] = []
    const { poolDeletes, accountDeletes } = settleFinalBlock({
      block,
      height: 2,
      receipts: exec.receipts,
      ledger,
      pool: here,
      txLog: log,
      out,
    })

    // committed txs that left: the ok one and the committed rival (the pending ones keep no record)
    expect(new Set(poolDeletes)).toEqual(new Set([okHash, rival]))
    expect(accountDeletes).toEqual([carol.address])
    expect(here.pendingAccounts()).toEqual([])
    for (const h of [okHash, brokeHash, rival, rival2]) expect(here.has(h)).toBe(false)
    expect(here.has(early)).toBe(true)

    const okIndex = block.txs.indexOf(ok)
    const brokeIndex = block.txs.indexOf(broke)
    expect(exec.receipts.txs[brokeIndex]!.status).toBe(ReceiptStatus.FAILED)
    expect(log.get(okHash)).toMatchObject({ status: 'final', block: { height: 2, index: okIndex } })
    expect(log.get(brokeHash)).toMatchObject({
      status: 'failed',
      reason: { code: 'INSUFFICIENT_GAS', message: 'failed in block 2: INSUFFICIENT_GAS' },
      block: { height: 2, index: brokeIndex },
    })
    for (const h of [rival, rival2])
      expect(log.get(h)).toMatchObject({ status: 'failed', reason: { code: 'NONCE_USED' } })
    expect(log.get(early)).toBeUndefined()

    // the statuses, in block order and then the swept ones
    const statuses = out.map((a) => (a.type === 'tx-status' ? [a.hash, a.status] : [a.type]))
    expect(statuses.slice(0, 2)).toEqual(
      block.txs.map((tx) => [txHashHex(tx), tx === ok ? 'final' : 'failed']),
    )
    expect(new Set(statuses.slice(2))).toEqual(
      new Set([
        [rival, 'failed'],
        [rival2, 'failed'],
      ]),
    )
  })

  it('does not fail again a tx the chain already ended', () => {
    const { ledger, head } = chainWithBob()
    const leader = new Mempool()
    pool(leader, signedTx(bob, { nonce: 0, gas: 1 }), 'committed')
    const block = propose(ledger, head, leader)
    const exec = executeBlock(ledger, block, head.stateRoot)
    applyExecution(ledger, exec)
    const here = new Mempool()
    const log = new TxLog()
    const rival = pool(here, signedTx(bob, { nonce: 0, gas: 2 }), 'pending')
    log.advance(log.touch(rival), 'failed', { code: 'TIMEOUT', message: 'no commit in time' })
    const out: CoreAction[] = []
    settleFinalBlock({
      block,
      height: 2,
      receipts: exec.receipts,
      ledger,
      pool: here,
      txLog: log,
      out,
    })
    expect(here.has(rival)).toBe(false)
    // a failed record stays failed as it was, and no second status goes out for it
    expect(log.get(rival)?.reason?.code).toBe('TIMEOUT')
    expect(out.filter((a) => a.type === 'tx-status' && a.hash === rival)).toEqual([])
  })
})
