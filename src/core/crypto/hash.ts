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

/** sha256 over the concatenation of `parts` (a fresh 32-byte array, its own buffer). */
export function sha256(...parts: Uint8Array[]): Hash {
  if (sodium != null && parts.length === 1) {
    // straight into an array of its own: no Buffer made and copied
    const out = new Uint8Array(HASH_BYTES)
    sodium.crypto_hash_sha256(out, parts[0]!)
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

/** sha256 of `data` written into `out` at `offset` (no array of its own: for hashes kept together). */
export function sha256Into(out: Uint8Array, offset: number, data: Uint8Array): void {
  // libsodium writes into `out` itself (about a third cheaper for a tx than node:crypto's one-shot)
  if (sodium != null) sodium.crypto_hash_sha256(out.subarray(offset, offset + HASH_BYTES), data)
  else if (oneShot != null) out.set(oneShot('sha256', data, 'buffer'), offset)
  else out.set(nodeCrypto.createHash('sha256').update(data).digest(), offset)
}

export function toHex(bytes: Uint8Array): string {
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
