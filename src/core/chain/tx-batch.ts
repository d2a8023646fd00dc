/**
 * A tx batch's digest: its txs' hashes, its header and its hash, computed
 * once per decoded batch (the gossip gate computes it to check the target's
 * signature; the core reuses it).
 */
import type { BatchHeader, TxBatch } from '../codec/index.js'
import { toHex } from '../crypto/hash.js'
import { batchHashOf, batchHeader } from './signatures.js'
import { txHash, txHashHex, txLeaf } from './tx.js'

export interface BatchDigest {
  txHashes: Uint8Array[]
  /** the same, as hex */
  txHashesHex: string[]
  header: BatchHeader
  hash: Uint8Array
  hashHex: string
  /** the txs' bytes that count against budgets (data and signatures) */
  bytes: number
}

const digests = new WeakMap<TxBatch, BatchDigest>()

export function batchDigest(batch: TxBatch): BatchDigest {
  let d = digests.get(batch)
  if (d != null) return d
  const txHashes = batch.txs.map(txHash)
  const leaves = batch.txs.map((tx, i) => txLeaf(txHashes[i]!, tx.signature))
  const header = batchHeader(batch.target, batch.seq, leaves)
  const hash = batchHashOf(header)
  let bytes = 0
  for (const tx of batch.txs) bytes += tx.data.length + tx.signature.length
  d = { txHashes, txHashesHex: batch.txs.map(txHashHex), header, hash, hashHex: toHex(hash), bytes }
  digests.set(batch, d)
  return d
}
