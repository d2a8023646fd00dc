/**
 * Encodings of the messages and records that carry txs, with each tx's own
 * encoding spliced in (chain/tx.ts `txEncoding`, made once per tx object)
 * rather than encoded again: the target's batch, the pool record of a
 * committed tx and a write's record of them, the final block, and the sign
 * state that keeps a valid block. Each gives exactly the bytes its codec
 * gives: protons writes a message's fields one after another in the order
 * messages.proto declares them, each field's bytes independent of the others,
 * so a message is the encoding of the fields before a spliced one, the spliced
 * field (tag, length, bytes; a repeated one once per element), then the
 * encoding of the fields after it. The unit tests hold them to that.
 */
import * as M from '../codec/messages.js'
import { txEncoding } from './tx.js'

const EMPTY = new Uint8Array(0)

/** A field's tag byte for a length-delimited field (wire type 2); our fields are all below 16. */
const tag = (field: number): number => (field << 3) | 2

function varintSize(n: number): number {
  let size = 1
  for (let v = n; v >= 0x80; v = Math.floor(v / 128)) size++
  return size
}

function writeVarint(out: Uint8Array, pos: number, n: number): number {
  let v = n
  while (v >= 0x80) {
    out[pos++] = (v & 0x7f) | 0x80
    v = Math.floor(v / 128)
  }
  out[pos++] = v
  return pos
}

/** Bytes of `parts` as occurrences of length-delimited field `field`, between `head` and `tail`. */
function splice(
  head: Uint8Array,
  field: number,
  parts: Uint8Array[],
  tail: Uint8Array,
): Uint8Array {
  let size = head.length + tail.length
  for (const p of parts) size += 1 + varintSize(p.length) + p.length
  const out = new Uint8Array(size)
  out.set(head, 0)
  let pos = head.length
  for (const p of parts) {
    out[pos++] = tag(field)
    pos = writeVarint(out, pos, p.length)
    out.set(p, pos)
    pos += p.length
  }
  out.set(tail, pos)
  return out
}

/** M.TxBatch.encode(batch): target (1), seq (2), txs (3), signature (4). */
export function encodeTxBatch(batch: M.TxBatch): Uint8Array {
  return splice(
    M.TxBatch.encode({ target: batch.target, seq: batch.seq }),
    3,
    batch.txs.map(txEncoding),
    M.TxBatch.encode({ signature: batch.signature }),
  )
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
  return splice(
    block.header == null ? EMPTY : M.Block.encode({ header: block.header }),
    2,
    block.txs.map(txEncoding),
    M.Block.encode({ accounts: block.accounts }),
  )
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
  return splice(
    EMPTY,
    1,
    f.block == null ? [] : [encodeBlock(f.block)],
    f.commitCert == null ? EMPTY : M.FinalizedBlock.encode({ commitCert: f.commitCert }),
  )
}
