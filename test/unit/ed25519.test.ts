import { createHash, createPublicKey, verify as opensslVerify } from 'node:crypto'
import { createRequire } from 'node:module'
import { ED25519_TORSION_SUBGROUP, ed25519 } from '@noble/curves/ed25519.js'
import { describe, expect, it } from 'vitest'
import {
  type Ed25519Backend,
  ed25519Backend,
  ed25519Verify,
  hasSmallOrder,
  KeyError,
  pointIsCanonical,
  publicKeyObject,
  scalarIsCanonical,
} from '../../src/core/crypto/index.js'
import { Xorshift } from './fixtures.js'

/**
 * Validators must agree on which Ed25519 signatures are valid, whichever
 * library checks them. These tests build the signatures the libraries are
 * known to disagree on (a small-order R, small-order or non-canonical keys,
 * keys with a torsion component, S not reduced) from the curve arithmetic
 * itself, and hold both backends to one answer.
 */

const Point = ed25519.Point
const L = Point.Fn.ORDER
const BACKENDS: Ed25519Backend[] = ['sodium-native', 'node:crypto']

function le(n: bigint): Uint8Array {
  const out = new Uint8Array(32)
  let v = n
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 0xffn)
    v >>= 8n
  }
  return out
}
function fromLe(bytes: Uint8Array): bigint {
  let v = 0n
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i] as number)
  return v
}
function challenge(r: Uint8Array, a: Uint8Array, m: Uint8Array): bigint {
  return fromLe(createHash('sha512').update(r).update(a).update(m).digest()) % L
}

/** A signature by hand: secret scalar `a`, nonce `r`, under the key bytes `A` (which need not be aB). */
function handSign(a: bigint, A: Uint8Array, r: bigint, m: Uint8Array): Uint8Array {
  const R = r === 0n ? Point.ZERO : Point.BASE.multiply(r)
  const rBytes = R.toBytes()
  const s = (r + challenge(rBytes, A, m) * a) % L
  return Uint8Array.from([...rBytes, ...le(s)])
}

function bytes(rng: Xorshift, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => rng.int(256))
}

function both(publicKey: Uint8Array, m: Uint8Array, sig: Uint8Array): boolean {
  const answers = BACKENDS.map((b) => ed25519Verify(publicKey, m, sig, b))
  expect(answers[0], `sodium-native and node:crypto disagree`).toBe(answers[1])
  return answers[0] as boolean
}

function openssl(publicKey: Uint8Array, m: Uint8Array, sig: Uint8Array): boolean {
  const key = createPublicKey({
    key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), publicKey]),
    format: 'der',
    type: 'spki',
  })
  return opensslVerify(null, m, key, sig)
}

describe('Ed25519 verification', () => {
  it('loads libsodium wherever sodium-native is installed', () => {
    let installed = true
    try {
      createRequire(import.meta.url).resolve('sodium-native')
    } catch {
      installed = false
    }
    expect(ed25519Backend).toBe(installed ? 'sodium-native' : 'node:crypto')
  })

  it('both backends accept honest signatures and refuse altered ones', () => {
    const rng = new Xorshift(7)
    for (let i = 0; i < 50; i++) {
      const secret = bytes(rng, 32)
      const publicKey = ed25519.getPublicKey(secret)
      const m = bytes(rng, rng.int(300))
      const sig = ed25519.sign(m, secret)
      expect(both(publicKey, m, sig)).toBe(true)
      const flipped = sig.slice()
      const at = rng.int(64)
      flipped[at] = (flipped[at] as number) ^ (1 << rng.int(8))
      expect(both(publicKey, m, flipped)).toBe(false)
      if (m.length > 0) expect(both(publicKey, m.subarray(1), sig)).toBe(false)
    }
  })

  it('refuses a small-order R, which OpenSSL alone would accept', () => {
    const secret = new Uint8Array(32).fill(9)
    const { scalar, pointBytes } = ed25519.utils.getExtendedPublicKey(secret)
    const m = new TextEncoder().encode('nonce zero')
    const sig = handSign(scalar, pointBytes, 0n, m)
    expect(hasSmallOrder(sig.subarray(0, 32))).toBe(true)
    expect(openssl(pointBytes, m, sig)).toBe(true) // the disagreement the rule closes
    expect(both(pointBytes, m, sig)).toBe(false)
    // the same hand-made signer with a real nonce is fine
    expect(both(pointBytes, m, handSign(scalar, pointBytes, 12345n, m))).toBe(true)
  })

  it('refuses every small-order and non-canonical key, in either sign', () => {
    const rng = new Xorshift(3)
    const m = bytes(rng, 40)
    const sig = bytes(rng, 64)
    sig[63] = 0 // S canonical, so only the key decides
    const torsion = ED25519_TORSION_SUBGROUP.map((hex) => Buffer.from(hex, 'hex'))
    for (const t of torsion) {
      expect(Point.fromBytes(t, true).isSmallOrder()).toBe(true)
      for (const sign of [0, 0x80]) {
        const key = Uint8Array.from(t)
        key[31] = ((key[31] as number) & 0x7f) | sign
        expect(hasSmallOrder(key)).toBe(true)
        expect(both(key, m, sig)).toBe(false)
        expect(() => publicKeyObject('ed25519', key)).toThrow(KeyError)
      }
    }
    // y = p and y = p + 1: 0 and 1 again, written out of range
    for (const low of [0xed, 0xee]) {
      const key = new Uint8Array(32).fill(0xff)
      key[0] = low
      key[31] = 0x7f
      expect(pointIsCanonical(key)).toBe(false)
      expect(Point.fromBytes(key, true).isSmallOrder()).toBe(true)
      expect(both(key, m, sig)).toBe(false)
    }
    // a large-order point is none of these
    const honest = ed25519.getPublicKey(new Uint8Array(32).fill(1))
    expect(hasSmallOrder(honest)).toBe(false)
    expect(pointIsCanonical(honest)).toBe(true)
  })

  it('refuses S not reduced below the group order', () => {
    const secret = new Uint8Array(32).fill(4)
    const publicKey = ed25519.getPublicKey(secret)
    const m = new TextEncoder().encode('malleable?')
    const sig = ed25519.sign(m, secret)
    const s = fromLe(sig.subarray(32))
    const stretched = Uint8Array.from([...sig.subarray(0, 32), ...le(s + L)])
    expect(scalarIsCanonical(sig.subarray(32))).toBe(true)
    expect(scalarIsCanonical(stretched.subarray(32))).toBe(false)
    expect(scalarIsCanonical(le(L))).toBe(false)
    expect(scalarIsCanonical(le(L - 1n))).toBe(true)
    expect(both(publicKey, m, stretched)).toBe(false)
  })

  it('agrees on keys with a torsion component (valid exactly when 8 divides the challenge)', () => {
    const secret = new Uint8Array(32).fill(5)
    const { scalar, point } = ed25519.utils.getExtendedPublicKey(secret)
    const eighth = Point.fromBytes(Buffer.from(ED25519_TORSION_SUBGROUP[1] as string, 'hex'))
    const mixed = point.add(eighth).toBytes()
    expect(hasSmallOrder(mixed)).toBe(false)
    const rng = new Xorshift(11)
    let valid = 0
    for (let i = 0; i < 64; i++) {
      const m = bytes(rng, 24)
      const r = fromLe(bytes(rng, 32)) % L
      const sig = handSign(scalar, mixed, r, m)
      const expected = challenge(sig.subarray(0, 32), mixed, m) % 8n === 0n
      expect(both(mixed, m, sig)).toBe(expected)
      if (expected) valid++
    }
    expect(valid).toBeGreaterThan(0) // the valid side was exercised too
  })
})
