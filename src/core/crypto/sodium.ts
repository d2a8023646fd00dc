import { createRequire } from 'node:module'

/**
 * libsodium through `sodium-native`, when its prebuilt module loads (else null, and node:crypto
 * does the work): Ed25519 checks (ed25519.ts) and sha256 into an array of the caller's
 * (hash.ts). sodium-native 5 takes any typed array (ArrayBuffer.isView).
 */
export interface Sodium {
  crypto_sign_verify_detached(
    signature: Uint8Array,
    message: Uint8Array,
    publicKey: Uint8Array,
  ): boolean
  /** `out` exactly 32 bytes */
  crypto_hash_sha256(out: Uint8Array, input: Uint8Array): void
}

function load(): Sodium | null {
  try {
    const sodium = createRequire(import.meta.url)('sodium-native') as Sodium
    return typeof sodium.crypto_sign_verify_detached === 'function' &&
      typeof sodium.crypto_hash_sha256 === 'function'
      ? sodium
      : null
  } catch {
    return null
  }
}

export const sodium: Sodium | null = load()
