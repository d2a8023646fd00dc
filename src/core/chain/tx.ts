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
import { sha256Into, toHex } from '../crypto/hash.js'

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
  /** the key its signature checked out under (signatures.ts verifyTx) */
  checkedBy: { keyType: string; publicKey: Uint8Array } | null
  /**
   * its hash and its sender's address as hex, made the first time asked: the keys of the pool,
   * the tx log, the ledger and the tables of the rounds. One string each, shared by all of them
   * (a tx went through toHex about eight times per node before, each a new 64-character string)
   */
  hashHex: string | null
  fromHex: string | null
}

const facts = new WeakMap<Tx, TxFacts>()

function factsOf(tx: Tx): TxFacts {
  let f = facts.get(tx)
  if (f == null) {
    const encoded = TxCodec.encode(tx)
    // kept as long as the tx: in an array of its own, not a slice of Buffer's shared 8 KB pool,
    // which one kept slice would hold whole
    const own = encoded.byteLength === encoded.buffer.byteLength ? encoded : new Uint8Array(encoded)
    f = factsFrom(own, tx.signature.length)
    facts.set(tx, f)
  }
  return f
}

function factsFrom(bytes: Uint8Array, signatureLength: number): TxFacts {
  // the signature is the last field: the encoding without it is the encoding's head (an empty
  // signature is not encoded at all)
  const bodySize = bytes.length - signatureFieldBytes(signatureLength)
  // both hashes in one buffer: a tx in the pool holds one small allocation for them, not two
  const hashes = new Uint8Array(64)
  sha256Into(hashes, 0, bytes.subarray(0, bodySize))
  sha256Into(hashes, 32, bytes)
  return {
    bytes,
    bodySize,
    hash: hashes.subarray(0, 32),
    leaf: hashes.subarray(32),
    checkedBy: null,
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
  if (!facts.has(tx)) facts.set(tx, factsFrom(bytes, tx.signature.length))
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

/** The key the tx's signature already checked out under, if any. */
export function txCheckedBy(tx: Tx): { keyType: string; publicKey: Uint8Array } | null {
  return facts.get(tx)?.checkedBy ?? null
}

/** The tx's signature checked out under this key: remember it. */
export function txChecked(tx: Tx, keyType: string, publicKey: Uint8Array): void {
  factsOf(tx).checkedBy = { keyType, publicKey }
}
