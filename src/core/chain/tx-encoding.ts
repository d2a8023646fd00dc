/**
 * Encodings of the messages and records that carry txs, with each tx's own
 * encoding spliced in (chain/tx.ts `txEncoding`, made once per tx object)
 * rather than encoded again: the target's batch, the pool record of a
 * committed tx and a write's record of them, the final block, and the sign
 * state that keeps a valid block. Each gives exactly the bytes its codec
 * gives (the rule is in codec/splice.ts); the unit tests hold them to that.
 */
import * as M from '../codec/messages.js'
import {
  encodeBlockWith,
  encodeFinalizedBlockWith,
  encodeTxBatchWith,
  splice,
  varintSize,
  writeVarint,
} from '../codec/splice.js'
import { txEncoding } from './tx.js'

/** M.TxBatch.encode(batch): target (1), seq (2), txs (3), signature (4). */
export function encodeTxBatch(batch: M.TxBatch): Uint8Array {
  return encodeTxBatchWith(batch, txEncoding)
}

/** A committed tx as the pool keeps it: M.PoolRecord {tx (1), batch (4)}. */
export interface PoolTx {
  tx: M.Tx
  batch: Uint8Array
}

/** Bytes of a pool record's body: tx (1), then batch (4). */
function poolRecordSize(r: PoolTx): number {
  const tx = txEncoding(r.tx).length
  return 1 + varintSize(tx) + tx + 1 + varintSize(r.batch.length) + r.batch.length
}

/** Bytes a pool record takes inside a write's record of them (PoolTxs), tag and length included. */
export function poolTxSize(r: PoolTx): number {
  const size = poolRecordSize(r)
  return 1 + varintSize(size) + size
}

/**
 * M.PoolTxs.encode({ txs: records }): each a PoolRecord {tx, batch}, in one allocation, each tx's
 * encoding copied in once (not encoded, nor made into a record of its own first).
 */
export function encodePoolTxs(records: PoolTx[]): Uint8Array {
  let size = 0
  for (const r of records) size += poolTxSize(r)
  const out = new Uint8Array(size)
  let pos = 0
  for (const r of records) {
    const tx = txEncoding(r.tx)
    out[pos++] = 0x0a // PoolTxs.txs (1)
    pos = writeVarint(out, pos, poolRecordSize(r))
    out[pos++] = 0x0a // PoolRecord.tx (1)
    pos = writeVarint(out, pos, tx.length)
    out.set(tx, pos)
    pos += tx.length
    out[pos++] = 0x22 // PoolRecord.batch (4)
    pos = writeVarint(out, pos, r.batch.length)
    out.set(r.batch, pos)
    pos += r.batch.length
  }
  return out
}

/** M.Block.encode(block): header (1), txs (2), accounts (3). */
export function encodeBlock(block: M.Block): Uint8Array {
  return encodeBlockWith(block, txEncoding)
}

/** M.BlockPrepare.encode(p): height, round, then block (3), then the rest as declared. */
export function encodeBlockPrepare(p: M.BlockPrepare): Uint8Array {
  if (p.block == null) return M.BlockPrepare.encode(p)
  return splice(
    M.BlockPrepare.encode({ height: p.height, round: p.round }),
    3,
    [encodeBlock(p.block)],
    M.BlockPrepare.encode({ ...p, height: 0, round: 0, block: undefined }),
  )
}

/**
 * M.SignState.encode(s). A sign state with a valid block keeps the block's signed proposal whole
 * (`validPrepare`, declared after every field but validAdd and permitRejected), and is written
 * before each block vote of the round.
 */
export function encodeSignState(state: M.SignState): Uint8Array {
  if (state.validPrepare == null) return M.SignState.encode(state)
  return splice(
    M.SignState.encode({
      ...state,
      validPrepare: undefined,
      validAdd: undefined,
      permitRejected: undefined,
    }),
    12,
    [encodeBlockPrepare(state.validPrepare)],
    M.SignState.encode({
      height: 0,
      round: 0,
      validAdd: state.validAdd,
      permitRejected: state.permitRejected,
    }),
  )
}

/** M.FinalizedBlock.encode(f): block (1), commitCert (2). */
export function encodeFinalizedBlock(f: M.FinalizedBlock): Uint8Array {
  return encodeFinalizedBlockWith(f, txEncoding)
}
