/**
 * Accounts: `{username, data, publicKey, address}` where the address is the
 * hex sha256 of the public key (the original "user hash"). Registered with a
 * signed AccountRegistration; final once a block includes it.
 */
import type { AccountRegistration } from '../codec/index.js'
import { addressOf, toHex } from '../crypto/index.js'
import { publicKeyObject } from '../crypto/keys.js'
import { keyTypeOf, verifyAccount } from './signatures.js'

/** 3..32 characters: lower-case letters, digits, `_`, `-`, `.`; starts with a letter or digit. */
export const USERNAME = /^[a-z0-9][a-z0-9_.-]{2,31}$/
export const MAX_ACCOUNT_DATA_CHARS = 4096

export type AccountCheck =
  | { ok: true; address: string }
  | {
      ok: false
      code: 'WRONG_CHAIN' | 'BAD_USERNAME' | 'BAD_KEY' | 'BAD_SIGNATURE' | 'TOO_LARGE'
      message: string
    }

/** Everything about a registration that needs no state: chain, username, key, signature. */
export function checkRegistration(a: AccountRegistration, chainId: string): AccountCheck {
  if (a.chainId !== chainId)
    return { ok: false, code: 'WRONG_CHAIN', message: `chain ${a.chainId} is not ${chainId}` }
  if (!USERNAME.test(a.username)) {
    return {
      ok: false,
      code: 'BAD_USERNAME',
      message: 'username: 3-32 of a-z 0-9 _ . -, starting with a letter or digit',
    }
  }
  if (a.data.length > MAX_ACCOUNT_DATA_CHARS) {
    return {
      ok: false,
      code: 'TOO_LARGE',
      message: `data: at most ${MAX_ACCOUNT_DATA_CHARS} characters`,
    }
  }
  try {
    publicKeyObject(keyTypeOf(a.keyType), a.publicKey)
  } catch (err) {
    return { ok: false, code: 'BAD_KEY', message: (err as Error).message }
  }
  if (!verifyAccount(a))
    return { ok: false, code: 'BAD_SIGNATURE', message: 'not signed by the key it registers' }
  return { ok: true, address: toHex(addressOf(a.publicKey)) }
}

export function registrationAddress(a: AccountRegistration): string {
  return toHex(addressOf(a.publicKey))
}
