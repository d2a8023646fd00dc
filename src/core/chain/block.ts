/**
 * Blocks: the hash of a block is the sha256 of its header; the header
 * commits to its txs (txRoot, over their full bytes in block order), its
 * account registrations (accountsRoot, over their canonical bytes) and the
 * state after it (stateRoot). Txs stand in canonical order — by sender,
 * then nonce, then hash — so every node executes them the same way.
 */
import {
  type AccountRegistration,
  AccountRegistrationCodec,
  type Block,
  type BlockHeader,
  BlockHeaderCodec,
  type Tx,
} from '../codec/index.js'
import { compareBytes, type Hash, listRoot, sha256 } from '../crypto/hash.js'
import { txHash, txRootLeaf } from './tx.js'

export function blockHash(header: BlockHeader): Hash {
  return sha256(BlockHeaderCodec.encode(header))
}

/** Over the full encoding of each tx, signature included: a block's body cannot change under its hash. */
export function txRoot(txs: Tx[]): Hash {
  return listRoot(txs.map(txRootLeaf))
}

export function accountsRoot(accounts: AccountRegistration[]): Hash {
  return listRoot(accounts.map((a) => sha256(AccountRegistrationCodec.encode(a))))
}

/** The canonical order of txs in a block: sender, then nonce, then hash. */
export function compareTxs(
  a: { tx: Tx; hash: Uint8Array },
  b: { tx: Tx; hash: Uint8Array },
): number {
  return (
    compareBytes(a.tx.from, b.tx.from) || a.tx.nonce - b.tx.nonce || compareBytes(a.hash, b.hash)
  )
}

export function sortTxs(txs: Tx[]): Tx[] {
  return txs
    .map((tx) => ({ tx, hash: txHash(tx) }))
    .sort(compareTxs)
    .map((x) => x.tx)
}

/** Whether `txs` stand in canonical order with no tx twice. */
export function isCanonicalOrder(txs: Tx[]): boolean {
  const keyed = txs.map((tx) => ({ tx, hash: txHash(tx) }))
  for (let i = 1; i < keyed.length; i++) if (compareTxs(keyed[i - 1]!, keyed[i]!) >= 0) return false
  return true
}

export function blockOf(header: BlockHeader, txs: Tx[], accounts: AccountRegistration[]): Block {
  return { header, txs, accounts }
}
