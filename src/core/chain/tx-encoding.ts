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
} from '../codec/splice.js'
import { txEncoding } from './tx.js'

const EMPTY = new Uint8Array(0)

/** M.TxBatch.encode(batch): target (1), seq (2), txs (3), signature (4). */
export function encodeTxBatch(batch: M.TxBatch): Uint8Array {
  return encodeTxBatchWith(batch, txEncoding)
}

/** M.PoolRecord.encode({tx, batch}): tx (1), batch (4). */
export function encodePoolTx(tx: M.Tx, batch: Uint8Array): Uint8Array {
  return splice(EMPTY, 1, [txEncoding(tx)], M.PoolRecord.encode({ batch }))
}

/** M.PoolTxs.encode of pool records made already (encodePoolTx): txs (1). */
export function encodePoolTxs(records: Uint8Array[]): Uint8Array {
  return splice(EMPTY, 1, records, EMPTY)
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
