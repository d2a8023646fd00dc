/**
 * Account key files: `{address, keyType, publicKey, privateKey, username}`,
 * mode 0600. Keys are made where the user is, so a private key never crosses
 * the network (DESIGN §7).
 */
import { generateKeyPairSync } from 'node:crypto'
import {
  addressOf,
  exportPrivateKey,
  KEY_TYPES,
  type KeyType,
  type Signer,
  signerFromPrivateKey,
  toHex,
} from '../../core/crypto/index.js'
import { createJsonFile, FileError, readJsonFile } from '../files.js'

export interface AccountKeyFile {
  /** hex sha256 of the public key */
  address: string
  keyType: KeyType
  /** base64: Ed25519 raw 32 bytes, RSA SPKI DER */
  publicKey: string
  /** base64 PKCS#8 DER */
  privateKey: string
  username: string
}

export interface AccountKey {
  address: string
  username: string
  signer: Signer
}

/** Make a fresh account key pair. */
export function generateAccountKey(keyType: KeyType, rsaBits = 2048): Signer {
  if (keyType === 'ed25519') {
    const { privateKey } = generateKeyPairSync('ed25519')
    return signerFromPrivateKey('ed25519', privateKey.export({ format: 'der', type: 'pkcs8' }))
  }
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: rsaBits })
  return signerFromPrivateKey('rsa', privateKey.export({ format: 'der', type: 'pkcs8' }))
}

export function accountKeyFile(signer: Signer, username: string): AccountKeyFile {
  return {
    address: toHex(addressOf(signer.publicKey)),
    keyType: signer.type,
    publicKey: Buffer.from(signer.publicKey).toString('base64'),
    privateKey: Buffer.from(exportPrivateKey(signer)).toString('base64'),
    username,
  }
}

/** Parse an account key file body; throws FileError naming `file` and the field. */
export function parseAccountKey(json: unknown, file: string): AccountKey {
  if (typeof json !== 'object' || json === null) throw new FileError(file, 'must be a JSON object')
  const k = json as Partial<AccountKeyFile>
  if (!KEY_TYPES.includes(k.keyType as KeyType)) {
    throw new FileError(file, `keyType: must be one of ${KEY_TYPES.join(', ')}`)
  }
  if (typeof k.privateKey !== 'string') throw new FileError(file, 'privateKey: must be base64')
  let signer: Signer
  try {
    signer = signerFromPrivateKey(k.keyType as KeyType, Buffer.from(k.privateKey, 'base64'))
  } catch (err) {
    throw new FileError(file, `privateKey: ${(err as Error).message}`)
  }
  const address = toHex(addressOf(signer.publicKey))
  if (k.address !== undefined && k.address !== address) {
    throw new FileError(file, `address: does not match the key (expected ${address})`)
  }
  return { address, username: typeof k.username === 'string' ? k.username : '', signer }
}

export async function readAccountKey(file: string): Promise<AccountKey> {
  return parseAccountKey(await readJsonFile(file), file)
}

/** Write a new account key file, mode 0600; refuses to overwrite. */
export async function writeAccountKey(file: string, body: AccountKeyFile): Promise<void> {
  try {
    await createJsonFile(file, body, 0o600)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new FileError(file, 'already exists; not overwriting a key file')
    }
    throw err
  }
}
