/**
 * Is a block a valid next block? (DESIGN §6 "Bad input".) Right chain,
 * height, parent and time; roots that match its body; txs in canonical
 * order, each signed by its sender, none at a nonce the chain has used;
 * registrations signed by their keys; and
 * a stateRoot equal to what executing it gives. Returns the execution, so
 * a block that is later final is not executed twice.
 */

import { checkRegistration } from '../chain/account.js'
import { accountsRoot, isCanonicalOrder, txRoot } from '../chain/block.js'
import { keyTypeOf, verifyTx } from '../chain/signatures.js'
import { txSenderHex } from '../chain/tx.js'
import type { Block } from '../codec/index.js'
import { bytesEqual, toHex } from '../crypto/hash.js'
import { type Execution, executeBlock } from '../state/execute.js'
import type { LedgerState } from '../state/ledger.js'
import { nonceUsed } from '../state/nonces.js'

export interface ChainTip {
  height: number
  hash: Uint8Array
  /** the parent block's time, ms (genesis time at height 0) */
  time: number
  stateRoot: Uint8Array
}

export type BlockCheck =
  | { ok: true; execution: Execution }
  | { ok: false; code: string; message: string }

/** How far ahead of a validator's clock a block's time may be. */
export const MAX_CLOCK_DRIFT_MS = 10_000

const bad = (code: string, message: string): BlockCheck => ({ ok: false, code, message })

export function checkBlock(
  chainId: string,
  block: Block,
  tip: ChainTip,
  ledger: LedgerState,
  /** the checker's clock, for the time bound; null when replaying history */
  now: number | null,
): BlockCheck {
  const h = block.header!
  if (h.chainId !== chainId) return bad('WRONG_CHAIN', h.chainId)
  if (h.height !== tip.height + 1)
    return bad('WRONG_HEIGHT', `${h.height}, expected ${tip.height + 1}`)
  if (!bytesEqual(h.parentHash, tip.hash)) return bad('WRONG_PARENT', toHex(h.parentHash))
  if (h.time <= tip.time)
    return bad('WRONG_TIME', `${h.time} is not after the parent's ${tip.time}`)
  if (now != null && h.time > now + MAX_CLOCK_DRIFT_MS)
    return bad('WRONG_TIME', `${h.time} is in the future`)
  if (!bytesEqual(h.txRoot, txRoot(block.txs)))
    return bad('WRONG_TX_ROOT', 'txRoot does not match the txs')
  if (!bytesEqual(h.accountsRoot, accountsRoot(block.accounts)))
    return bad('WRONG_ACCOUNTS_ROOT', 'accountsRoot does not match')
  if (!isCanonicalOrder(block.txs))
    return bad('TX_ORDER', 'txs are not in canonical order, or repeat')

  const registered = new Map<string, { keyType: 'ed25519' | 'rsa'; publicKey: Uint8Array }>()
  for (const reg of block.accounts) {
    const check = checkRegistration(reg, chainId)
    if (!check.ok) return bad('INVALID_ACCOUNT', `${reg.username}: ${check.message}`)
    registered.set(check.address, { keyType: keyTypeOf(reg.keyType), publicKey: reg.publicKey })
  }
  for (const tx of block.txs) {
    if (tx.chainId !== chainId) return bad('INVALID_TX', 'a tx of another chain')
    const sender = txSenderHex(tx)
    const account = ledger.account(sender)
    const key = account ?? registered.get(sender)
    if (key == null) return bad('INVALID_TX', `tx from ${sender}: unknown sender`)
    // a nonce the chain used already: this very tx again (one hash in two blocks), or one that
    // can only fail; block_new never proposes one (a second tx at a nonce this block uses may
    // stand after the first, and fails there)
    if (nonceUsed(account, tx.nonce))
      return bad('NONCE_USED', `tx from ${sender}: nonce ${tx.nonce} is used`)
    if (!verifyTx(tx, key.keyType, key.publicKey))
      return bad('INVALID_TX', `tx from ${sender}: bad signature`)
  }
  const execution = executeBlock(ledger, block, tip.stateRoot)
  if (!bytesEqual(execution.stateRoot, h.stateRoot))
    return bad('WRONG_STATE_ROOT', 'stateRoot does not match execution')
  return { ok: true, execution }
}
