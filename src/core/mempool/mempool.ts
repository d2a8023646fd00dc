/**
 * The pool of a node (DESIGN §5, §6): txs it admitted and voted for
 * (pending), txs whose prepare certificate it saw (prepared), txs with a
 * commit certificate waiting for a block (committed, in commit order), and
 * account registrations waiting for a block. Bounded in count and bytes for
 * admission; committed txs are never dropped (a client may have been told).
 */
import { txSenderHex } from '../chain/tx.js'
import { type AccountRegistration, AccountRegistrationCodec, type Tx } from '../codec/index.js'

export type PoolStatus = 'pending' | 'prepared' | 'committed'

export interface PoolEntry {
  hash: string
  tx: Tx
  /** hex address of the sender */
  sender: string
  bytes: number
  status: PoolStatus
  /** when this node took it, ms */
  addedAt: number
  /** order among committed txs */
  committedSeq?: number
}

export interface PoolLimits {
  maxTxs: number
  maxBytes: number
  /** pending account registrations, at most (default MAX_PENDING_ACCOUNTS) */
  maxAccounts?: number
  /** their encoded bytes, at most (default MAX_PENDING_ACCOUNT_BYTES) */
  maxAccountBytes?: number
}

/**
 * Pending account registrations a node holds for the next blocks: 10,000
 * (ten blocks of MAX_BLOCK_ACCOUNTS). Eviction: none — a registration leaves
 * only when a block holds it or its key or username is taken by one; beyond
 * the bound a new one is refused (a client gets POOL_FULL, 503; a gossiped
 * one is dropped: a block made by another node still carries it to everyone).
 * Penalty: none — each registration is signed by the key it registers and
 * anyone may make keys, so a full pool says nothing about the relay that
 * forwarded the last one; gossip rate limits bound how fast one peer fills it.
 * Registrations restored from disk at start are kept even beyond the bound
 * (they were admitted under it; only a lower bound in a new build overflows).
 */
export const MAX_PENDING_ACCOUNTS = 10_000
/**
 * Encoded bytes (AccountRegistrationCodec) of the pending registrations: 16 MiB.
 * Same eviction and penalty as MAX_PENDING_ACCOUNTS.
 */
export const MAX_PENDING_ACCOUNT_BYTES = 16 * 1024 * 1024

export const DEFAULT_POOL_LIMITS: PoolLimits = {
  maxTxs: 50_000,
  maxBytes: 64 * 1024 * 1024,
  maxAccounts: MAX_PENDING_ACCOUNTS,
  maxAccountBytes: MAX_PENDING_ACCOUNT_BYTES,
}

/** What a registration counts against maxAccountBytes: its encoded size. */
export function accountBytesOf(reg: AccountRegistration): number {
  return AccountRegistrationCodec.encode(reg).length
}

export class Mempool {
  private readonly entries = new Map<string, PoolEntry>()
  /** committed entries in commit order (a Map keeps insertion order) */
  private readonly committedOrder = new Map<string, PoolEntry>()
  /** sender → nonce → hash */
  private readonly bySender = new Map<string, Map<number, string>>()
  /** the other pooled txs at a (sender, nonce) slot already held (conflicts: rare), by `sender:nonce` */
  private readonly conflicts = new Map<string, Set<string>>()
  private readonly pendingAccountsByAddress = new Map<string, AccountRegistration>()
  private readonly pendingUsernames = new Map<string, string>()
  /** address → encoded bytes of its pending registration */
  private readonly pendingAccountBytes = new Map<string, number>()
  private accountBytes = 0
  private bytes = 0
  private committedSeq = 0
  private counts = { pending: 0, prepared: 0, committed: 0 }

  constructor(readonly limits: PoolLimits = DEFAULT_POOL_LIMITS) {}

  get(hash: string): PoolEntry | undefined {
    return this.entries.get(hash)
  }

  has(hash: string): boolean {
    return this.entries.has(hash)
  }

  /** Would a tx of `bytes` overflow the admission bounds? */
  isFull(bytes: number): boolean {
    return this.entries.size + 1 > this.limits.maxTxs || this.bytes + bytes > this.limits.maxBytes
  }

  /** The pooled tx of `sender` at `nonce`, if any. */
  atNonce(sender: string, nonce: number): PoolEntry | undefined {
    const hash = this.bySender.get(sender)?.get(nonce)
    return hash ? this.entries.get(hash) : undefined
  }

  /**
   * The pooled txs of `sender` at nonces the chain has used (`used`), conflicting ones
   * included: none of these txs can ever apply.
   */
  usedNonces(sender: string, used: (nonce: number) => boolean): PoolEntry[] {
    const out: PoolEntry[] = []
    for (const [nonce, hash] of this.bySender.get(sender) ?? []) {
      if (!used(nonce)) continue
      out.push(this.entries.get(hash)!)
      if (this.conflicts.size === 0) continue
      for (const other of this.conflicts.get(`${sender}:${nonce}`) ?? [])
        out.push(this.entries.get(other)!)
    }
    return out
  }

  /** Gas the sender's pooled txs will draw. */
  pendingGas(sender: string): number {
    let sum = 0
    for (const hash of this.bySender.get(sender)?.values() ?? [])
      sum += this.entries.get(hash)?.tx.gas ?? 0
    return sum
  }

  /** The nonce a new tx of `sender` should use: past the final next nonce and every pooled one. */
  nextNonce(sender: string, finalNext: number): number {
    let next = finalNext
    for (const nonce of this.bySender.get(sender)?.keys() ?? []) if (nonce >= next) next = nonce + 1
    return next
  }

  add(
    hash: string,
    tx: Tx,
    bytes: number,
    now: number,
    status: 'pending' | 'prepared' = 'pending',
  ): PoolEntry {
    const existing = this.entries.get(hash)
    if (existing) return existing
    const sender = txSenderHex(tx)
    const entry: PoolEntry = { hash, tx, sender, bytes, status: 'pending', addedAt: now }
    this.entries.set(hash, entry)
    let nonces = this.bySender.get(sender)
    if (!nonces) {
      nonces = new Map()
      this.bySender.set(sender, nonces)
    }
    if (!nonces.has(tx.nonce)) nonces.set(tx.nonce, hash)
    else {
      const slot = `${sender}:${tx.nonce}`
      let others = this.conflicts.get(slot)
      if (!others) {
        others = new Set()
        this.conflicts.set(slot, others)
      }
      others.add(hash)
    }
    this.bytes += bytes
    this.counts.pending++
    if (status !== 'pending') this.setStatus(entry, status)
    return entry
  }

  private setStatus(entry: PoolEntry, status: PoolStatus): void {
    this.counts[entry.status]--
    this.counts[status]++
    entry.status = status
  }

  markPrepared(hash: string): void {
    const e = this.entries.get(hash)
    if (e && e.status === 'pending') this.setStatus(e, 'prepared')
  }

  markCommitted(hash: string): PoolEntry | undefined {
    const e = this.entries.get(hash)
    if (!e || e.status === 'committed') return undefined
    this.setStatus(e, 'committed')
    e.committedSeq = ++this.committedSeq
    this.committedOrder.set(hash, e)
    return e
  }

  remove(hash: string): PoolEntry | undefined {
    const e = this.entries.get(hash)
    if (!e) return undefined
    this.entries.delete(hash)
    this.committedOrder.delete(hash)
    this.counts[e.status]--
    this.bytes -= e.bytes
    const nonces = this.bySender.get(e.sender)
    // conflicts are rare: no slot key to build (a string of 70-odd characters) while there are none
    const slot = this.conflicts.size > 0 ? `${e.sender}:${e.tx.nonce}` : null
    const others = slot == null ? undefined : this.conflicts.get(slot)
    if (nonces?.get(e.tx.nonce) === hash) {
      nonces.delete(e.tx.nonce)
      // another pooled tx at the same nonce (a conflict) takes the slot
      const next = others?.values().next().value
      if (next !== undefined) {
        nonces.set(e.tx.nonce, next)
        others!.delete(next)
      }
      if (nonces.size === 0) this.bySender.delete(e.sender)
    } else others?.delete(hash)
    if (slot != null && others?.size === 0) this.conflicts.delete(slot)
    return e
  }

  /**
   * Uncommitted txs taken before `before`: their rounds are over without a
   * commit. Entries are kept in the order they came (addedAt never decreases),
   * so the scan stops at the first younger one.
   */
  stale(before: number): PoolEntry[] {
    const out: PoolEntry[] = []
    for (const e of this.entries.values()) {
      if (e.addedAt >= before) break
      if (e.status !== 'committed') out.push(e)
    }
    return out
  }

  /** Committed txs in commit order, for the next block_new. */
  committed(limit = Number.POSITIVE_INFINITY): PoolEntry[] {
    const out: PoolEntry[] = []
    for (const e of this.committedOrder.values()) {
      if (out.length >= limit) break
      out.push(e)
    }
    return out
  }

  sizes(): {
    pending: number
    prepared: number
    committed: number
    accounts: number
    bytes: number
  } {
    return { ...this.counts, accounts: this.pendingAccountsByAddress.size, bytes: this.bytes }
  }

  // ---------------------------------------------------------------- accounts

  pendingAccount(address: string): AccountRegistration | undefined {
    return this.pendingAccountsByAddress.get(address)
  }

  pendingUsername(username: string): string | undefined {
    return this.pendingUsernames.get(username)
  }

  /**
   * Would one more registration of `bytes` overflow maxAccounts or
   * maxAccountBytes? Admission asks this first: addAccount itself takes
   * anything (a restart restores what was admitted, whatever the bounds).
   */
  isAccountsFull(bytes: number): boolean {
    const maxAccounts = this.limits.maxAccounts ?? MAX_PENDING_ACCOUNTS
    const maxAccountBytes = this.limits.maxAccountBytes ?? MAX_PENDING_ACCOUNT_BYTES
    return (
      this.pendingAccountsByAddress.size + 1 > maxAccounts ||
      this.accountBytes + bytes > maxAccountBytes
    )
  }

  /** Pending registrations and their encoded bytes. */
  accountSizes(): { accounts: number; bytes: number } {
    return { accounts: this.pendingAccountsByAddress.size, bytes: this.accountBytes }
  }

  /**
   * Keep a registration; false when its address or username is pending
   * already. Does not check the bounds (see isAccountsFull).
   */
  addAccount(address: string, reg: AccountRegistration, bytes = accountBytesOf(reg)): boolean {
    if (this.pendingAccountsByAddress.has(address) || this.pendingUsernames.has(reg.username))
      return false
    this.pendingAccountsByAddress.set(address, reg)
    this.pendingUsernames.set(reg.username, address)
    this.pendingAccountBytes.set(address, bytes)
    this.accountBytes += bytes
    return true
  }

  removeAccount(address: string): AccountRegistration | undefined {
    const reg = this.pendingAccountsByAddress.get(address)
    if (!reg) return undefined
    this.pendingAccountsByAddress.delete(address)
    this.accountBytes -= this.pendingAccountBytes.get(address) ?? 0
    this.pendingAccountBytes.delete(address)
    if (this.pendingUsernames.get(reg.username) === address)
      this.pendingUsernames.delete(reg.username)
    return reg
  }

  pendingAccounts(): [string, AccountRegistration][] {
    return [...this.pendingAccountsByAddress.entries()]
  }
}
