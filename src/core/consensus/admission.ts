/**
 * Admission of a tx on a node (DESIGN §5, step 2): signature, chain, sender
 * registered (or registering), nonce not used, gas covered by the balance net
 * of pending txs, authority for gas grants, size, and room in the pool.
 * Pure: the same inputs give the same verdict on every node.
 */

import { keyTypeOf, verifyTx } from '../chain/signatures.js'
import { txSenderHex } from '../chain/tx.js'
import { GasGrantCodec, MAX_TX_BYTES, RejectReason, type Tx, TxKind } from '../codec/index.js'
import type { Mempool } from '../mempool/mempool.js'
import type { Ledger } from '../state/ledger.js'
import { nonceUsed } from '../state/nonces.js'

export interface AdmissionContext {
  chainId: string
  ledger: Ledger
  pool: Mempool
  now: number
}

export type Admission =
  | { ok: true; duplicate: boolean }
  /** `signed`: the tx's signature was checked and holds (the refusal is about the state) */
  | { ok: false; reason: RejectReason; detail: string; signed: boolean }

const no = (reason: RejectReason, detail: string, signed = false): Admission => ({
  ok: false,
  reason,
  detail,
  signed,
})

/** The sender's key: from its account, or from its pending registration. */
export function senderKey(
  ctx: AdmissionContext,
  sender: string,
): { keyType: 'ed25519' | 'rsa'; publicKey: Uint8Array } | null {
  const account = ctx.ledger.account(sender)
  if (account) return { keyType: account.keyType, publicKey: account.publicKey }
  const pending = ctx.pool.pendingAccount(sender)
  if (pending) return { keyType: keyTypeOf(pending.keyType), publicKey: pending.publicKey }
  return null
}

export function admitTx(ctx: AdmissionContext, tx: Tx, hash: string, bytes: number): Admission {
  if (tx.chainId !== ctx.chainId) return no(RejectReason.WRONG_CHAIN, tx.chainId)
  if (bytes > MAX_TX_BYTES) return no(RejectReason.TOO_LARGE, `${bytes} bytes`)
  if (ctx.pool.has(hash)) return { ok: true, duplicate: true }
  const sender = txSenderHex(tx)
  const key = senderKey(ctx, sender)
  if (key == null) return no(RejectReason.UNKNOWN_SENDER, sender)
  if (!verifyTx(tx, key.keyType, key.publicKey)) return no(RejectReason.BAD_SIGNATURE, sender)
  // from here on the tx is genuine: a refusal is about the state, not the tx
  const refuse = (reason: RejectReason, detail: string) => no(reason, detail, true)
  if (tx.kind === TxKind.GAS_GRANT) {
    if (!ctx.ledger.authorities.has(sender)) return refuse(RejectReason.UNAUTHORIZED, sender)
    try {
      GasGrantCodec.decode(tx.data)
    } catch {
      return refuse(RejectReason.MALFORMED, 'data is not a gas grant {to, amount}')
    }
  } else if (tx.kind !== TxKind.DATA) {
    return refuse(RejectReason.MALFORMED, `unknown kind ${tx.kind}`)
  }
  if (nonceUsed(ctx.ledger.account(sender), tx.nonce))
    return refuse(RejectReason.NONCE_USED, `nonce ${tx.nonce} is used`)
  const taken = ctx.pool.atNonce(sender, tx.nonce)
  if (taken != null)
    return refuse(
      RejectReason.NONCE_USED,
      `nonce ${tx.nonce} is taken by tx ${taken.hash.slice(0, 16)}`,
    )
  if (tx.gas > 0) {
    const available = ctx.ledger.balance(sender, ctx.now) - ctx.pool.pendingGas(sender)
    if (available < tx.gas)
      return refuse(RejectReason.INSUFFICIENT_GAS, `needs ${tx.gas}, has ${Math.max(0, available)}`)
  }
  if (ctx.pool.isFull(bytes))
    return refuse(
      RejectReason.POOL_FULL,
      `${ctx.pool.limits.maxTxs} txs or ${ctx.pool.limits.maxBytes} bytes`,
    )
  return { ok: true, duplicate: false }
}
