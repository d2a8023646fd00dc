/**
 * A tx batch's digest: its txs' hashes, its header and its hash, computed
 * once per decoded batch (the gossip gate computes it to check the target's
 * signature; the core reuses it).
 */
import {
  type BatchHeader,
  fieldSpans,
  type TxBatch,
  TxBatchCodec,
  type WireCodec,
} from '../codec/index.js'
import { toHex } from '../crypto/hash.js'
import { batchHashOf, batchHeader } from './signatures.js'
import { txEncodedAs, txHash, txHashHex } from './tx.js'
import { encodeTxBatch } from './tx-encoding.js'

/** TxBatch's field number of `txs` (messages.proto) */
const TXS_FIELD = 3

/**
 * TxBatchCodec, whose decode also hands each tx its own encoding, as it sits in the batch's bytes,
 * and whose encode splices each tx's encoding in.
 * The decode checked that the batch re-encodes to exactly these bytes, so each span is the
 * canonical encoding of its tx: the tx's size and hashes come from it (chain/tx.ts) instead of
 * from encoding each tx once more.
 */
export const TxBatchWire: WireCodec<TxBatch> = {
  name: TxBatchCodec.name,
  maxBytes: TxBatchCodec.maxBytes,
  // each tx's encoding spliced in, not made again (tx-encoding.ts)
  encode: (batch) => encodeTxBatch(batch),
  check: (batch) => TxBatchCodec.check(batch),
  decode(bytes) {
    const batch = TxBatchCodec.decode(bytes)
    const spans = fieldSpans(bytes, TXS_FIELD)
    if (spans.length === batch.txs.length)
      for (let i = 0; i < spans.length; i++) txEncodedAs(batch.txs[i]!, spans[i]!)
    return batch
  },
}

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
  const header = batchHeader(batch.target, batch.seq, batch.txs)
  const hash = batchHashOf(header)
  let bytes = 0
  for (const tx of batch.txs) bytes += tx.data.length + tx.signature.length
  d = { txHashes, txHashesHex: batch.txs.map(txHashHex), header, hash, hashHex: toHex(hash), bytes }
  digests.set(batch, d)
  return d
}
