/**
 * The ledger: accounts, their nonces and their gas lots (DESIGN §8). Built
 * from genesis; blocks change it (state/execute.ts). Answers the balance
 * query from the account's own lots, never by scanning the chain.
 */
import type { Genesis } from '../chain/genesis.js'
import { genesisTimeMs } from '../chain/genesis.js'
import type { KeyType } from '../crypto/keys.js'
import { nonceUsed } from './nonces.js'

/** A grant of gas: spent first-in first-out, expiring gasWindowMs after `time` (0: never). */
export interface GasLot {
  /** the block that granted it (0: genesis) */
  blockIndex: number
  /** its block's time, ms */
  time: number
  remaining: number
}

export interface AccountState {
  /** hex sha256 of publicKey */
  address: string
  username: string
  data: string
  keyType: KeyType
  publicKey: Uint8Array
  /** the block that registered it (0: genesis) */
  registeredAt: number
  /** one past the highest nonce its txs used: what a new tx takes (state/nonces.ts) */
  nextNonce: number
  /** the nonces below nextNonce, within NONCE_WINDOW, no tx has used yet (ascending) */
  missingNonces: number[]
  hasTransacted: boolean
  /** the last block that touched it */
  lastBlockIndex: number
  gasUsed: number
  /** credit that expired unspent (conservation: grants = balances + used + expired) */
  expiredGas: number
  lots: GasLot[]
}

/** Gas granted to an address before it has an account: claimed when it registers. */
export interface Unclaimed {
  lots: GasLot[]
  expiredGas: number
}

/** Gas credited to an address that has no account yet: it waits there until one registers. */
export interface Ledger {
  readonly gasWindowMs: number
  readonly authorities: ReadonlySet<string>
  account(address: string): AccountState | undefined
  addressOfUsername(username: string): string | undefined
  /** live gas at `now`: the sum of lots not expired */
  balance(address: string, now: number): number
}

/** Has `address` used `nonce`? An address without an account has used none. */
export function nonceUsedBy(ledger: Ledger, address: string, nonce: number): boolean {
  return nonceUsed(ledger.account(address), nonce)
}

export function isLive(lot: GasLot, now: number, windowMs: number): boolean {
  return lot.remaining > 0 && (windowMs === 0 || lot.time + windowMs > now)
}

export function liveBalance(lots: readonly GasLot[], now: number, windowMs: number): number {
  let sum = 0
  for (const lot of lots) if (isLive(lot, now, windowMs)) sum += lot.remaining
  return sum
}

/** An in-memory ledger. */
export class LedgerState implements Ledger {
  readonly accounts = new Map<string, AccountState>()
  readonly usernames = new Map<string, string>()
  /** gas granted to addresses without an account, by address */
  readonly unclaimed = new Map<string, Unclaimed>()

  constructor(
    readonly gasWindowMs: number,
    readonly authorities: ReadonlySet<string>,
  ) {}

  /** Genesis: each authority is an account (named `authority-<i>`) holding its grant. */
  static fromGenesis(genesis: Genesis): LedgerState {
    const state = new LedgerState(
      genesis.gasWindowMs,
      new Set(genesis.authorities.map((a) => a.address)),
    )
    const time = genesisTimeMs(genesis)
    genesis.authorities.forEach((a, i) => {
      state.put({
        address: a.address,
        username: `authority-${i}`,
        data: '',
        keyType: a.keyType,
        publicKey: new Uint8Array(Buffer.from(a.publicKey, 'base64')),
        registeredAt: 0,
        nextNonce: 0,
        missingNonces: [],
        hasTransacted: false,
        lastBlockIndex: 0,
        gasUsed: 0,
        expiredGas: 0,
        lots: a.grant > 0 ? [{ blockIndex: 0, time, remaining: a.grant }] : [],
      })
    })
    return state
  }

  put(account: AccountState): void {
    this.accounts.set(account.address, account)
    this.usernames.set(account.username, account.address)
  }

  account(address: string): AccountState | undefined {
    return this.accounts.get(address)
  }

  addressOfUsername(username: string): string | undefined {
    return this.usernames.get(username)
  }

  balance(address: string, now: number): number {
    const lots = this.accounts.get(address)?.lots ?? this.unclaimed.get(address)?.lots ?? []
    return liveBalance(lots, now, this.gasWindowMs)
  }
}
