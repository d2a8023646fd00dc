/**
 * Pending account registrations are bounded (PoolLimits maxAccounts,
 * maxAccountBytes): a client's registration beyond them gets POOL_FULL (503),
 * a gossiped one is dropped, and a restart keeps what the store holds.
 */
import { describe, expect, it } from 'vitest'
import { AccountRegistry } from '../../src/core/consensus/accounts.js'
import { Core } from '../../src/core/consensus/core.js'
import type { CoreAction } from '../../src/core/consensus/types.js'
import { accountBytesOf, Mempool, type PoolLimits } from '../../src/core/mempool/mempool.js'
import { LedgerState } from '../../src/core/state/ledger.js'
import { accountIdentity, CHAIN_ID, registrationOf, testGenesis, validators } from './fixtures.js'

const [v0] = validators(1)
const authority = accountIdentity('authority')
const genesis = testGenesis([v0!.peerIdString], authority, 1_000)
const people = ['alice', 'bob', 'carol', 'dave'].map((name) => ({
  name,
  id: accountIdentity(name),
}))
const reg = (i: number) => registrationOf(people[i]!.id, people[i]!.name)

function registry(limits: PoolLimits): {
  accounts: AccountRegistry
  pool: Mempool
  out: CoreAction[]
} {
  const pool = new Mempool(limits)
  const out: CoreAction[] = []
  const ledger = LedgerState.fromGenesis(genesis)
  return { accounts: new AccountRegistry(CHAIN_ID, () => ledger, pool, out), pool, out }
}

const results = (out: CoreAction[]) =>
  out.flatMap((a) => (a.type === 'client-result' ? [a.result] : []))

describe('AccountRegistry bounds', () => {
  it('refuses a client registration beyond maxAccounts with POOL_FULL, 503', () => {
    const { accounts, pool, out } = registry({ maxTxs: 10, maxBytes: 1 << 20, maxAccounts: 2 })
    accounts.submit(1, reg(0))
    accounts.submit(2, reg(1))
    accounts.submit(3, reg(2))
    expect(results(out)).toEqual([
      { ok: true, address: people[0]!.id.address, status: 'pending' },
      { ok: true, address: people[1]!.id.address, status: 'pending' },
      { ok: false, code: 'POOL_FULL', message: expect.any(String), httpStatus: 503 },
    ])
    // the refused one is neither kept, persisted nor published
    expect(pool.pendingAccount(people[2]!.id.address)).toBeUndefined()
    expect(out.filter((a) => a.type === 'persist')).toHaveLength(2)
    expect(out.filter((a) => a.type === 'publish')).toHaveLength(2)
    // room again once a block took one
    pool.removeAccount(people[0]!.id.address)
    accounts.submit(4, reg(2))
    expect(results(out)[3]).toMatchObject({ ok: true, status: 'pending' })
  })

  it('refuses by bytes too, counting encoded registrations', () => {
    const size = accountBytesOf(reg(0))
    const { accounts, out } = registry({
      maxTxs: 10,
      maxBytes: 1 << 20,
      maxAccountBytes: size + accountBytesOf(reg(1)),
    })
    accounts.submit(1, reg(0))
    accounts.submit(2, reg(1))
    accounts.submit(3, reg(2))
    expect(results(out).map((r) => (r.ok ? 'ok' : r.code))).toEqual(['ok', 'ok', 'POOL_FULL'])
  })

  it('drops a gossiped registration when full', () => {
    const { accounts, pool, out } = registry({ maxTxs: 10, maxBytes: 1 << 20, maxAccounts: 1 })
    accounts.onGossip(reg(0))
    accounts.onGossip(reg(1))
    expect(pool.accountSizes().accounts).toBe(1)
    expect(pool.pendingAccount(people[1]!.id.address)).toBeUndefined()
    expect(out.filter((a) => a.type === 'persist')).toHaveLength(1)
  })

  it('a restart restores every stored registration, even beyond the bounds', () => {
    const core = new Core({
      seed: 1,
      genesis,
      self: v0!.peerIdString,
      signer: v0!.signer,
      poolLimits: { maxTxs: 10, maxBytes: 1 << 20, maxAccounts: 2 },
    })
    core.restore(
      {
        committed: [],
        pendingAccounts: people.map((p, i) => ({ address: p.id.address, reg: reg(i) })),
      },
      0,
    )
    expect(core.pool.accountSizes().accounts).toBe(4)
    // but nothing more gets in until blocks take them
    const actions = core.step({
      type: 'client-account',
      now: 1,
      requestId: 7,
      reg: registrationOf(accountIdentity('erin'), 'erin'),
    })
    expect(actions).toContainEqual({
      type: 'client-result',
      requestId: 7,
      result: expect.objectContaining({ ok: false, code: 'POOL_FULL', httpStatus: 503 }),
    })
  })
})
