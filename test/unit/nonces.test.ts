import { describe, expect, it } from 'vitest'
import { NONCE_WINDOW, type NonceState, nonceUsed, useNonce } from '../../src/core/state/nonces.js'

const fresh = (): NonceState => ({ nextNonce: 0, missingNonces: [] })

describe('nonces used in any order (state/nonces.ts)', () => {
  it('an address without an account has used none', () => {
    expect(nonceUsed(undefined, 0)).toBe(false)
    expect(nonceUsed(undefined, 7)).toBe(false)
  })

  it('in order: each nonce used once, nothing missing', () => {
    const a = fresh()
    for (let n = 0; n < 5; n++) {
      expect(nonceUsed(a, n)).toBe(false)
      useNonce(a, n)
      expect(nonceUsed(a, n)).toBe(true)
    }
    expect(a).toEqual({ nextNonce: 5, missingNonces: [] })
  })

  it('out of order: the nonces jumped over stay free, each until it is used', () => {
    const a = fresh()
    useNonce(a, 3)
    expect(a).toEqual({ nextNonce: 4, missingNonces: [0, 1, 2] })
    for (const n of [0, 1, 2]) expect(nonceUsed(a, n)).toBe(false)
    expect(nonceUsed(a, 3)).toBe(true)
    useNonce(a, 1)
    expect(a.missingNonces).toEqual([0, 2])
    expect(nonceUsed(a, 1)).toBe(true)
    useNonce(a, 6)
    expect(a).toEqual({ nextNonce: 7, missingNonces: [0, 2, 4, 5] })
    for (const n of [2, 0, 5, 4]) useNonce(a, n)
    expect(a).toEqual({ nextNonce: 7, missingNonces: [] })
  })

  it('keeps at most NONCE_WINDOW - 1 missing: older ones count as used', () => {
    const a = fresh()
    useNonce(a, 10 * NONCE_WINDOW)
    expect(a.missingNonces).toHaveLength(NONCE_WINDOW - 1)
    expect(a.missingNonces[0]).toBe(9 * NONCE_WINDOW + 1)
    expect(nonceUsed(a, 9 * NONCE_WINDOW)).toBe(true)
    expect(nonceUsed(a, 9 * NONCE_WINDOW + 1)).toBe(false)
    useNonce(a, 10 * NONCE_WINDOW + 5)
    // the window [10W + 6 - W, 10W + 5) holds W - 1 nonces, one of them used (10W)
    expect(a.missingNonces).toHaveLength(NONCE_WINDOW - 2)
    expect(nonceUsed(a, 9 * NONCE_WINDOW + 5)).toBe(true)
    expect(nonceUsed(a, 9 * NONCE_WINDOW + 6)).toBe(false)
    expect(nonceUsed(a, 10 * NONCE_WINDOW + 3)).toBe(false)
    // the list stays ascending
    expect([...a.missingNonces].sort((x, y) => x - y)).toEqual(a.missingNonces)
  })
})
