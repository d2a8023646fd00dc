/** The ledger's records in their stored (protobuf) form, and back. */

import { keyTypeOf, wireKeyType } from '../chain/signatures.js'
import {
  type AccountRecord,
  AccountRecordCodec,
  type UnclaimedRecord,
  UnclaimedRecordCodec,
} from '../codec/index.js'
import type { AccountState, Unclaimed } from './ledger.js'

export function accountToRecord(a: AccountState): AccountRecord {
  return {
    username: a.username,
    data: a.data,
    keyType: wireKeyType(a.keyType),
    publicKey: a.publicKey,
    registeredAt: a.registeredAt,
    nextNonce: a.nextNonce,
    hasTransacted: a.hasTransacted,
    lastBlockIndex: a.lastBlockIndex,
    gasUsed: a.gasUsed,
    expiredGas: a.expiredGas,
    lots: a.lots.map((l) => ({ blockIndex: l.blockIndex, time: l.time, remaining: l.remaining })),
    missingNonces: a.missingNonces,
  }
}

export function accountFromRecord(address: string, r: AccountRecord): AccountState {
  return {
    address,
    username: r.username,
    data: r.data,
    keyType: keyTypeOf(r.keyType),
    publicKey: r.publicKey,
    registeredAt: r.registeredAt,
    nextNonce: r.nextNonce,
    hasTransacted: r.hasTransacted,
    lastBlockIndex: r.lastBlockIndex,
    gasUsed: r.gasUsed,
    expiredGas: r.expiredGas,
    lots: r.lots.map((l) => ({ blockIndex: l.blockIndex, time: l.time, remaining: l.remaining })),
    missingNonces: [...r.missingNonces],
  }
}

export const encodeAccount = (a: AccountState): Uint8Array =>
  AccountRecordCodec.encode(accountToRecord(a))
export const decodeAccount = (address: string, bytes: Uint8Array): AccountState =>
  accountFromRecord(address, AccountRecordCodec.decode(bytes))

export function unclaimedToRecord(u: Unclaimed): UnclaimedRecord {
  return { lots: u.lots.map((l) => ({ ...l })), expiredGas: u.expiredGas }
}

export const encodeUnclaimed = (u: Unclaimed): Uint8Array =>
  UnclaimedRecordCodec.encode(unclaimedToRecord(u))
export function decodeUnclaimed(bytes: Uint8Array): Unclaimed {
  const r = UnclaimedRecordCodec.decode(bytes)
  return { lots: r.lots.map((l) => ({ ...l })), expiredGas: r.expiredGas }
}
