/**
 * The node key file, `<home>/node-key.json` (mode 0600): the libp2p Ed25519
 * identity whose peer id is the validator id. Its signatures on votes are
 * made with node:crypto from the same seed.
 */
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import type { Ed25519PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { type Signer, signerFromPrivateKey } from '../../core/crypto/keys.js'
import { createJsonFile, FileError, readJsonFile } from '../files.js'

export const NODE_KEY_FILE = 'node-key.json'

export interface NodeKeyFile {
  peerId: string
  keyType: 'ed25519'
  /** base64, raw 32 bytes */
  publicKey: string
  /** base64, the 32-byte Ed25519 seed */
  privateKey: string
}

/** The node's identity, for libp2p and for signing consensus messages. */
export interface NodeIdentity {
  peerId: string
  privateKey: Ed25519PrivateKey
  signer: Signer
}

export async function identityFromSeed(seed: Uint8Array): Promise<NodeIdentity> {
  const privateKey = await generateKeyPairFromSeed('Ed25519', seed)
  return {
    peerId: peerIdFromPrivateKey(privateKey).toString(),
    privateKey,
    signer: signerFromPrivateKey('ed25519', seed),
  }
}

export function nodeKeyPath(home: string): string {
  return join(home, NODE_KEY_FILE)
}

export async function readNodeKey(file: string): Promise<NodeIdentity> {
  const json = await readJsonFile(file)
  if (typeof json !== 'object' || json === null) throw new FileError(file, 'must be a JSON object')
  const k = json as Partial<NodeKeyFile>
  if (k.keyType !== 'ed25519') throw new FileError(file, 'keyType: must be "ed25519"')
  if (typeof k.privateKey !== 'string') throw new FileError(file, 'privateKey: must be base64')
  const seed = new Uint8Array(Buffer.from(k.privateKey, 'base64'))
  if (seed.length !== 32) throw new FileError(file, 'privateKey: must be a 32-byte Ed25519 seed')
  const id = await identityFromSeed(seed)
  if (k.peerId !== undefined && k.peerId !== id.peerId) {
    throw new FileError(file, `peerId: ${k.peerId} does not match privateKey (${id.peerId})`)
  }
  const mode = (await stat(file)).mode & 0o777
  if ((mode & 0o077) !== 0) {
    throw new FileError(file, `mode ${mode.toString(8)} lets others read the key; chmod 600 it`)
  }
  return id
}

/** Make a new node key file (mode 0600). Refuses to overwrite one. */
export async function createNodeKey(file: string): Promise<NodeIdentity> {
  const key = await generateKeyPair('Ed25519')
  const seed = key.raw.subarray(0, 32)
  const id = await identityFromSeed(seed)
  const body: NodeKeyFile = {
    peerId: id.peerId,
    keyType: 'ed25519',
    publicKey: Buffer.from(key.publicKey.raw).toString('base64'),
    privateKey: Buffer.from(seed).toString('base64'),
  }
  try {
    await createJsonFile(file, body, 0o600)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new FileError(file, 'already exists; not overwriting a node key')
    }
    throw err
  }
  return id
}

/** Read the home's node key, making one if there is none. */
export async function loadOrCreateNodeKey(
  home: string,
): Promise<{ identity: NodeIdentity; created: boolean }> {
  const file = nodeKeyPath(home)
  try {
    await stat(file)
  } catch {
    return { identity: await createNodeKey(file), created: true }
  }
  return { identity: await readNodeKey(file), created: false }
}
