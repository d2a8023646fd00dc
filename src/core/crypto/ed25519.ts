import { createPublicKey, type KeyObject, verify as nodeVerify } from 'node:crypto'
import { sodium as sodiumBinding } from './sodium.js'

/**
 * Ed25519 verification: one rule, two backends.
 *
 * The rule is libsodium's (`crypto_sign_verify_detached`, 1.0.16 on): S
 * below the group order L, the public key A a canonical encoding, neither A
 * nor the signature's R of small order, then the cofactorless equation
 * [S]B = R + [k]A compared by R's encoding. Validators must agree on which
 * signatures are valid — a tx one node accepts and another refuses splits
 * their votes and their blocks — and OpenSSL alone accepts a small-order R
 * (a key holder can make one with the nonce 0), so the checks libsodium adds
 * run here first, whatever the backend, and both backends accept exactly the
 * same signatures (test/unit/ed25519.test.ts holds them to it).
 *
 * The backend is libsodium through `sodium-native` (about 46 µs a check
 * here) when its prebuilt module loads, else node:crypto (OpenSSL, about
 * 82–110 µs with a cached key). `BFTCHAIN_ED25519=node` forces the second,
 * for benchmarks and tests.
 */

export type Ed25519Backend = 'sodium-native' | 'node:crypto'

/** libsodium, unless `BFTCHAIN_ED25519=node` asks for node:crypto */
const sodium = process.env.BFTCHAIN_ED25519 === 'node' ? null : sodiumBinding

/** Which library checks Ed25519 signatures in this process. */
export const ed25519Backend: Ed25519Backend = sodium != null ? 'sodium-native' : 'node:crypto'

/** The group order L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
const ORDER = Buffer.from('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 'hex')

/** S < L, S read little-endian (RFC 8032 §5.1.7; OpenSSL and libsodium both demand it). */
export function scalarIsCanonical(s: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const a = s[i] as number
    const b = ORDER[i] as number
    if (a !== b) return a < b
  }
  return false
}

/**
 * The encodings, top (sign) bit cleared, of every point of small order, as
 * libsodium lists them in ge25519_has_small_order: y = 0 (order 4), y = 1
 * (the identity), the two y of the order-8 points, y = p − 1 (order 2), and
 * the non-canonical y = p and y = p + 1 (0 and 1 again).
 */
const SMALL_ORDER = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
].map((hex) => Buffer.from(hex, 'hex'))

/** Whether a point encoding (either sign bit) stands for a point of small order. */
export function hasSmallOrder(point: Uint8Array): boolean {
  for (const bad of SMALL_ORDER) {
    let same = true
    for (let i = 0; i < 31 && same; i++) same = point[i] === bad[i]
    if (same && ((point[31] as number) & 0x7f) === bad[31]) return true
  }
  return false
}

/** Whether a point encoding's y (sign bit aside) is below p = 2^255 − 19. */
export function pointIsCanonical(point: Uint8Array): boolean {
  if (((point[31] as number) & 0x7f) !== 0x7f) return true
  for (let i = 30; i > 0; i--) if (point[i] !== 0xff) return true
  return (point[0] as number) < 0xed
}

const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
/** Parsed keys (node:crypto's form of a raw key): parsing costs more than verifying. */
const KEY_CACHE_SIZE = 4096
const keyCache = new Map<string, KeyObject>()

/** A raw 32-byte Ed25519 key as a node:crypto KeyObject, parsed once (a bounded cache). */
export function ed25519KeyObject(publicKey: Uint8Array): KeyObject {
  const id = buffer(publicKey).toString('hex')
  let key = keyCache.get(id)
  if (key == null) {
    key = createPublicKey({
      key: Buffer.concat([SPKI_PREFIX, buffer(publicKey)]),
      format: 'der',
      type: 'spki',
    })
    if (keyCache.size >= KEY_CACHE_SIZE) {
      const oldest = keyCache.keys().next().value
      if (oldest !== undefined) keyCache.delete(oldest)
    }
    keyCache.set(id, key)
  }
  return key
}

function buffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** Check an Ed25519 signature under the rule above. Never throws. */
export function ed25519Verify(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
  backend: Ed25519Backend = ed25519Backend,
): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false
  if (!scalarIsCanonical(signature.subarray(32))) return false
  if (hasSmallOrder(signature.subarray(0, 32))) return false
  if (!pointIsCanonical(publicKey) || hasSmallOrder(publicKey)) return false
  try {
    if (backend === 'sodium-native' && sodium != null) {
      // sodium-native takes any typed array: no Buffer views made
      return sodium.crypto_sign_verify_detached(signature, message, publicKey)
    }
    return nodeVerify(null, message, ed25519KeyObject(publicKey), signature)
  } catch {
    return false
  }
}
