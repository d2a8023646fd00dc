/**
 * Account registrations (DESIGN §7): checked, kept pending for the next
 * block, persisted so a restart keeps them, and published on `accounts`.
 * Usernames are unique: a registration whose username or key is already
 * taken (final or pending) is refused; between two in flight, the first a
 * node hears of wins here and the block decides for everyone. The pending
 * registrations are bounded (PoolLimits maxAccounts, maxAccountBytes): beyond
 * them a client's is refused with POOL_FULL and a gossiped one is dropped.
 */

import { checkRegistration } from '../chain/account.js'
import type { AccountRegistration } from '../codec/index.js'
import { accountBytesOf, type Mempool } from '../mempool/mempool.js'
import type { Ledger } from '../state/ledger.js'
import type { ClientResult, CoreAction } from './types.js'

export class AccountRegistry {
  constructor(
    private readonly chainId: string,
    private readonly ledger: () => Ledger,
    private readonly pool: Mempool,
    private readonly out: CoreAction[],
  ) {}

  /** Why `reg` cannot be registered now, or null. */
  private conflict(address: string, username: string): ClientResult | null {
    const ledger = this.ledger()
    if (ledger.account(address) != null || this.pool.pendingAccount(address) != null) {
      return {
        ok: false,
        code: 'ALREADY_REGISTERED',
        message: `key ${address} already has an account`,
        httpStatus: 409,
      }
    }
    if (ledger.addressOfUsername(username) != null || this.pool.pendingUsername(username) != null) {
      return {
        ok: false,
        code: 'USERNAME_TAKEN',
        message: `username ${username} is taken`,
        httpStatus: 409,
      }
    }
    return null
  }

  submit(requestId: number, reg: AccountRegistration): void {
    // a full pool refuses before a signature check is spent on it
    const bytes = accountBytesOf(reg)
    if (this.pool.isAccountsFull(bytes)) {
      this.out.push({
        type: 'client-result',
        requestId,
        result: {
          ok: false,
          code: 'POOL_FULL',
          message: 'too many account registrations are pending; try again later',
          httpStatus: 503,
        },
      })
      return
    }
    const check = checkRegistration(reg, this.chainId)
    if (!check.ok) {
      this.out.push({
        type: 'client-result',
        requestId,
        result: { ok: false, code: check.code, message: check.message, httpStatus: 400 },
      })
      return
    }
    const conflict = this.conflict(check.address, reg.username)
    if (conflict) {
      this.out.push({ type: 'client-result', requestId, result: conflict })
      return
    }
    this.keep(check.address, reg, bytes)
    this.out.push({ type: 'publish', topic: 'accounts', message: reg })
    this.out.push({
      type: 'client-result',
      requestId,
      result: { ok: true, address: check.address, status: 'pending' },
    })
  }

  /** A registration from the network (already validated). */
  onGossip(reg: AccountRegistration): void {
    // a full pool drops it (before any signature check): a block made by a node that kept it
    // still brings it to everyone
    const bytes = accountBytesOf(reg)
    if (this.pool.isAccountsFull(bytes)) return
    const check = checkRegistration(reg, this.chainId)
    if (!check.ok || this.conflict(check.address, reg.username) != null) return
    this.keep(check.address, reg, bytes)
  }

  private keep(address: string, reg: AccountRegistration, bytes: number): void {
    this.pool.addAccount(address, reg, bytes)
    this.out.push({ type: 'persist', ops: [{ op: 'account-pending-put', address, reg }] })
  }
}
