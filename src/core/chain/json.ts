/**
 * The JSON forms of txs and account registrations that the HTTP API and the
 * CLI exchange. Hex for hashes and addresses, base64 for keys and
 * signatures; a data tx's payload is `data` (UTF-8 text) or `dataBase64`.
 * The signature always covers the canonical protobuf form, so JSON
 * formatting never matters.
 */
import {
  type AccountRegistration,
  GasGrantCodec,
  MAX_TX_DATA_BYTES,
  type Tx,
  TxKind,
  KeyType as WireKeyType,
} from '../codec/index.js'
import { fromHex, toHex } from '../crypto/hash.js'
import { KEY_TYPES, type KeyType } from '../crypto/keys.js'
import { keyTypeOf } from './signatures.js'

export interface TxJson {
  chainId: string
  kind: 'data' | 'gas-grant'
  /** hex address of the sender */
  from: string
  nonce: number
  gas: number
  /** DATA: the record as UTF-8 text… */
  data?: string
  /** …or as base64 bytes */
  dataBase64?: string
  /** GAS_GRANT: credit `amount` gas to address `to` */
  grant?: { to: string; amount: number }
  /** base64 */
  signature: string
}

export interface AccountRegistrationJson {
  chainId?: string
  username: string
  data: string
  keyType: KeyType
  /** base64 */
  publicKey: string
  /** base64 */
  signature: string
}

export class JsonFormError extends Error {
  constructor(
    readonly field: string,
    reason: string,
    /** MALFORMED, or TOO_LARGE for a payload over its limit */
    readonly code: 'MALFORMED' | 'TOO_LARGE' = 'MALFORMED',
  ) {
    super(`${field}: ${reason}`)
  }
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true })
const utf8 = new TextEncoder()

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function uint(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new JsonFormError(field, 'must be a non-negative integer')
  }
  return v
}

function hex32(v: unknown, field: string): Uint8Array {
  if (typeof v !== 'string') throw new JsonFormError(field, 'must be a hex string')
  let b: Uint8Array
  try {
    b = fromHex(v)
  } catch {
    throw new JsonFormError(field, 'must be lower-case hex')
  }
  if (b.length !== 32) throw new JsonFormError(field, 'must be 32 bytes (64 hex characters)')
  return b
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

function base64(v: unknown, field: string): Uint8Array {
  if (typeof v !== 'string' || !BASE64.test(v) || v.length % 4 !== 0) {
    throw new JsonFormError(field, 'must be base64')
  }
  return new Uint8Array(Buffer.from(v, 'base64'))
}

export function txFromJson(v: unknown): Tx {
  if (!isRecord(v)) throw new JsonFormError('(body)', 'a tx is a JSON object')
  for (const k of Object.keys(v)) {
    if (
      ![
        'chainId',
        'kind',
        'from',
        'nonce',
        'gas',
        'data',
        'dataBase64',
        'grant',
        'signature',
      ].includes(k)
    ) {
      throw new JsonFormError(k, 'unknown field')
    }
  }
  if (typeof v.chainId !== 'string' || v.chainId.length === 0)
    throw new JsonFormError('chainId', 'must be a string')
  if (v.kind !== 'data' && v.kind !== 'gas-grant')
    throw new JsonFormError('kind', 'must be "data" or "gas-grant"')
  let data: Uint8Array
  if (v.kind === 'data') {
    if (v.grant !== undefined) throw new JsonFormError('grant', 'only for kind gas-grant')
    if (v.data !== undefined && v.dataBase64 !== undefined)
      throw new JsonFormError('data', 'give data or dataBase64, not both')
    if (v.dataBase64 !== undefined) data = base64(v.dataBase64, 'dataBase64')
    else if (typeof v.data === 'string') data = utf8.encode(v.data)
    else if (v.data === undefined) data = new Uint8Array(0)
    else throw new JsonFormError('data', 'must be a string')
  } else {
    if (v.data !== undefined || v.dataBase64 !== undefined)
      throw new JsonFormError('data', 'a gas-grant has grant, not data')
    if (!isRecord(v.grant)) throw new JsonFormError('grant', 'must be {to, amount}')
    const amount = uint(v.grant.amount, 'grant.amount')
    if (amount === 0) throw new JsonFormError('grant.amount', 'must be positive')
    data = GasGrantCodec.encode({ to: hex32(v.grant.to, 'grant.to'), amount })
  }
  if (data.length > MAX_TX_DATA_BYTES) {
    throw new JsonFormError(
      'data',
      `${data.length} bytes; at most ${MAX_TX_DATA_BYTES}`,
      'TOO_LARGE',
    )
  }
  return {
    chainId: v.chainId,
    kind: v.kind === 'data' ? TxKind.DATA : TxKind.GAS_GRANT,
    from: hex32(v.from, 'from'),
    nonce: uint(v.nonce, 'nonce'),
    gas: uint(v.gas ?? 0, 'gas'),
    data,
    signature: base64(v.signature, 'signature'),
  }
}

export function txToJson(tx: Tx): TxJson {
  const out: TxJson = {
    chainId: tx.chainId,
    kind: tx.kind === TxKind.GAS_GRANT ? 'gas-grant' : 'data',
    from: toHex(tx.from),
    nonce: tx.nonce,
    gas: tx.gas,
    signature: Buffer.from(tx.signature).toString('base64'),
  }
  if (tx.kind === TxKind.GAS_GRANT) {
    try {
      const g = GasGrantCodec.decode(tx.data)
      out.grant = { to: toHex(g.to), amount: g.amount }
    } catch {
      out.dataBase64 = Buffer.from(tx.data).toString('base64')
    }
    return out
  }
  try {
    out.data = fatalUtf8.decode(tx.data)
  } catch {
    out.dataBase64 = Buffer.from(tx.data).toString('base64')
  }
  return out
}

export function accountFromJson(v: unknown, chainId: string): AccountRegistration {
  if (!isRecord(v)) throw new JsonFormError('(body)', 'an account is a JSON object')
  for (const k of Object.keys(v)) {
    if (!['chainId', 'username', 'data', 'keyType', 'publicKey', 'signature'].includes(k)) {
      throw new JsonFormError(k, 'unknown field')
    }
  }
  if (v.chainId !== undefined && v.chainId !== chainId)
    throw new JsonFormError('chainId', `this node is on ${chainId}`)
  if (typeof v.username !== 'string') throw new JsonFormError('username', 'must be a string')
  if (v.data !== undefined && typeof v.data !== 'string')
    throw new JsonFormError('data', 'must be a string')
  const keyType = v.keyType ?? 'ed25519'
  if (!KEY_TYPES.includes(keyType as KeyType))
    throw new JsonFormError('keyType', `one of ${KEY_TYPES.join(', ')}`)
  return {
    chainId,
    username: v.username,
    data: (v.data as string | undefined) ?? '',
    keyType: keyType === 'rsa' ? WireKeyType.RSA : WireKeyType.ED25519,
    publicKey: base64(v.publicKey, 'publicKey'),
    signature: base64(v.signature, 'signature'),
  }
}

export function accountToJson(a: AccountRegistration): AccountRegistrationJson {
  return {
    chainId: a.chainId,
    username: a.username,
    data: a.data,
    keyType: keyTypeOf(a.keyType),
    publicKey: Buffer.from(a.publicKey).toString('base64'),
    signature: Buffer.from(a.signature).toString('base64'),
  }
}
