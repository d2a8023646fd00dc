/**
 * Block execution (DESIGN §6, §8): deterministic, on an overlay of the
 * ledger, so a proposal can be checked without changing anything.
 *
 * Registrations first, in block order: a key or username already taken
 * fails. Then txs in their canonical order (sender, nonce): a tx from an
 * unknown sender or with a used nonce fails and changes nothing; one without
 * the gas, or a grant by a non-authority or a malformed one, fails with its
 * reason and only uses its nonce (as Ethereum's failed txs do), so a failed
 * tx can never be in a later block and succeed there. A tx that passes
 * advances its sender's nonce and draws its gas first-in first-out from the
 * sender's live lots, recording where it drew from. Lots older than
 * gasWindowMs at the block's time expire.
 *
 * stateRoot = sha256(parent stateRoot ‖ height ‖ every record this block
 * changed, by address): a hash chain over the state's history, so two
 * nodes with equal roots hold equal states.
 */

import { checkRegistration } from '../chain/account.js'
import { keyTypeOf } from '../chain/signatures.js'
import { txHash, txSenderHex } from '../chain/tx.js'
import { type Block, GasGrantCodec, type Receipt, ReceiptStatus, TxKind } from '../codec/index.js'
import { fromHex, sha256, toHex } from '../crypto/hash.js'
import { addressOf } from '../crypto/keys.js'
import type { AccountState, GasLot, LedgerState, Unclaimed } from './ledger.js'
import { isLive, liveBalance } from './ledger.js'
import { nonceUsed, useNonce } from './nonces.js'
import { encodeAccount, encodeUnclaimed } from './records.js'

export interface Execution {
  height: number
  receipts: { txs: Receipt[]; accounts: Receipt[] }
  /** every account this block created or changed, as it is after the block */
  accounts: Map<string, AccountState>
  unclaimed: Map<string, Unclaimed>
  stateRoot: Uint8Array
  gasUsed: number
  granted: number
  expired: number
}

function cloneAccount(a: AccountState): AccountState {
  return { ...a, lots: a.lots.map((l) => ({ ...l })), missingNonces: [...a.missingNonces] }
}

/**
 * Move the lots that expired (or are spent) out of the account's live list; answers the gas that
 * expired. A new list is made only when a lot goes (per tx, the usual case is that none does).
 */
function pruneLots(account: AccountState, now: number, windowMs: number): number {
  const lots = account.lots
  let kept = 0
  while (kept < lots.length && isLive(lots[kept]!, now, windowMs)) kept++
  if (kept === lots.length) return 0
  let expired = 0
  const live = lots.slice(0, kept)
  for (let i = kept; i < lots.length; i++) {
    const lot = lots[i]!
    if (lot.remaining <= 0) continue
    if (isLive(lot, now, windowMs)) live.push(lot)
    else expired += lot.remaining
  }
  account.lots = live
  return expired
}

const failed = (hash: Uint8Array, reason: string): Receipt => ({
  hash,
  status: ReceiptStatus.FAILED,
  reason,
  draws: [],
})

export function executeBlock(
  ledger: LedgerState,
  block: Block,
  parentStateRoot: Uint8Array,
): Execution {
  const header = block.header!
  const { height, time } = header
  const windowMs = ledger.gasWindowMs
  const accounts = new Map<string, AccountState>()
  const unclaimed = new Map<string, Unclaimed>()
  const usernames = new Map<string, string>()
  const result: Execution = {
    height,
    receipts: { txs: [], accounts: [] },
    accounts,
    unclaimed,
    stateRoot: new Uint8Array(0),
    gasUsed: 0,
    granted: 0,
    expired: 0,
  }

  const account = (address: string): AccountState | undefined => {
    let a = accounts.get(address)
    if (a == null) {
      const base = ledger.account(address)
      if (base == null) return undefined
      a = cloneAccount(base)
      accounts.set(address, a)
    }
    return a
  }
  const unclaimedOf = (address: string): Unclaimed => {
    let u = unclaimed.get(address)
    if (u == null) {
      const base = ledger.unclaimed.get(address)
      u = { lots: base?.lots.map((l) => ({ ...l })) ?? [], expiredGas: base?.expiredGas ?? 0 }
      unclaimed.set(address, u)
    }
    return u
  }
  const usernameTaken = (name: string): boolean =>
    usernames.has(name) || ledger.addressOfUsername(name) != null

  for (const reg of block.accounts) {
    const hash = addressOf(reg.publicKey)
    const check = checkRegistration(reg, header.chainId)
    if (!check.ok) {
      result.receipts.accounts.push(failed(hash, check.code))
      continue
    }
    const address = check.address
    if (account(address) != null) {
      result.receipts.accounts.push(failed(hash, 'ALREADY_REGISTERED'))
      continue
    }
    if (usernameTaken(reg.username)) {
      result.receipts.accounts.push(failed(hash, 'USERNAME_TAKEN'))
      continue
    }
    const waiting =
      ledger.unclaimed.has(address) || unclaimed.has(address) ? unclaimedOf(address) : null
    const created: AccountState = {
      address,
      username: reg.username,
      data: reg.data,
      keyType: keyTypeOf(reg.keyType),
      publicKey: reg.publicKey,
      registeredAt: height,
      nextNonce: 0,
      missingNonces: [],
      hasTransacted: false,
      lastBlockIndex: height,
      gasUsed: 0,
      expiredGas: waiting?.expiredGas ?? 0,
      lots: waiting?.lots ?? [],
    }
    if (waiting) {
      // the gas granted before the account existed is now the account's
      unclaimed.set(address, { lots: [], expiredGas: 0 })
    }
    accounts.set(address, created)
    usernames.set(reg.username, address)
    result.receipts.accounts.push({ hash, status: ReceiptStatus.OK, reason: '', draws: [] })
  }

  for (const tx of block.txs) {
    const hash = txHash(tx)
    const sender = account(txSenderHex(tx))
    if (sender == null) {
      result.receipts.txs.push(failed(hash, 'UNKNOWN_SENDER'))
      continue
    }
    if (nonceUsed(sender, tx.nonce)) {
      result.receipts.txs.push(failed(hash, 'NONCE_USED'))
      continue
    }
    // from here on the tx uses its nonce, failed or not: no block may hold it again (block-check)
    let failure: string | null = null
    let grant: { to: string; amount: number } | null = null
    if (liveBalance(sender.lots, time, windowMs) < tx.gas) failure = 'INSUFFICIENT_GAS'
    else if (tx.kind === TxKind.GAS_GRANT) {
      if (!ledger.authorities.has(sender.address)) failure = 'UNAUTHORIZED'
      else {
        try {
          const g = GasGrantCodec.decode(tx.data)
          grant = { to: toHex(g.to), amount: g.amount }
        } catch {
          failure = 'MALFORMED'
        }
      }
    }
    if (failure != null) {
      useNonce(sender, tx.nonce)
      sender.lastBlockIndex = height
      result.receipts.txs.push(failed(hash, failure))
      continue
    }
    // expired lots leave the account (counted as expired), then the gas is
    // drawn first-in first-out from the oldest live lots
    const expired = pruneLots(sender, time, windowMs)
    sender.expiredGas += expired
    result.expired += expired
    const draws: Receipt['draws'] = []
    let owed = tx.gas
    let spent = false
    for (const lot of sender.lots) {
      if (owed === 0) break
      const use = Math.min(lot.remaining, owed)
      if (use === 0) continue
      lot.remaining -= use
      owed -= use
      if (lot.remaining === 0) spent = true
      draws.push({ index: lot.blockIndex, useGas: use })
    }
    if (spent) sender.lots = sender.lots.filter((l) => l.remaining > 0)
    sender.gasUsed += tx.gas
    useNonce(sender, tx.nonce)
    sender.hasTransacted = true
    sender.lastBlockIndex = height
    result.gasUsed += tx.gas
    if (grant != null) {
      const lot: GasLot = { blockIndex: height, time, remaining: grant.amount }
      const to = account(grant.to)
      if (to != null) {
        to.lots.push(lot)
        to.lastBlockIndex = height
      } else {
        unclaimedOf(grant.to).lots.push(lot)
      }
      result.granted += grant.amount
    }
    result.receipts.txs.push({ hash, status: ReceiptStatus.OK, reason: '', draws })
  }

  result.stateRoot = stateRootOf(parentStateRoot, height, accounts, unclaimed)
  return result
}

function stateRootOf(
  parent: Uint8Array,
  height: number,
  accounts: Map<string, AccountState>,
  unclaimed: Map<string, Unclaimed>,
): Uint8Array {
  const h = new Uint8Array(8)
  new DataView(h.buffer).setBigUint64(0, BigInt(height))
  const parts: Uint8Array[] = [parent, h]
  for (const address of [...accounts.keys()].sort())
    parts.push(fromHex(address), sha256(encodeAccount(accounts.get(address)!)))
  for (const address of [...unclaimed.keys()].sort()) {
    parts.push(fromHex(address), sha256(encodeUnclaimed(unclaimed.get(address)!)))
  }
  return sha256(...parts)
}

/** Make an execution's changes part of the ledger (after the block is final). */
export function applyExecution(ledger: LedgerState, exec: Execution): void {
  for (const a of exec.accounts.values()) ledger.put(a)
  for (const [address, u] of exec.unclaimed) {
    if (u.lots.length === 0 && u.expiredGas === 0) ledger.unclaimed.delete(address)
    else ledger.unclaimed.set(address, u)
  }
}

/** The state root before the first block: it names the genesis. */
export function genesisStateRoot(genesisHash: Uint8Array): Uint8Array {
  return sha256(new TextEncoder().encode('bftchain/genesis-state'), genesisHash)
}
