import { toString as bytesToString, fromString as stringToBytes } from 'uint8arrays'
import { ED25519_PUBLIC_KEY_BYTES } from './keys.js'

/**
 * Validators are libp2p Ed25519 peer ids. Such a peer id is the identity
 * multihash of the protobuf-encoded public key, so the key that checks a
 * validator's votes is read straight out of its id: no registry needed.
 *
 * bytes: 0x00 0x24 (identity, 36 bytes) 0x08 0x01 (KeyType Ed25519) 0x12 0x20 (32 bytes) key
 */
const ED25519_PEER_ID_PREFIX = Uint8Array.from([0x00, 0x24, 0x08, 0x01, 0x12, 0x20])
export const PEER_ID_BYTES = ED25519_PEER_ID_PREFIX.length + ED25519_PUBLIC_KEY_BYTES

/** A peer id in its usual base58btc text form ("12D3KooW…"). */
export type PeerIdString = string

export class PeerIdError extends Error {
  override readonly name = 'PeerIdError'
}

export function isEd25519PeerIdBytes(bytes: Uint8Array): boolean {
  if (bytes.length !== PEER_ID_BYTES) return false
  for (let i = 0; i < ED25519_PEER_ID_PREFIX.length; i++) {
    if (bytes[i] !== ED25519_PEER_ID_PREFIX[i]) return false
  }
  return true
}

export function peerIdToPublicKey(bytes: Uint8Array): Uint8Array {
  if (!isEd25519PeerIdBytes(bytes)) throw new PeerIdError('not an Ed25519 peer id')
  return bytes.subarray(ED25519_PEER_ID_PREFIX.length)
}

export function peerIdFromPublicKey(publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES) throw new PeerIdError('not an Ed25519 key')
  const out = new Uint8Array(PEER_ID_BYTES)
  out.set(ED25519_PEER_ID_PREFIX)
  out.set(publicKey, ED25519_PEER_ID_PREFIX.length)
  return out
}

/**
 * Text forms already computed, by the id's bytes: every vote and certificate names its voters, and
 * base58 costs a big-number division per character, so the few ids a chain has are encoded once.
 */
const textForms = new Map<string, PeerIdString>()
const TEXT_FORMS_CAPACITY = 4_096

export function peerIdToString(bytes: Uint8Array): PeerIdString {
  if (!isEd25519PeerIdBytes(bytes)) throw new PeerIdError('not an Ed25519 peer id')
  const key = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
  let text = textForms.get(key)
  if (text === undefined) {
    text = bytesToString(bytes, 'base58btc')
    if (textForms.size >= TEXT_FORMS_CAPACITY) textForms.clear()
    textForms.set(key, text)
  }
  return text
}

export function peerIdFromString(text: string): Uint8Array {
  let bytes: Uint8Array
  try {
    bytes = stringToBytes(text, 'base58btc')
  } catch {
    throw new PeerIdError(`"${text.slice(0, 60)}" is not a base58 peer id`)
  }
  if (!isEd25519PeerIdBytes(bytes)) {
    throw new PeerIdError(`"${text.slice(0, 60)}" is not an Ed25519 peer id (12D3KooW…)`)
  }
  return bytes
}

/** The short form used in logs: the last 6 characters. */
export function shortPeerId(id: PeerIdString): string {
  return id.length > 6 ? `…${id.slice(-6)}` : id
}
