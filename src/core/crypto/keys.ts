import {
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
} from 'node:crypto'
import { dropOldest, lowWater } from '../fifo.js'
import { ed25519KeyObject, ed25519Verify, hasSmallOrder, pointIsCanonical } from './ed25519.js'
import { sha256, toHex } from './hash.js'
import { type SignKind, signingBytes, signingView } from './signing.js'

/**
 * Ed25519 and RSA keys. Signing goes through node:crypto (OpenSSL); Ed25519
 * checks through ed25519.ts (libsodium when it loads), RSA checks through
 * node:crypto. Public keys travel as bytes: Ed25519 raw (32 bytes), RSA as SPKI DER.
 * Private keys are PKCS#8 DER. RSA signatures are PKCS#1 v1.5 over SHA-256,
 * deterministic like Ed25519, so the same input always signs the same.
 */
export type KeyType = 'ed25519' | 'rsa'

export const KEY_TYPES: readonly KeyType[] = ['ed25519', 'rsa']
export const ED25519_PUBLIC_KEY_BYTES = 32
export const ED25519_SIGNATURE_BYTES = 64
export const RSA_MIN_BITS = 2048
/**
 * An RSA check costs with the modulus squared and with the public exponent:
 * 4096 bits and e = 65537 keep the dearest signature a peer can make us
 * check within a few times an Ed25519 one (a huge exponent made it 56×).
 */
export const RSA_MAX_BITS = 4096
export const RSA_PUBLIC_EXPONENT = 65537n

const ED25519_PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
])

export class KeyError extends Error {
  override readonly name = 'KeyError'
}

/** Bounded cache of parsed RSA public keys (Ed25519 ones are cached in ed25519.ts). */
const PUBLIC_KEY_CACHE_SIZE = 4096
const publicKeyCache = new Map<string, KeyObject>()

function concat(a: Uint8Array, b: Uint8Array): Buffer {
  return Buffer.concat([a, b])
}

/** Parse a public key, checking its type and size. Throws KeyError. */
export function publicKeyObject(type: KeyType, publicKey: Uint8Array): KeyObject {
  if (type === 'ed25519') {
    if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES) {
      throw new KeyError(`an ed25519 public key has 32 bytes, got ${publicKey.length}`)
    }
    if (!pointIsCanonical(publicKey) || hasSmallOrder(publicKey)) {
      throw new KeyError('an ed25519 public key must be a canonical point of large order')
    }
    try {
      return ed25519KeyObject(publicKey) // parsed and cached where the checks use it
    } catch {
      throw new KeyError('malformed ed25519 public key')
    }
  }
  const cacheKey = `${type}:${toHex(publicKey)}`
  const hit = publicKeyCache.get(cacheKey)
  if (hit != null) return hit
  let key: KeyObject
  try {
    key = createPublicKey({ key: Buffer.from(publicKey), format: 'der', type: 'spki' })
    if (key.asymmetricKeyType !== 'rsa') throw new KeyError('not an RSA public key')
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0
    if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
      throw new KeyError(`RSA keys must have ${RSA_MIN_BITS} to ${RSA_MAX_BITS} bits, got ${bits}`)
    }
    const e = key.asymmetricKeyDetails?.publicExponent
    if (e !== RSA_PUBLIC_EXPONENT)
      throw new KeyError(`RSA keys must have the public exponent 65537, got ${String(e)}`)
  } catch (err) {
    if (err instanceof KeyError) throw err
    throw new KeyError(`malformed ${type} public key`)
  }
  if (publicKeyCache.size >= PUBLIC_KEY_CACHE_SIZE) {
    const oldest = publicKeyCache.keys().next().value
    if (oldest !== undefined) publicKeyCache.delete(oldest)
  }
  publicKeyCache.set(cacheKey, key)
  return key
}

/** A private key ready to sign, with its public half in wire form. */
export interface Signer {
  readonly type: KeyType
  readonly publicKey: Uint8Array
  readonly key: KeyObject
}

/** Build a Signer from PKCS#8 DER (or a 32-byte Ed25519 seed). Throws KeyError. */
export function signerFromPrivateKey(type: KeyType, privateKey: Uint8Array): Signer {
  let key: KeyObject
  try {
    const der =
      type === 'ed25519' && privateKey.length === 32
        ? concat(ED25519_PKCS8_PREFIX, privateKey)
        : Buffer.from(privateKey)
    key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
  } catch {
    throw new KeyError(`malformed ${type} private key`)
  }
  if (key.asymmetricKeyType !== type) {
    throw new KeyError(`expected a ${type} private key, got ${key.asymmetricKeyType}`)
  }
  const pub = createPublicKey(key)
  const publicKey =
    type === 'ed25519'
      ? new Uint8Array((pub.export({ format: 'der', type: 'spki' }) as Buffer).subarray(12))
      : new Uint8Array(pub.export({ format: 'der', type: 'spki' }) as Buffer)
  if (type === 'rsa') publicKeyObject('rsa', publicKey) // enforces the size bounds
  return { type, publicKey, key }
}

export function exportPrivateKey(signer: Signer): Uint8Array {
  return new Uint8Array(signer.key.export({ format: 'der', type: 'pkcs8' }) as Buffer)
}

function algorithm(type: KeyType): string | null {
  return type === 'ed25519' ? null : 'sha256'
}

/** Sign `body` for `kind` on `chainId`. */
export function sign(
  signer: Signer,
  chainId: string,
  kind: SignKind,
  body: Uint8Array,
): Uint8Array {
  return new Uint8Array(
    nodeSign(algorithm(signer.type), signingBytes(chainId, kind, body), signer.key),
  )
}

/**
 * Signatures already found valid, so that checking the same one again (a tx
 * at admission and again in its block; a certificate seen twice) costs a
 * hash, not an Ed25519 verification (~0.2 ms here). Only successes are kept;
 * a bounded FIFO. The key is a hash over the key type and each part with its
 * length, so no shifted key, truncated signature or moved boundary between
 * them can stand for another (key, signature, message).
 */
const VERIFIED_CACHE_SIZE = 16_384
const verified = new Set<string>()

function verifiedKey(
  type: KeyType,
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): string {
  return toHex(
    sha256(
      type === 'rsa' ? RSA_TAG : ED25519_TAG,
      lengthOf(publicKey),
      publicKey,
      lengthOf(signature),
      signature,
      lengthOf(message),
      message,
    ),
  )
}
function lengthOf(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, bytes.length)
  return out
}
const ED25519_TAG = Uint8Array.of(0)
const RSA_TAG = Uint8Array.of(1)

/** Verify a domain-separated signature. Never throws: a bad key is a bad signature. */
export function verify(
  type: KeyType,
  publicKey: Uint8Array,
  chainId: string,
  kind: SignKind,
  body: Uint8Array,
  signature: Uint8Array,
  /** `cache: false`: neither look in nor add to the cache of verified signatures */
  options?: { cache: boolean },
): boolean {
  if (type === 'ed25519' && signature.length !== ED25519_SIGNATURE_BYTES) return false
  // read at once below, and kept nowhere: a view of the signing scratch
  const message = signingView(chainId, kind, body)
  const cacheKey =
    options?.cache === false ? null : verifiedKey(type, publicKey, message, signature)
  if (cacheKey != null && verified.has(cacheKey)) return true
  let ok: boolean
  if (type === 'ed25519') {
    ok = ed25519Verify(publicKey, message, signature)
  } else {
    try {
      ok = nodeVerify(algorithm(type), message, publicKeyObject(type, publicKey), signature)
    } catch {
      return false
    }
  }
  if (ok && cacheKey != null) {
    verified.add(cacheKey)
    if (verified.size > VERIFIED_CACHE_SIZE) {
      const keep = lowWater(VERIFIED_CACHE_SIZE)
      dropOldest(verified, () => verified.size > keep)
    }
  }
  return ok
}

/** An account's address: the hex sha256 of its public key bytes (the original "user hash"). */
export function addressOf(publicKey: Uint8Array): Uint8Array {
  return sha256(publicKey)
}
