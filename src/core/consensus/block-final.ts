/**
 * What a final block does to a node's pool and tx log (block-rounds.ts appends the block; this is
 * its share for the txs and registrations the node holds):
 *
 * - each tx of the block leaves the pool; its record says where it stands in the chain and ends
 *   `final`, or `failed` with its receipt's reason (the block is the last word);
 * - every other pooled tx at a nonce the chain has now used can never apply: it leaves the pool
 *   and fails `NONCE_USED` (a tx at a nonce the block left unused stays: nonces are used in any
 *   order, state/nonces.ts);
 * - a pending registration whose key or username the chain now holds leaves the pool.
 *
 * The statuses go out as `tx-status` actions, in block order and then sender by sender. What it
 * returns is for the store: the committed txs the pool bucket may let go of (pool-store.ts) and
 * the registrations it no longer keeps.
 */
import { txHashHex, txSenderHex } from '../chain/tx.js'
import { type Block, ReceiptStatus } from '../codec/index.js'
import { bytesEqual } from '../crypto/hash.js'
import type { Mempool } from '../mempool/mempool.js'
import type { Execution } from '../state/execute.js'
import type { LedgerState } from '../state/ledger.js'
import { nonceUsed } from '../state/nonces.js'
import type { TxLog } from './tx-log.js'
import type { CoreAction } from './types.js'

export interface FinalBlockSettlement {
  /** hashes of the committed txs that left the pool: their pool records may go */
  poolDeletes: string[]
  /** addresses of the registrations that left the pool */
  accountDeletes: string[]
}

/** What settling a final block needs: the block, its height and receipts, and the node's state. */
export interface FinalBlockInput {
  block: Block
  height: number
  /** the block's execution's receipts */
  receipts: Execution['receipts']
  /** the ledger as the block left it (applied already) */
  ledger: LedgerState
  pool: Mempool
  txLog: TxLog
  /** where the `tx-status` actions go */
  out: CoreAction[]
}

/** Settle the pool and the tx log after a block became final. */
export function settleFinalBlock(input: FinalBlockInput): FinalBlockSettlement {
  const { block, height, receipts, ledger, pool, txLog, out } = input
  const poolDeletes: string[] = []
  block.txs.forEach((tx, index) => {
    const receipt = receipts.txs[index]!
    const txKey = txHashHex(tx)
    const entry = pool.remove(txKey)
    if (entry?.status === 'committed') poolDeletes.push(txKey)
    const record = txLog.touch(txKey)
    // the block store holds the body from now on: the record keeps only what the block lacks
    txLog.inBlock(record, { height, index })
    if (receipt.status === ReceiptStatus.OK) txLog.advance(record, 'final')
    else
      txLog.failByChain(record, {
        code: receipt.reason,
        message: `failed in block ${height}: ${receipt.reason}`,
      })
    out.push({ type: 'tx-status', hash: txKey, status: record.status, reason: record.reason })
  })
  // every other pooled tx at a nonce the chain has now used can never apply (txs stand by
  // sender in a block, so each sender comes once here)
  let previous: Uint8Array | null = null
  for (const tx of block.txs) {
    if (previous != null && bytesEqual(previous, tx.from)) continue
    previous = tx.from
    const sender = txSenderHex(tx)
    const account = ledger.account(sender)
    for (const entry of pool.usedNonces(sender, (nonce) => nonceUsed(account, nonce))) {
      pool.remove(entry.hash)
      if (entry.status === 'committed') poolDeletes.push(entry.hash)
      const record = txLog.touch(entry.hash)
      const why = {
        code: 'NONCE_USED',
        message: `nonce ${entry.tx.nonce} of ${sender} was used by block ${height}`,
      }
      if (txLog.failByChain(record, why))
        out.push({ type: 'tx-status', hash: entry.hash, status: 'failed', reason: why })
    }
  }
  const accountDeletes: string[] = []
  for (const [address, reg] of pool.pendingAccounts()) {
    if (ledger.account(address) != null || ledger.addressOfUsername(reg.username) != null) {
      pool.removeAccount(address)
      accountDeletes.push(address)
    }
  }
  return { poolDeletes, accountDeletes }
}
