/**
 * Signature checks, memoized: every receiver of a gossip message verifies
 * the same signatures over the same bytes, and Ed25519 verification is most
 * of a simulation's cost. `verify` is a pure function of its inputs, so a
 * cache keyed by a digest of all of them gives the very same verdicts; the
 * simulation's test file swaps it in for src/core/crypto/keys.ts `verify`
 * (vi.mock), leaving every call site and check as it is.
 */
import { createHash } from 'node:crypto'
import type { verify as Verify } from '../../src/core/crypto/keys.js'

const MAX_ENTRIES = 500_000

export const verifyCacheStats = { hits: 0, misses: 0 }

export function memoizeVerify(verify: typeof Verify): typeof Verify {
  const cache = new Map<string, boolean>()
  return (type, publicKey, chainId, kind, body, signature) => {
    const h = createHash('sha256')
    const len = new Uint32Array([publicKey.length, body.length, signature.length])
    h.update(`${type}|${chainId}|${String(kind)}|`)
    h.update(new Uint8Array(len.buffer))
    h.update(publicKey)
    h.update(body)
    h.update(signature)
    const key = h.digest('base64')
    const hit = cache.get(key)
    if (hit !== undefined) {
      verifyCacheStats.hits++
      return hit
    }
    verifyCacheStats.misses++
    const ok = verify(type, publicKey, chainId, kind, body, signature)
    if (cache.size >= MAX_ENTRIES) cache.clear()
    cache.set(key, ok)
    return ok
  }
}
