/**
 * The original design's `block_new`: what a leader proposes when it has no
 * valid block to re-propose. Registrations waiting in the pool (whose key and
 * username are still free), then every committed tx whose nonce the chain has
 * not used, per sender in nonce order (nonces are used in any order, so a tx
 * never waits for an earlier nonce: state/nonces.ts), executed on the head's
 * state for the header's stateRoot.
 *
 * A tx whose nonce the chain has already used is never proposed: a block that
 * holds one is invalid (block-check.ts), because the same tx once more would
 * put one hash in two blocks, and a conflicting one can only fail. Such a tx
 * leaves the pool when the block that used its nonce becomes final
 * (block-final.ts) and is not committed into it afterwards
 * (tx-rounds.ts).
 */
import { accountsRoot, sortTxs, txRoot } from '../chain/block.js'
import type { Block, BlockHeader, Tx } from '../codec/index.js'
import { MAX_BLOCK_ACCOUNTS, MAX_BLOCK_BYTES, MAX_BLOCK_TXS } from '../codec/limits.js'
import { toHex } from '../crypto/hash.js'
import { addressOf } from '../crypto/keys.js'
import type { Mempool, PoolEntry } from '../mempool/mempool.js'
import { executeBlock } from '../state/execute.js'
import type { LedgerState } from '../state/ledger.js'
import { nonceUsed } from '../state/nonces.js'
import type { ChainTip } from './block-check.js'

/**
 * The most txs a leader proposes in one block (validators accept up to MAX_BLOCK_TXS): a block
 * must travel, be checked and executed by every validator well within its round's deadline, and
 * a huge one holds up the gossip of everything behind it; under load, more blocks of this size
 * finalize more txs than fewer larger ones.
 */
export const PROPOSAL_TXS = Math.min(2_000, MAX_BLOCK_TXS)

/** The encoded txs a proposal holds at most: the block limit less room for its header and registrations. */
const BLOCK_BYTES_BUDGET = MAX_BLOCK_BYTES - 64 * 1024

export interface BlockNewInput {
  chainId: string
  height: number
  round: number
  /** the parent: the chain's head */
  head: ChainTip
  proposer: Uint8Array
  ledger: LedgerState
  pool: Mempool
  now: number
}

export function blockNew(input: BlockNewInput): Block {
  const { ledger, pool, head, now } = input
  const accounts = pool
    .pendingAccounts()
    .filter(
      ([address, reg]) =>
        ledger.account(address) == null && ledger.addressOfUsername(reg.username) == null,
    )
    .slice(0, MAX_BLOCK_ACCOUNTS)
    .map(([, reg]) => reg)
  const registering = new Set(accounts.map((a) => toHex(addressOf(a.publicKey))))
  const known = (sender: string): boolean =>
    ledger.account(sender) != null || registering.has(sender)
  const bySender = new Map<string, PoolEntry[]>()
  for (const e of pool.committed()) {
    if (!known(e.sender)) continue // its registration is not in a block yet: next time
    let list = bySender.get(e.sender)
    if (list == null) {
      list = []
      bySender.set(e.sender, list)
    }
    list.push(e)
  }
  // per sender, in nonce order, every committed tx whose nonce the chain has not used: nonces
  // are used in any order (state/nonces.ts), so a tx never waits for an earlier nonce, which may
  // never commit. A second committed tx at a nonce this block uses (a sender's conflicting txs)
  // goes in after the first, to fail there: a committed tx ends in a block
  const picked: Tx[] = []
  let bytes = 0
  senders: for (const [sender, entries] of bySender) {
    entries.sort((a, b) => a.tx.nonce - b.tx.nonce)
    const account = ledger.account(sender)
    for (const e of entries) {
      if (nonceUsed(account, e.tx.nonce)) continue // the chain used this nonce already: never again
      if (picked.length >= PROPOSAL_TXS || bytes + e.bytes > BLOCK_BYTES_BUDGET) break senders
      picked.push(e.tx)
      bytes += e.bytes
    }
  }
  const txs = sortTxs(picked)
  const header: BlockHeader = {
    chainId: input.chainId,
    height: input.height,
    round: input.round,
    parentHash: head.hash,
    proposer: input.proposer,
    time: Math.max(now, head.time + 1),
    txRoot: txRoot(txs),
    accountsRoot: accountsRoot(accounts),
    stateRoot: new Uint8Array(32),
  }
  const draft: Block = { header, txs, accounts }
  header.stateRoot = executeBlock(ledger, draft, head.stateRoot).stateRoot
  return draft
}
