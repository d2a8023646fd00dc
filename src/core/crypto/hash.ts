import * as nodeCrypto from 'node:crypto'
import { sodium } from './sodium.js'

/** A sha256 digest: block hashes, tx hashes, addresses and roots are all one. */
export type Hash = Uint8Array

export const HASH_BYTES = 32

/** node:crypto's one-shot hash (Node >= 21.7): about 40 % cheaper than a Hash object for small inputs. */
const oneShot = (
  nodeCrypto as {
    hash?: (algorithm: string, data: Uint8Array, encoding: 'buffer') => Buffer
  }
).hash

/**
 * Inputs up to this many bytes go to libsodium, longer ones to node:crypto: libsodium's sha256
 * costs less per call (0.8 µs against 1.4 µs for a 190-byte tx here) but hashes about 390 MB/s,
 * OpenSSL's about 1,700 MB/s (it uses the CPU's SHA instructions): they cross near 600 bytes.
 */
const SODIUM_MAX_BYTES = 512

/** sha256 over the concatenation of `parts` (a fresh 32-byte array, its own buffer). */
export function sha256(...parts: Uint8Array[]): Hash {
  if (sodium != null && parts.length === 1 && parts[0]!.length <= SODIUM_MAX_BYTES) {
    // into an array of its own, through the scratch array (sha256Into): no Buffer made
    const out = new Uint8Array(HASH_BYTES)
    sha256Into(out, 0, parts[0]!)
    return out
  }
  if (oneShot != null) {
    const data = parts.length === 1 ? parts[0]! : Buffer.concat(parts)
    return new Uint8Array(oneShot('sha256', data, 'buffer'))
  }
  const h = nodeCrypto.createHash('sha256')
  for (const p of parts) h.update(p)
  return new Uint8Array(h.digest())
}

/** libsodium's output: one array of its own, off V8's heap from the start (see sha256Into) */
const SCRATCH = new Uint8Array(new ArrayBuffer(HASH_BYTES))

/** sha256 of `data` written into `out` at `offset` (no array of its own: for hashes kept in place). */
export function sha256Into(out: Uint8Array, offset: number, data: Uint8Array): void {
  // libsodium (about a third cheaper for a tx than node:crypto's one-shot) writes into a scratch
  // array, copied into `out`: handing `out` itself to native code would move a small array's bytes
  // off V8's heap, an allocation the collector then tracks for as long as the array lives
  if (sodium != null && data.length <= SODIUM_MAX_BYTES) {
    sodium.crypto_hash_sha256(SCRATCH, data)
    out.set(SCRATCH, offset)
  } else if (oneShot != null) out.set(oneShot('sha256', data, 'buffer'), offset)
  else out.set(nodeCrypto.createHash('sha256').update(data).digest(), offset)
}

/**
 * Buffer's own hex writer, which takes any Uint8Array: a small array stays on V8's heap (making a
 * Buffer over `bytes.buffer` would move it off), and no Buffer object is made. Not part of Node's
 * documented API, so a Node without it gets the documented way.
 */
const hexSlice = (
  Buffer.prototype as unknown as {
    hexSlice?: (this: Uint8Array, start: number, end: number) => string
  }
).hexSlice

export function toHex(bytes: Uint8Array): string {
  if (hexSlice != null) return hexSlice.call(bytes, 0, bytes.length)
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

const HEX = /^(?:[0-9a-f]{2})*$/

/** Strict lower-case hex to bytes; throws on anything else. */
export function fromHex(hex: string): Uint8Array {
  if (!HEX.test(hex)) throw new Error('not lower-case hex')
  return new Uint8Array(Buffer.from(hex, 'hex'))
}

export function isHash(bytes: Uint8Array | undefined): bytes is Hash {
  return bytes != null && bytes.length === HASH_BYTES
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  // long ones (a message against its re-encoding) by memcmp; a loop is cheaper than the call below
  if (a.length > 64) return asBuffer(a).equals(b)
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** Merkle-free root of a list of hashes: sha256 of their concatenation, length-prefixed. */
export function listRoot(hashes: Hash[]): Hash {
  const count = new Uint8Array(4)
  new DataView(count.buffer).setUint32(0, hashes.length)
  return sha256(count, ...hashes)
}

/** Lexicographic order of byte strings. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}
