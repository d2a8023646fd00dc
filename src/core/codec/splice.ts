/**
 * Protobuf bytes built by hand where the generated code costs most: a tx in one allocation
 * (`encodeTx`), and a message whose repeated or nested field is bytes made already (`splice`).
 *
 * Both give exactly the bytes protons gives. Protons writes a message's present fields one after
 * another in the order messages.proto declares them, each field's bytes independent of the
 * others; so a message is the encoding of the fields declared before a spliced one, the spliced
 * field (tag, length, bytes; a repeated one once per element), then the encoding of the fields
 * after it. The unit tests hold every use to the generated codec's own bytes.
 */
import * as M from './messages.js'

const EMPTY = new Uint8Array(0)

export function varintSize(n: number): number {
  let size = 1
  for (let v = n; v >= 0x80; v = Math.floor(v / 128)) size++
  return size
}

/** Writes `n` (a non-negative safe integer) as a varint at `pos`; returns the position after. */
export function writeVarint(out: Uint8Array, pos: number, n: number): number {
  let v = n
  while (v >= 0x80) {
    out[pos++] = (v % 128) | 0x80
    v = Math.floor(v / 128)
  }
  out[pos++] = v
  return pos
}

/** Bytes of `parts` as occurrences of length-delimited field `field` (< 16), between `head` and `tail`. */
export function splice(
  head: Uint8Array,
  field: number,
  parts: Uint8Array[],
  tail: Uint8Array = EMPTY,
): Uint8Array {
  let size = head.length + tail.length
  for (const p of parts) size += 1 + varintSize(p.length) + p.length
  const out = new Uint8Array(size)
  out.set(head, 0)
  let pos = head.length
  for (const p of parts) {
    out[pos++] = (field << 3) | 2
    pos = writeVarint(out, pos, p.length)
    out.set(p, pos)
    pos += p.length
  }
  out.set(tail, pos)
  return out
}

const PLAIN_ASCII = /^[\x20-\x7e]*$/
/** the last chain id found plain (a node sees one chain's txs) */
let plainChainId = ''
const isPlain = (id: string): boolean => {
  if (id === plainChainId) return true
  if (!PLAIN_ASCII.test(id)) return false
  plainChainId = id
  return true
}

const isCount = (n: unknown): n is number =>
  n == null || (typeof n === 'number' && Number.isSafeInteger(n) && n >= 0)

/**
 * M.Tx.encode(tx) in one allocation, without protons' writer (a list of operations, two or three
 * objects per field). A tx outside plain values (a chain id that is not printable ASCII, an
 * unknown kind, a nonce or gas that is not a non-negative safe integer) goes to protons.
 */
export function encodeTx(tx: Partial<M.Tx>): Uint8Array {
  const chainId = tx.chainId ?? ''
  const kind =
    tx.kind == null || tx.kind === M.TxKind.DATA ? 0 : tx.kind === M.TxKind.GAS_GRANT ? 1 : -1
  const { nonce, gas } = tx
  if (kind < 0 || !isCount(nonce) || !isCount(gas) || !isPlain(chainId)) return M.Tx.encode(tx)
  const from = tx.from ?? EMPTY
  const data = tx.data ?? EMPTY
  const signature = tx.signature ?? EMPTY
  let size = 0
  if (chainId.length > 0) size += 1 + varintSize(chainId.length) + chainId.length
  if (kind !== 0) size += 2
  if (from.length > 0) size += 1 + varintSize(from.length) + from.length
  if (nonce) size += 1 + varintSize(nonce)
  if (gas) size += 1 + varintSize(gas)
  if (data.length > 0) size += 1 + varintSize(data.length) + data.length
  if (signature.length > 0) size += 1 + varintSize(signature.length) + signature.length
  // a slice of Buffer's shared pool, as a plain Uint8Array (as protons gives): cheap, and most
  // encodings are checked and dropped at once
  const pooled = Buffer.allocUnsafe(size)
  const out = new Uint8Array(pooled.buffer, pooled.byteOffset, size)
  let pos = 0
  if (chainId.length > 0) {
    out[pos++] = 0x0a
    pos = writeVarint(out, pos, chainId.length)
    // printable ASCII (isPlain): one byte per character
    for (let i = 0; i < chainId.length; i++) out[pos++] = chainId.charCodeAt(i)
  }
  if (kind !== 0) {
    out[pos++] = 0x10
    out[pos++] = kind
  }
  pos = bytesField(out, pos, 0x1a, from)
  if (nonce) {
    out[pos++] = 0x20
    pos = writeVarint(out, pos, nonce)
  }
  if (gas) {
    out[pos++] = 0x28
    pos = writeVarint(out, pos, gas)
  }
  pos = bytesField(out, pos, 0x32, data)
  bytesField(out, pos, 0x3a, signature)
  return out
}

function bytesField(out: Uint8Array, pos: number, tag: number, bytes: Uint8Array): number {
  if (bytes.length === 0) return pos
  out[pos++] = tag
  pos = writeVarint(out, pos, bytes.length)
  out.set(bytes, pos)
  return pos + bytes.length
}

/** M.TxBatch.encode(batch), each tx by `tx`: target (1), seq (2), txs (3), signature (4). */
export function encodeTxBatchWith(
  batch: Partial<M.TxBatch>,
  tx: (t: M.Tx) => Uint8Array = encodeTx,
): Uint8Array {
  return splice(
    M.TxBatch.encode({ target: batch.target, seq: batch.seq }),
    3,
    (batch.txs ?? []).map(tx),
    M.TxBatch.encode({ signature: batch.signature }),
  )
}

/** M.Block.encode(block), each tx by `tx`: header (1), txs (2), accounts (3). */
export function encodeBlockWith(
  block: Partial<M.Block>,
  tx: (t: M.Tx) => Uint8Array = encodeTx,
): Uint8Array {
  return splice(
    block.header == null ? EMPTY : M.Block.encode({ header: block.header }),
    2,
    (block.txs ?? []).map(tx),
    M.Block.encode({ accounts: block.accounts }),
  )
}

/** M.FinalizedBlock.encode(f), its block by encodeBlockWith: block (1), commitCert (2). */
export function encodeFinalizedBlockWith(
  f: Partial<M.FinalizedBlock>,
  tx: (t: M.Tx) => Uint8Array = encodeTx,
): Uint8Array {
  return splice(
    EMPTY,
    1,
    f.block == null ? [] : [encodeBlockWith(f.block, tx)],
    f.commitCert == null ? EMPTY : M.FinalizedBlock.encode({ commitCert: f.commitCert }),
  )
}

/** Every character below 0x80: one byte each in UTF-8 */
function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false
  return true
}

/** ReceiptStatus's number on the wire (plainReceipts: OK or FAILED) */
const statusNumber = (s: M.ReceiptStatus): number => (s === M.ReceiptStatus.OK ? 1 : 2)

function receiptSize(r: M.Receipt): number {
  let size = 0
  if (r.hash.length > 0) size += 1 + varintSize(r.hash.length) + r.hash.length
  size += 2 // status
  if (r.reason.length > 0) size += 1 + varintSize(r.reason.length) + r.reason.length
  for (const d of r.draws) {
    const draw = drawSize(d)
    size += 1 + varintSize(draw) + draw
  }
  return size
}

function drawSize(d: M.GasDraw): number {
  return (d.index ? 1 + varintSize(d.index) : 0) + (d.useGas ? 1 + varintSize(d.useGas) : 0)
}

function writeReceipt(out: Uint8Array, pos: number, r: M.Receipt): number {
  pos = bytesField(out, pos, 0x0a, r.hash)
  out[pos++] = 0x10
  out[pos++] = statusNumber(r.status)
  if (r.reason.length > 0) {
    out[pos++] = 0x1a
    pos = writeVarint(out, pos, r.reason.length)
    // ASCII (plainReceipts): one byte per character
    for (let i = 0; i < r.reason.length; i++) out[pos++] = r.reason.charCodeAt(i)
  }
  for (const d of r.draws) {
    out[pos++] = 0x22
    pos = writeVarint(out, pos, drawSize(d))
    if (d.index) {
      out[pos++] = 0x08
      pos = writeVarint(out, pos, d.index)
    }
    if (d.useGas) {
      out[pos++] = 0x10
      pos = writeVarint(out, pos, d.useGas)
    }
  }
  return pos
}

/** Receipts whose every value the hand-made encoder writes as protons does. */
function plainReceipts(list: M.Receipt[]): boolean {
  for (const r of list) {
    if (!(r.status === M.ReceiptStatus.OK || r.status === M.ReceiptStatus.FAILED)) return false
    if (r.reason.length > 0 && !isAscii(r.reason)) return false
    for (const d of r.draws) if (!isCount(d.index) || !isCount(d.useGas)) return false
  }
  return true
}

/**
 * M.Receipts.encode(r) in one allocation: a final block's receipts, one or two small messages per
 * tx, without protons' writer. Receipts outside plain values (a status not OK or FAILED, a
 * reason that is not ASCII, a draw that is not a non-negative safe integer) go to protons.
 */
export function encodeReceipts(r: M.Receipts): Uint8Array {
  if (!plainReceipts(r.txs) || !plainReceipts(r.accounts)) return M.Receipts.encode(r)
  let size = 0
  for (const list of [r.txs, r.accounts])
    for (const x of list) {
      const one = receiptSize(x)
      size += 1 + varintSize(one) + one
    }
  const out = new Uint8Array(size)
  let pos = 0
  for (const [tag, list] of [
    [0x0a, r.txs],
    [0x12, r.accounts],
  ] as const)
    for (const x of list) {
      out[pos++] = tag
      pos = writeVarint(out, pos, receiptSize(x))
      pos = writeReceipt(out, pos, x)
    }
  return out
}
