import { describe, expect, it } from 'vitest'
import { txHash } from '../../src/core/chain/tx.js'
import { AccountRegistrationCodec, type Tx } from '../../src/core/codec/index.js'
import { toHex } from '../../src/core/crypto/hash.js'
import {
  accountBytesOf,
  DEFAULT_POOL_LIMITS,
  MAX_PENDING_ACCOUNT_BYTES,
  MAX_PENDING_ACCOUNTS,
  Mempool,
} from '../../src/core/mempool/mempool.js'
import { type AccountIdentity, accountIdentity, registrationOf, signedTx } from './fixtures.js'

const alice = accountIdentity('alice')
const bob = accountIdentity('bob')

/** A signed tx of `who` and its hex hash. */
function tx(
  who: AccountIdentity,
  nonce: number,
  gas = 0,
  data = `tx-${nonce}`,
): { hash: string; tx: Tx } {
  const t = signedTx(who, { nonce, gas, data: new TextEncoder().encode(data) })
  return { hash: toHex(txHash(t)), tx: t }
}

describe('Mempool txs', () => {
  it('counts pending, prepared and committed txs and their bytes through add, mark and remove', () => {
    const pool = new Mempool()
    const a = tx(alice, 0)
    const b = tx(alice, 1)
    const c = tx(bob, 0)
    pool.add(a.hash, a.tx, 100, 1)
    pool.add(b.hash, b.tx, 200, 2)
    pool.add(c.hash, c.tx, 300, 3)
    expect(pool.sizes()).toEqual({ pending: 3, prepared: 0, committed: 0, accounts: 0, bytes: 600 })

    // adding the same hash again changes nothing and returns the entry already there
    const again = pool.add(a.hash, a.tx, 999, 50)
    expect(again.bytes).toBe(100)
    expect(again.addedAt).toBe(1)
    expect(pool.sizes().pending).toBe(3)
    expect(pool.sizes().bytes).toBe(600)

    pool.markPrepared(a.hash)
    pool.markPrepared(a.hash) // twice: counted once
    expect(pool.get(a.hash)?.status).toBe('prepared')
    expect(pool.sizes()).toMatchObject({ pending: 2, prepared: 1, committed: 0 })

    expect(pool.markCommitted(a.hash)?.status).toBe('committed')
    expect(pool.sizes()).toMatchObject({ pending: 2, prepared: 0, committed: 1 })
    // a pending tx may be committed directly (its Commit came before its Prepare)
    expect(pool.markCommitted(c.hash)?.committedSeq).toBe(2)
    expect(pool.sizes()).toMatchObject({ pending: 1, prepared: 0, committed: 2 })
    // committed again: refused, nothing moves
    expect(pool.markCommitted(a.hash)).toBeUndefined()
    // a committed tx never goes back to prepared
    pool.markPrepared(a.hash)
    expect(pool.get(a.hash)?.status).toBe('committed')
    expect(pool.sizes()).toMatchObject({ pending: 1, prepared: 0, committed: 2, bytes: 600 })

    expect(pool.remove(b.hash)?.hash).toBe(b.hash)
    expect(pool.remove(b.hash)).toBeUndefined()
    expect(pool.has(b.hash)).toBe(false)
    expect(pool.sizes()).toEqual({ pending: 0, prepared: 0, committed: 2, accounts: 0, bytes: 400 })
    pool.remove(a.hash)
    pool.remove(c.hash)
    expect(pool.sizes()).toEqual({ pending: 0, prepared: 0, committed: 0, accounts: 0, bytes: 0 })
    expect(pool.committed()).toEqual([])
  })

  it('adds a tx straight into the prepared state when told to', () => {
    const pool = new Mempool()
    const a = tx(alice, 0)
    pool.add(a.hash, a.tx, 10, 0, 'prepared')
    expect(pool.get(a.hash)?.status).toBe('prepared')
    expect(pool.sizes()).toMatchObject({ pending: 0, prepared: 1, committed: 0, bytes: 10 })
  })

  it('sums the gas of a sender’s pooled txs, committed ones included, and forgets removed ones', () => {
    const pool = new Mempool()
    const a = tx(alice, 0, 10)
    const b = tx(alice, 1, 25)
    const c = tx(bob, 0, 1000)
    pool.add(a.hash, a.tx, 1, 0)
    pool.add(b.hash, b.tx, 1, 0)
    pool.add(c.hash, c.tx, 1, 0)
    expect(pool.pendingGas(alice.address)).toBe(35)
    expect(pool.pendingGas(bob.address)).toBe(1000)
    expect(pool.pendingGas(accountIdentity('nobody').address)).toBe(0)
    pool.markCommitted(a.hash)
    expect(pool.pendingGas(alice.address)).toBe(35)
    pool.remove(a.hash)
    expect(pool.pendingGas(alice.address)).toBe(25)
  })

  it('gives the next nonce past the final one and every pooled one', () => {
    const pool = new Mempool()
    expect(pool.nextNonce(alice.address, 0)).toBe(0)
    expect(pool.nextNonce(alice.address, 7)).toBe(7)
    const n0 = tx(alice, 0)
    const n3 = tx(alice, 3)
    pool.add(n0.hash, n0.tx, 1, 0)
    pool.add(n3.hash, n3.tx, 1, 0)
    expect(pool.nextNonce(alice.address, 0)).toBe(4)
    // a final next nonce beyond every pooled one wins
    expect(pool.nextNonce(alice.address, 10)).toBe(10)
    expect(pool.nextNonce(bob.address, 2)).toBe(2)
    pool.remove(n3.hash)
    expect(pool.nextNonce(alice.address, 0)).toBe(1)
    pool.remove(n0.hash)
    expect(pool.nextNonce(alice.address, 0)).toBe(0)
  })

  it('finds the tx at a nonce, and hands the slot to a conflicting tx when the holder goes', () => {
    const pool = new Mempool()
    const first = tx(alice, 5, 0, 'first')
    const conflict = tx(alice, 5, 0, 'conflict')
    expect(first.hash).not.toBe(conflict.hash)
    pool.add(first.hash, first.tx, 1, 0)
    // a conflicting tx at the same nonce enters (e.g. backed by a prepare certificate)
    pool.add(conflict.hash, conflict.tx, 1, 1)
    expect(pool.atNonce(alice.address, 5)?.hash).toBe(first.hash)
    expect(pool.atNonce(alice.address, 4)).toBeUndefined()
    expect(pool.atNonce(bob.address, 5)).toBeUndefined()

    // removing the conflict leaves the holder in place
    pool.remove(conflict.hash)
    expect(pool.atNonce(alice.address, 5)?.hash).toBe(first.hash)
    pool.add(conflict.hash, conflict.tx, 1, 2)

    // removing the holder hands the slot over
    pool.remove(first.hash)
    expect(pool.atNonce(alice.address, 5)?.hash).toBe(conflict.hash)
    expect(pool.nextNonce(alice.address, 0)).toBe(6)
    pool.remove(conflict.hash)
    expect(pool.atNonce(alice.address, 5)).toBeUndefined()
    expect(pool.nextNonce(alice.address, 0)).toBe(0)
  })

  it('lists the txs at nonces a final block used, conflicting ones included, and no others', () => {
    const pool = new Mempool()
    const a0 = tx(alice, 0)
    const a0other = tx(alice, 0, 0, 'conflict')
    const a1 = tx(alice, 1)
    const a2 = tx(alice, 2)
    const b0 = tx(bob, 0)
    for (const [i, t] of [a0, a0other, a1, a2, b0].entries()) pool.add(t.hash, t.tx, 10, i)
    const hashes = (next: number) =>
      pool
        .usedNonces(alice.address, (nonce) => nonce < next)
        .map((e) => e.hash)
        .sort()
    expect(hashes(0)).toEqual([])
    expect(hashes(1)).toEqual([a0.hash, a0other.hash].sort())
    expect(hashes(2)).toEqual([a0.hash, a0other.hash, a1.hash].sort())
    expect(pool.usedNonces(bob.address, (nonce) => nonce < 5).map((e) => e.hash)).toEqual([b0.hash])
    expect(pool.usedNonces('00'.repeat(32), () => true)).toEqual([])
    // used nonces need not be below one number: any the chain has used
    expect(pool.usedNonces(alice.address, (nonce) => nonce === 2).map((e) => e.hash)).toEqual([
      a2.hash,
    ])
  })

  it('lists committed txs in commit order, up to a limit, and drops removed ones', () => {
    const pool = new Mempool()
    const txs = [tx(alice, 0), tx(alice, 1), tx(bob, 0), tx(bob, 1)]
    for (const [i, t] of txs.entries()) pool.add(t.hash, t.tx, 1, i)
    // commit in an order other than arrival
    const order = [txs[2]!, txs[0]!, txs[3]!]
    for (const t of order) pool.markCommitted(t.hash)
    expect(pool.committed().map((e) => e.hash)).toEqual(order.map((t) => t.hash))
    const seqs = pool.committed().map((e) => e.committedSeq!)
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    expect(new Set(seqs).size).toBe(3)
    expect(pool.committed(2).map((e) => e.hash)).toEqual([txs[2]!.hash, txs[0]!.hash])
    expect(pool.committed(0)).toEqual([])
    pool.remove(txs[0]!.hash)
    expect(pool.committed().map((e) => e.hash)).toEqual([txs[2]!.hash, txs[3]!.hash])
    // the uncommitted tx is not listed
    expect(pool.committed().some((e) => e.hash === txs[1]!.hash)).toBe(false)
  })

  it('lists stale txs: older than the bound, not committed, stopping at the first young entry', () => {
    const pool = new Mempool()
    const old0 = tx(alice, 0)
    const old1 = tx(alice, 1)
    const oldCommitted = tx(alice, 2)
    const young = tx(bob, 0)
    const lateOld = tx(bob, 1)
    pool.add(old0.hash, old0.tx, 1, 100)
    pool.add(oldCommitted.hash, oldCommitted.tx, 1, 150)
    pool.add(old1.hash, old1.tx, 1, 200)
    pool.add(young.hash, young.tx, 1, 1000)
    // out of order on purpose: the scan must stop at `young` and never reach it
    pool.add(lateOld.hash, lateOld.tx, 1, 50)
    pool.markPrepared(old1.hash)
    pool.markCommitted(oldCommitted.hash)

    expect(pool.stale(500).map((e) => e.hash)).toEqual([old0.hash, old1.hash])
    // the bound is exclusive: an entry taken exactly at `before` is young
    expect(pool.stale(200).map((e) => e.hash)).toEqual([old0.hash])
    expect(pool.stale(100)).toEqual([])
    // stale() only lists: nothing was removed
    expect(pool.sizes()).toMatchObject({ pending: 3, prepared: 1, committed: 1 })
  })

  it('is full by count and by bytes', () => {
    const pool = new Mempool({ maxTxs: 2, maxBytes: 100 })
    expect(pool.isFull(100)).toBe(false)
    expect(pool.isFull(101)).toBe(true)
    const a = tx(alice, 0)
    pool.add(a.hash, a.tx, 60, 0)
    expect(pool.isFull(40)).toBe(false)
    expect(pool.isFull(41)).toBe(true)
    const b = tx(alice, 1)
    pool.add(b.hash, b.tx, 10, 0)
    // two txs of at most two: full whatever the size
    expect(pool.isFull(0)).toBe(true)
    // committed txs count too: they are never dropped
    pool.markCommitted(b.hash)
    expect(pool.isFull(0)).toBe(true)
    pool.remove(a.hash)
    expect(pool.isFull(90)).toBe(false)
    expect(pool.isFull(91)).toBe(true)
  })
})

describe('Mempool pending accounts', () => {
  const carol = accountIdentity('carol')
  const dave = accountIdentity('dave')

  it('keeps a registration and refuses another with the same address or username', () => {
    const pool = new Mempool()
    const regAlice = registrationOf(alice, 'alice')
    expect(pool.addAccount(alice.address, regAlice)).toBe(true)
    expect(pool.pendingAccount(alice.address)).toBe(regAlice)
    expect(pool.pendingUsername('alice')).toBe(alice.address)
    expect(pool.sizes().accounts).toBe(1)

    // the same key under another name
    expect(pool.addAccount(alice.address, registrationOf(alice, 'alice-2'))).toBe(false)
    expect(pool.pendingUsername('alice-2')).toBeUndefined()
    // another key under the same name
    expect(pool.addAccount(carol.address, registrationOf(carol, 'alice'))).toBe(false)
    expect(pool.pendingAccount(carol.address)).toBeUndefined()
    expect(pool.pendingUsername('alice')).toBe(alice.address)
    expect(pool.sizes().accounts).toBe(1)

    expect(pool.addAccount(dave.address, registrationOf(dave, 'dave'))).toBe(true)
    expect(pool.pendingAccounts().map(([address]) => address)).toEqual([
      alice.address,
      dave.address,
    ])
    expect(pool.sizes().accounts).toBe(2)
  })

  it('frees the address and the username when a registration is removed', () => {
    const pool = new Mempool()
    pool.addAccount(alice.address, registrationOf(alice, 'alice'))
    expect(pool.removeAccount(alice.address)?.username).toBe('alice')
    expect(pool.removeAccount(alice.address)).toBeUndefined()
    expect(pool.pendingAccount(alice.address)).toBeUndefined()
    expect(pool.pendingUsername('alice')).toBeUndefined()
    expect(pool.sizes().accounts).toBe(0)
    // the name is free again, for another key
    expect(pool.addAccount(carol.address, registrationOf(carol, 'alice'))).toBe(true)
    expect(pool.pendingUsername('alice')).toBe(carol.address)
  })

  it('keeps accounts apart from txs', () => {
    const pool = new Mempool({ maxTxs: 1, maxBytes: 1000 })
    pool.addAccount(alice.address, registrationOf(alice, 'alice'))
    pool.addAccount(bob.address, registrationOf(bob, 'bob'))
    expect(pool.isFull(1)).toBe(false)
    expect(pool.sizes()).toEqual({ pending: 0, prepared: 0, committed: 0, accounts: 2, bytes: 0 })
  })
})

describe('Mempool pending accounts: bounds', () => {
  const carol = accountIdentity('carol')

  it('defaults to 10,000 registrations and 16 MiB', () => {
    expect(MAX_PENDING_ACCOUNTS).toBe(10_000)
    expect(MAX_PENDING_ACCOUNT_BYTES).toBe(16 * 1024 * 1024)
    expect(DEFAULT_POOL_LIMITS).toMatchObject({
      maxAccounts: MAX_PENDING_ACCOUNTS,
      maxAccountBytes: MAX_PENDING_ACCOUNT_BYTES,
    })
    // limits written before the account bounds existed get the defaults
    const pool = new Mempool({ maxTxs: 1, maxBytes: 1 })
    expect(pool.isAccountsFull(MAX_PENDING_ACCOUNT_BYTES)).toBe(false)
    expect(pool.isAccountsFull(MAX_PENDING_ACCOUNT_BYTES + 1)).toBe(true)
  })

  it('is full by count and by encoded bytes, and frees both on removal', () => {
    const regAlice = registrationOf(alice, 'alice')
    const size = accountBytesOf(regAlice)
    expect(size).toBe(AccountRegistrationCodec.encode(regAlice).length)
    const pool = new Mempool({
      maxTxs: 10,
      maxBytes: 1000,
      maxAccounts: 2,
      maxAccountBytes: 3 * size,
    })
    expect(pool.isAccountsFull(size)).toBe(false)
    pool.addAccount(alice.address, regAlice)
    expect(pool.accountSizes()).toEqual({ accounts: 1, bytes: size })
    expect(pool.isAccountsFull(2 * size)).toBe(false)
    expect(pool.isAccountsFull(2 * size + 1)).toBe(true)
    pool.addAccount(bob.address, registrationOf(bob, 'bob'))
    // two of two: full whatever the size
    expect(pool.isAccountsFull(0)).toBe(true)
    // a refused duplicate counts nothing
    expect(pool.addAccount(bob.address, registrationOf(bob, 'bob'))).toBe(false)
    expect(pool.accountSizes().accounts).toBe(2)
    pool.removeAccount(alice.address)
    expect(pool.accountSizes()).toEqual({
      accounts: 1,
      bytes: accountBytesOf(registrationOf(bob, 'bob')),
    })
    expect(pool.isAccountsFull(size)).toBe(false)
    pool.removeAccount(bob.address)
    expect(pool.accountSizes()).toEqual({ accounts: 0, bytes: 0 })
  })

  it('takes restored registrations beyond the bounds (addAccount does not check them)', () => {
    const pool = new Mempool({ maxTxs: 10, maxBytes: 1000, maxAccounts: 1, maxAccountBytes: 1 })
    expect(pool.addAccount(alice.address, registrationOf(alice, 'alice'))).toBe(true)
    expect(pool.addAccount(carol.address, registrationOf(carol, 'carol'))).toBe(true)
    expect(pool.accountSizes().accounts).toBe(2)
    expect(pool.isAccountsFull(0)).toBe(true)
  })
})
