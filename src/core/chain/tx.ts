/**
 * Transactions: hash and canonical bytes. A tx's hash is the sha256 of its
 * canonical encoding without the signature, so it names the content the
 * sender signed.
 */
import type { Tx } from '../codec/index.js'
import { sha256 } from '../crypto/hash.js'
import { txBody } from './signatures.js'

export function txHash(tx: Tx): Uint8Array {
  return sha256(txBody(tx))
}
