/**
 * Transactions: hash and canonical bytes. A tx's hash is the sha256 of its
 * canonical encoding without the signature, so it names the content the
 * sender signed.
 *
 * What a node needs of a tx's bytes — its size, its hash, its leaf in a
 * block's txRoot and the bytes its signature is over — comes from one
 * encoding, made the first time any of them is asked for and remembered with
 * the object (a tx object travels from its batch into the pool and then into
 * its block, and each step asks). The signed bytes are let go of once the
 * signature has been checked; the rest is a number and two hashes. Decoded
 * messages are never mutated, so what is remembered of an object stays true;
 * a changed copy is another object.
 */
import { type Tx, TxCodec } from '../codec/index.js'
import { sha256, toHex } from '../crypto/hash.js'

interface TxFacts {
  /** bytes of its canonical encoding (TxCodec) */
  size: number
  hash: Uint8Array
  /** sha256 of its whole encoding, signature included: its leaf in txRoot (block.ts) */
  leaf: Uint8Array
  /** its signed bytes (the encoding with the signature left out), until the signature is checked */
  body: Uint8Array | null
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
    const bytes = TxCodec.encode(tx)
    // the signature is the last field: the encoding without it is the encoding's head (an empty
    // signature is not encoded at all)
    const body = bytes.subarray(0, bytes.length - signatureFieldBytes(tx.signature.length))
    // both hashes in one buffer: a tx in the pool holds one small allocation for them, not two
    const hashes = new Uint8Array(64)
    hashes.set(sha256(body), 0)
    hashes.set(sha256(bytes), 32)
    f = {
      size: bytes.length,
      hash: hashes.subarray(0, 32),
      leaf: hashes.subarray(32),
      body,
      checkedBy: null,
      hashHex: null,
      fromHex: null,
    }
    facts.set(tx, f)
  }
  return f
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
  return factsOf(tx).size
}

/** The tx's leaf in a block's txRoot: the sha256 of its whole encoding (do not mutate it). */
export function txRootLeaf(tx: Tx): Uint8Array {
  return factsOf(tx).leaf
}

/** A tx's signed bytes: its encoding with the signature left out. */
export function txBody(tx: Tx): Uint8Array {
  const f = factsOf(tx)
  if (f.body != null) return f.body
  const bytes = TxCodec.encode(tx)
  return bytes.subarray(0, bytes.length - signatureFieldBytes(tx.signature.length))
}

/** The key the tx's signature already checked out under, if any. */
export function txCheckedBy(tx: Tx): { keyType: string; publicKey: Uint8Array } | null {
  return facts.get(tx)?.checkedBy ?? null
}

/** The tx's signature checked out under this key: remember it, and let go of the signed bytes. */
export function txChecked(tx: Tx, keyType: string, publicKey: Uint8Array): void {
  const f = factsOf(tx)
  f.checkedBy = { keyType, publicKey }
  f.body = null
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
