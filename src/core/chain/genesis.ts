import {
  addressOf,
  fromHex,
  KEY_TYPES,
  type KeyType,
  publicKeyObject,
  sha256,
  toHex,
} from '../crypto/index.js'
import { type PeerIdString, peerIdFromString } from '../crypto/peer-id.js'
import { canonicalJson } from './canonical-json.js'
import { quorum } from './quorum.js'

/** Consensus timing, fixed by genesis so that every validator uses the same. */
export interface Timeouts {
  /** A tx round fails when it has no commit certificate after this long. */
  txRoundMs: number
  /** Election timers are drawn uniformly from [electionMinMs, electionMaxMs). */
  electionMinMs: number
  electionMaxMs: number
  /** Round 0's deadline; each later round doubles it, up to roundMaxMs. */
  roundMs: number
  roundMaxMs: number
  /** The least time between two blocks (the leader waits for txs to gather). */
  blockIntervalMs: number
}

export const DEFAULT_TIMEOUTS: Readonly<Timeouts> = Object.freeze({
  txRoundMs: 10_000,
  electionMinMs: 100,
  electionMaxMs: 600,
  roundMs: 3_000,
  roundMaxMs: 60_000,
  blockIntervalMs: 100,
})

export interface Authority {
  /** hex sha256 of publicKey */
  address: string
  keyType: KeyType
  /** base64: ed25519 raw 32 bytes, RSA SPKI DER */
  publicKey: string
  /** gas credited to the authority at genesis */
  grant: number
}

/** genesis.json, validated and with defaults filled in. */
export interface Genesis {
  chainId: string
  /** ISO 8601, UTC */
  genesisTime: string
  validators: PeerIdString[]
  authorities: Authority[]
  /** gas lots expire after this long; 0: never */
  gasWindowMs: number
  timeouts: Timeouts
}

export class GenesisError extends Error {
  override readonly name = 'GenesisError'
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`)
  }
}

export const CHAIN_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/
export const MAX_VALIDATORS = 256
const GENESIS_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})$/
export const MAX_AUTHORITIES = 64

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function nonNegativeInteger(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new GenesisError(field, 'must be a non-negative integer')
  }
  return v
}

function rejectUnknownKeys(obj: Record<string, unknown>, known: string[], at: string): void {
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) throw new GenesisError(at ? `${at}.${k}` : k, 'unknown field')
  }
}

function parseAuthority(v: unknown, at: string): Authority {
  if (!isRecord(v)) throw new GenesisError(at, 'must be an object')
  rejectUnknownKeys(v, ['address', 'keyType', 'publicKey', 'grant'], at)
  const keyType = v.keyType ?? 'ed25519'
  if (typeof keyType !== 'string' || !KEY_TYPES.includes(keyType as KeyType)) {
    throw new GenesisError(`${at}.keyType`, `must be one of ${KEY_TYPES.join(', ')}`)
  }
  if (typeof v.publicKey !== 'string') throw new GenesisError(`${at}.publicKey`, 'must be base64')
  const publicKey = new Uint8Array(Buffer.from(v.publicKey, 'base64'))
  try {
    publicKeyObject(keyType as KeyType, publicKey)
  } catch (err) {
    throw new GenesisError(`${at}.publicKey`, (err as Error).message)
  }
  if (typeof v.address !== 'string') throw new GenesisError(`${at}.address`, 'must be hex')
  let address: Uint8Array
  try {
    address = fromHex(v.address)
  } catch {
    throw new GenesisError(`${at}.address`, 'must be 64 lower-case hex characters')
  }
  if (toHex(address) !== toHex(addressOf(publicKey))) {
    throw new GenesisError(`${at}.address`, 'is not the sha256 of publicKey')
  }
  return {
    address: v.address,
    keyType: keyType as KeyType,
    publicKey: Buffer.from(publicKey).toString('base64'),
    grant: nonNegativeInteger(v.grant, `${at}.grant`),
  }
}

function parseTimeouts(v: unknown): Timeouts {
  if (v === undefined) return { ...DEFAULT_TIMEOUTS }
  if (!isRecord(v)) throw new GenesisError('timeouts', 'must be an object')
  rejectUnknownKeys(v, Object.keys(DEFAULT_TIMEOUTS), 'timeouts')
  const t = { ...DEFAULT_TIMEOUTS }
  for (const key of Object.keys(DEFAULT_TIMEOUTS) as (keyof Timeouts)[]) {
    if (v[key] === undefined) continue
    const ms = nonNegativeInteger(v[key], `timeouts.${key}`)
    if (ms < 1 || ms > 3_600_000) throw new GenesisError(`timeouts.${key}`, 'must be 1..3600000 ms')
    t[key] = ms
  }
  if (t.electionMaxMs <= t.electionMinMs) {
    throw new GenesisError('timeouts.electionMaxMs', 'must be greater than electionMinMs')
  }
  if (t.roundMaxMs < t.roundMs) throw new GenesisError('timeouts.roundMaxMs', 'must be >= roundMs')
  return t
}

/** Validate a parsed genesis.json. Throws GenesisError naming the field. */
export function parseGenesis(v: unknown): Genesis {
  if (!isRecord(v)) throw new GenesisError('(root)', 'must be a JSON object')
  rejectUnknownKeys(
    v,
    ['chainId', 'genesisTime', 'validators', 'authorities', 'gasWindowMs', 'timeouts'],
    '',
  )
  if (typeof v.chainId !== 'string' || !CHAIN_ID.test(v.chainId)) {
    throw new GenesisError('chainId', 'must match [a-z0-9][a-z0-9._-]{0,63}')
  }
  // the zone is required: a time without one would give each validator's time zone its own chain
  if (
    typeof v.genesisTime !== 'string' ||
    !GENESIS_TIME.test(v.genesisTime) ||
    Number.isNaN(Date.parse(v.genesisTime))
  ) {
    throw new GenesisError(
      'genesisTime',
      'must be an ISO 8601 time with its zone, e.g. 2026-01-01T00:00:00.000Z',
    )
  }
  if (!Array.isArray(v.validators) || v.validators.length === 0) {
    throw new GenesisError('validators', 'must be a non-empty array of peer ids')
  }
  if (v.validators.length > MAX_VALIDATORS) {
    throw new GenesisError('validators', `at most ${MAX_VALIDATORS} validators`)
  }
  const validators: PeerIdString[] = []
  v.validators.forEach((id, i) => {
    if (typeof id !== 'string')
      throw new GenesisError(`validators[${i}]`, 'must be a peer id string')
    try {
      peerIdFromString(id)
    } catch (err) {
      throw new GenesisError(`validators[${i}]`, (err as Error).message)
    }
    if (validators.includes(id)) throw new GenesisError(`validators[${i}]`, 'duplicate peer id')
    validators.push(id)
  })
  const rawAuthorities = v.authorities ?? []
  if (!Array.isArray(rawAuthorities)) throw new GenesisError('authorities', 'must be an array')
  if (rawAuthorities.length > MAX_AUTHORITIES) {
    throw new GenesisError('authorities', `at most ${MAX_AUTHORITIES} authorities`)
  }
  const authorities = rawAuthorities.map((a, i) => parseAuthority(a, `authorities[${i}]`))
  const seen = new Set<string>()
  authorities.forEach((a, i) => {
    if (seen.has(a.address)) throw new GenesisError(`authorities[${i}].address`, 'duplicate')
    seen.add(a.address)
  })
  return {
    chainId: v.chainId,
    genesisTime: new Date(Date.parse(v.genesisTime)).toISOString(),
    validators,
    authorities,
    gasWindowMs: nonNegativeInteger(v.gasWindowMs ?? 0, 'gasWindowMs'),
    timeouts: parseTimeouts(v.timeouts),
  }
}

/** The chain's identity: sha256 of the validated genesis in canonical JSON. */
export function genesisHash(genesis: Genesis): Uint8Array {
  return sha256(new TextEncoder().encode(canonicalJson(genesis)))
}

export function genesisTimeMs(genesis: Genesis): number {
  return Date.parse(genesis.genesisTime)
}

export function genesisQuorum(genesis: Genesis): number {
  return quorum(genesis.validators.length)
}
