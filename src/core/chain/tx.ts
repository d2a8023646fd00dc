/**
 * Transactions: hash and canonical bytes. A tx's hash is the sha256 of its
 * canonical encoding without the signature, so it names the content the
 * sender signed.
 */
import type { Tx } from '../codec/index.js'
import { sha256 } from '../crypto/hash.js'
import { txBody } from './signatures.js'

const hashes = new WeakMap<Tx, Uint8Array>()

/** Memoized per object, as txBody is (signatures.ts): do not mutate the result. */
export function txHash(tx: Tx): Uint8Array {
  let hash = hashes.get(tx)
  if (hash == null) {
    hash = sha256(txBody(tx))
    hashes.set(tx, hash)
  }
  return hash
}

/**
 * A tx's leaf in its batch's header: its hash and its signature, hashed together. The header
 * so binds the exact bytes of every tx, signature included, and the target's signature over it
 * cannot be reused for a copy in which anyone swapped a tx's signature for a forged one.
 */
export function txLeaf(hash: Uint8Array, signature: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(hash.length + signature.length)
  bytes.set(hash, 0)
  bytes.set(signature, hash.length)
  return sha256(bytes)
}

/** txLeaf of a tx whose hash is not at hand. */
export function txLeafOf(tx: Tx): Uint8Array {
  return txLeaf(txHash(tx), tx.signature)
}
