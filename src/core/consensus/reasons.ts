/** Reject reasons: the wire enum, its stable code string, and words for people. */
import { RejectReason } from '../codec/index.js'

export type ReasonCode = keyof typeof RejectReason

export function reasonCode(r: RejectReason): string {
  return String(r)
}

const WORDS: Partial<Record<RejectReason, string>> = {
  [RejectReason.BAD_SIGNATURE]: 'the signature does not match the sender key',
  [RejectReason.WRONG_CHAIN]: 'the tx names another chain',
  [RejectReason.UNKNOWN_SENDER]: 'the sender has no account (register it first)',
  [RejectReason.NONCE_USED]: 'the nonce is used (by the account, or by another pooled tx)',
  [RejectReason.INSUFFICIENT_GAS]: 'the balance, net of pending txs, does not cover the gas',
  [RejectReason.TOO_LARGE]: 'the tx is larger than allowed',
  [RejectReason.POOL_FULL]: 'the pool is full; try again later',
  [RejectReason.UNAUTHORIZED]: 'only a genesis gas authority may sign a gas grant',
  [RejectReason.MALFORMED]: 'the tx is malformed',
  [RejectReason.UNKNOWN_TX]: 'the validator does not hold the tx',
  [RejectReason.DUPLICATE]: 'the tx is already known',
  [RejectReason.LOCKED]: 'the validator is locked on another block',
  [RejectReason.INVALID_BLOCK]: 'the block is invalid',
}

export function reasonWords(r: RejectReason): string {
  return WORDS[r] ?? String(r).toLowerCase()
}

/** A reason as the API shows it. */
export interface Reason {
  code: string
  message: string
  /**
   * How many validators rejected the tx for this reason, when their votes decided it (a round
   * that failed with a reason more than f of them gave: tx-target.ts rejectReason); absent for
   * every other reason.
   */
  rejectedBy?: number
}

export function reason(r: RejectReason, detail?: string): Reason {
  return { code: reasonCode(r), message: detail ? `${reasonWords(r)}: ${detail}` : reasonWords(r) }
}
