/**
 * Transactions: hash and canonical bytes. A tx's hash is the sha256 of its
 * canonical encoding without the signature, so it names the content the
 * sender signed.
 *
 * What a node needs of a tx's bytes — its size, its hash, its leaf in a
 * block's txRoot and the bytes its signature is over — comes from one
 * encoding, made the first time any of them is asked for and remembered with
 * the object (a tx object travels from its batch into the pool and then into
 * its block, and each step asks). A tx that came in a batch takes that
 * encoding from the batch's own bytes (tx-batch.ts), and the messages and
 * records that carry txs (the target's batch, the pool record, the final
 * block) splice it in rather than encoding each tx again (tx-encoding.ts).
 * Decoded messages are never mutated, so what is remembered of an object
 * stays true; a changed copy is another object.
 */
import { type Tx, TxCodec } from '../codec/index.js'
import { bytesEqual, sha256Into, toHex } from '../crypto/hash.js'

interface TxFacts {
  /**
   * its canonical encoding (TxCodec). A decoded tx's fields are views of its message's bytes
   * already, and so is this when it came in a batch; a tx from a client holds about 170 bytes more.
   */
  bytes: Uint8Array
  /** bytes of its signed part: the encoding with the signature left out, the head of `bytes` */
  bodySize: number
  hash: Uint8Array
  /** sha256 of its whole encoding, signature included: its leaf in a block's txRoot and in a batch's */
  leaf: Uint8Array
  /** the key its signature checked out under (signatures.ts verifyTx): its type and its bytes */
  checkedKeyType: string | null
  checkedKey: Uint8Array | null
  /**
   * its hash and its sender's address as hex, made the first time asked: the keys of the pool,
   * the tx log, the ledger and the tables of the rounds. One string each, shared by all of them
   * (a tx went through toHex about eight times per node before, each a new 64-character string)
   */
  hashHex: string | null
  fromHex: string | null
}

/**
 * Where a tx object keeps its facts: a property under a symbol of this module, not enumerable, so a
 * copy made by spreading (`{ ...tx, nonce }`: another tx) does not take them along, and JSON, equality
 * in tests and protobuf encoding never see it. A property, not a WeakMap: a WeakMap entry per tx
 * cost a tenth of a batch's decoding, and the collector's work on its ephemerons besides.
 */
const FACTS = Symbol('bftchain tx facts')
type WithFacts = Tx & { [FACTS]?: TxFacts }
/** the facts of txs that cannot take a property (frozen): none in the node, but a caller may freeze */
const frozenFacts = new WeakMap<Tx, TxFacts>()

function knownFacts(tx: Tx): TxFacts | undefined {
  return (tx as WithFacts)[FACTS] ?? frozenFacts.get(tx)
}

function remember(tx: Tx, f: TxFacts): void {
  if (Object.isExtensible(tx)) Object.defineProperty(tx, FACTS, { value: f, enumerable: false })
  else frozenFacts.set(tx, f)
}

function factsOf(tx: Tx): TxFacts {
  let f = knownFacts(tx)
  if (f == null) {
    const encoded = TxCodec.encode(tx)
    // kept as long as the tx: in an array of its own, not a slice of Buffer's shared 8 KB pool,
    // which one kept slice would hold whole
    const own = encoded.byteLength === encoded.buffer.byteLength ? encoded : new Uint8Array(encoded)
    f = factsFrom(own, tx.signature.length)
    remember(tx, f)
  }
  return f
}

function factsFrom(bytes: Uint8Array, signatureLength: number): TxFacts {
  // the signature is the last field: the encoding without it is the encoding's head (an empty
  // signature is not encoded at all)
  const bodySize = bytes.length - signatureFieldBytes(signatureLength)
  // two arrays of their own, small enough to stay on V8's heap (sha256Into, toHex): a view into one
  // array of both would move that array off the heap, one more allocation per tx the collector tracks
  const hash = new Uint8Array(32)
  const leaf = new Uint8Array(32)
  sha256Into(hash, 0, bytes.subarray(0, bodySize))
  sha256Into(leaf, 0, bytes)
  return {
    bytes,
    bodySize,
    hash,
    leaf,
    checkedKeyType: null,
    checkedKey: null,
    hashHex: null,
    fromHex: null,
  }
}

/**
 * `bytes` is the canonical encoding of `tx` (TxCodec), found inside a message that was checked to
 * be canonical as a whole (tx-batch.ts): its facts come from these bytes, not from encoding the tx
 * again. A tx whose facts are made already keeps them.
 */
export function txEncodedAs(tx: Tx, bytes: Uint8Array): void {
  if (knownFacts(tx) == null) remember(tx, factsFrom(bytes, tx.signature.length))
}

/** Bytes the signature field (field 7, length-delimited) takes in the encoding. */
function signatureFieldBytes(length: number): number {
  if (length === 0) return 0
  let varint = 1
  for (let n = length; n >= 0x80; n >>>= 7) varint++
  return 1 + varint + length
}

/** The tx's hash (do not mutate the result). */
export function txHash(tx: Tx): Uint8Array {
  return factsOf(tx).hash
}

/** The tx's hash as hex (one string per tx object, shared by every table that keys on it). */
export function txHashHex(tx: Tx): string {
  const f = factsOf(tx)
  f.hashHex ??= toHex(f.hash)
  return f.hashHex
}

/** The tx's sender address (`from`) as hex, made once per tx object. */
export function txSenderHex(tx: Tx): string {
  const f = factsOf(tx)
  f.fromHex ??= toHex(tx.from)
  return f.fromHex
}

/** Bytes of the tx's canonical encoding. */
export function txSize(tx: Tx): number {
  return factsOf(tx).bytes.length
}

/** The tx's canonical encoding (TxCodec), made once per object (do not mutate it). */
export function txEncoding(tx: Tx): Uint8Array {
  return factsOf(tx).bytes
}

/** The tx's leaf in a block's txRoot: the sha256 of its whole encoding (do not mutate it). */
export function txRootLeaf(tx: Tx): Uint8Array {
  return factsOf(tx).leaf
}

/** A tx's signed bytes: its encoding with the signature left out. */
export function txBody(tx: Tx): Uint8Array {
  const f = factsOf(tx)
  return f.bytes.subarray(0, f.bodySize)
}

/** Did the tx's signature check out under this key already? */
export function txCheckedUnder(tx: Tx, keyType: string, publicKey: Uint8Array): boolean {
  const f = knownFacts(tx)
  return (
    f?.checkedKey != null && f.checkedKeyType === keyType && bytesEqual(f.checkedKey, publicKey)
  )
}

/** The tx's signature checked out under this key: remember it. */
export function txChecked(tx: Tx, keyType: string, publicKey: Uint8Array): void {
  const f = factsOf(tx)
  f.checkedKeyType = keyType
  f.checkedKey = publicKey
}
