/**
 * Block execution on the ledger (DESIGN §6, §8, §10): registrations first,
 * then txs in block order; nonces, gas lots spent first-in first-out and
 * expiring after gasWindowMs; a hash-chained state root; conservation of
 * gas. Every block here is executed with executeBlock and made part of the
 * ledger with applyExecution, as a final block is.
 */
import { describe, expect, it } from 'vitest'
import { accountsRoot, txRoot } from '../../src/core/chain/block.js'
import { genesisHash, genesisTimeMs } from '../../src/core/chain/genesis.js'
import { txHash } from '../../src/core/chain/tx.js'
import {
  type AccountRegistration,
  type Block,
  type Receipt,
  ReceiptStatus,
  type Tx,
} from '../../src/core/codec/index.js'
import { bytesEqual, toHex } from '../../src/core/crypto/hash.js'
import {
  applyExecution,
  type Execution,
  executeBlock,
  genesisStateRoot,
} from '../../src/core/state/execute.js'
import { type AccountState, LedgerState } from '../../src/core/state/ledger.js'
import { NONCE_WINDOW } from '../../src/core/state/nonces.js'
import {
  type AccountIdentity,
  accountIdentity,
  CHAIN_ID,
  grantTx,
  registrationOf,
  signedTx,
  testGenesis,
  validators,
  withGasWindow,
} from './fixtures.js'

const GRANT = 1000
const WINDOW = 60_000
const authority = accountIdentity('authority')
const bob = accountIdentity('bob')
const carol = accountIdentity('carol')
const dave = accountIdentity('dave')
const genesis = withGasWindow(
  testGenesis(
    validators(4).map((v) => v.peerIdString),
    authority,
    GRANT,
  ),
  WINDOW,
)
/** genesis time, ms */
const G = genesisTimeMs(genesis)
const ROOT0 = genesisStateRoot(genesisHash(genesis))
const proposer = validators(4)[0]!.peerId
const utf8 = new TextEncoder()

function blockOf(
  height: number,
  time: number,
  body: { txs?: Tx[]; accounts?: AccountRegistration[] },
): Block {
  const txs = body.txs ?? []
  const accounts = body.accounts ?? []
  return {
    header: {
      chainId: CHAIN_ID,
      height,
      round: 0,
      parentHash: new Uint8Array(32),
      proposer,
      time,
      txRoot: txRoot(txs),
      accountsRoot: accountsRoot(accounts),
      stateRoot: new Uint8Array(32),
    },
    txs,
    accounts,
  }
}

/** A ledger from genesis, and the blocks applied to it in height order. */
class Chain {
  readonly ledger = LedgerState.fromGenesis(genesis)
  root: Uint8Array = ROOT0
  height = 0
  granted = 0
  gasUsed = 0
  expired = 0

  /** Execute and apply the next block, `at` ms after genesis. */
  apply(at: number, body: { txs?: Tx[]; accounts?: AccountRegistration[] }): Execution {
    const exec = executeBlock(this.ledger, blockOf(this.height + 1, G + at, body), this.root)
    applyExecution(this.ledger, exec)
    this.height++
    this.root = exec.stateRoot
    this.granted += exec.granted
    this.gasUsed += exec.gasUsed
    this.expired += exec.expired
    return exec
  }

  account(who: AccountIdentity): AccountState {
    const a = this.ledger.account(who.address)
    if (a == null) throw new Error(`no account ${who.address}`)
    return a
  }
}

const ok = (r: Receipt | undefined) => expect(r?.status).toBe(ReceiptStatus.OK)
const failedWith = (r: Receipt | undefined, reason: string) =>
  expect({ status: r?.status, reason: r?.reason }).toEqual({
    status: ReceiptStatus.FAILED,
    reason,
  })

/** Everything the ledger holds, deep-copied. */
function snapshot(ledger: LedgerState) {
  return structuredClone({
    accounts: [...ledger.accounts.entries()],
    usernames: [...ledger.usernames.entries()],
    unclaimed: [...ledger.unclaimed.entries()],
  })
}

/** A chain where bob is registered (block 1) and holds `gas` (granted in block 1). */
function chainWithBob(gas = 100): Chain {
  const chain = new Chain()
  const exec = chain.apply(1_000, {
    accounts: [registrationOf(bob, 'bob')],
    txs: gas > 0 ? [grantTx(authority, bob, gas)] : [],
  })
  ok(exec.receipts.accounts[0])
  if (gas > 0) ok(exec.receipts.txs[0])
  return chain
}

// ------------------------------------------------------------------ registrations

describe('registrations', () => {
  it('creates the account at the block’s height with nothing spent', () => {
    const chain = new Chain()
    const reg = registrationOf(bob, 'bob')
    const exec = chain.apply(1_000, { accounts: [reg] })
    expect(exec.receipts.accounts).toHaveLength(1)
    ok(exec.receipts.accounts[0])
    expect(toHex(exec.receipts.accounts[0]!.hash)).toBe(bob.address)
    expect(chain.account(bob)).toMatchObject({
      address: bob.address,
      username: 'bob',
      registeredAt: 1,
      nextNonce: 0,
      hasTransacted: false,
      lastBlockIndex: 1,
      gasUsed: 0,
      expiredGas: 0,
      lots: [],
    })
    expect(chain.ledger.addressOfUsername('bob')).toBe(bob.address)
  })

  it('refuses a second registration of a username in the same block (USERNAME_TAKEN)', () => {
    const chain = new Chain()
    const exec = chain.apply(1_000, {
      accounts: [registrationOf(bob, 'bob'), registrationOf(carol, 'bob')],
    })
    ok(exec.receipts.accounts[0])
    failedWith(exec.receipts.accounts[1], 'USERNAME_TAKEN')
    expect(chain.ledger.account(carol.address)).toBeUndefined()
    expect(chain.ledger.addressOfUsername('bob')).toBe(bob.address)
  })

  it('refuses a username a final account holds (USERNAME_TAKEN)', () => {
    const chain = chainWithBob(0)
    const exec = chain.apply(2_000, {
      accounts: [registrationOf(carol, 'bob'), registrationOf(dave, 'authority-0')],
    })
    failedWith(exec.receipts.accounts[0], 'USERNAME_TAKEN')
    failedWith(exec.receipts.accounts[1], 'USERNAME_TAKEN')
    expect(chain.ledger.account(carol.address)).toBeUndefined()
    expect(chain.ledger.account(dave.address)).toBeUndefined()
  })

  it('refuses a key registered earlier or earlier in the same block (ALREADY_REGISTERED)', () => {
    const chain = new Chain()
    const first = chain.apply(1_000, {
      accounts: [registrationOf(bob, 'bob'), registrationOf(bob, 'bobby')],
    })
    ok(first.receipts.accounts[0])
    failedWith(first.receipts.accounts[1], 'ALREADY_REGISTERED')
    const later = chain.apply(2_000, { accounts: [registrationOf(bob, 'robert')] })
    failedWith(later.receipts.accounts[0], 'ALREADY_REGISTERED')
    // the key keeps its first name; the refused names stay free
    expect(chain.account(bob).username).toBe('bob')
    expect(chain.ledger.addressOfUsername('bobby')).toBeUndefined()
    expect(chain.ledger.addressOfUsername('robert')).toBeUndefined()
    // the genesis authority's key is taken too
    const again = chain.apply(3_000, { accounts: [registrationOf(authority, 'boss')] })
    failedWith(again.receipts.accounts[0], 'ALREADY_REGISTERED')
  })

  it('records a registration that fails its own checks with their code', () => {
    const chain = new Chain()
    const exec = chain.apply(1_000, {
      accounts: [registrationOf(bob, 'bob', 'other-chain'), registrationOf(carol, 'X')],
    })
    failedWith(exec.receipts.accounts[0], 'WRONG_CHAIN')
    failedWith(exec.receipts.accounts[1], 'BAD_USERNAME')
    expect(chain.ledger.accounts.size).toBe(1)
  })

  it('runs the registrations before the txs: a new account may transact in its own block', () => {
    const chain = new Chain()
    const exec = chain.apply(1_000, {
      txs: [signedTx(bob, { nonce: 0 })],
      accounts: [registrationOf(bob, 'bob')],
    })
    ok(exec.receipts.accounts[0])
    ok(exec.receipts.txs[0])
    expect(chain.account(bob)).toMatchObject({ nextNonce: 1, hasTransacted: true })
  })

  it('gives an account the gas granted to its address before it registered', () => {
    const chain = new Chain()
    // block 1: a grant to bob, who has no account yet
    const b1 = chain.apply(1_000, { txs: [grantTx(authority, bob, 40)] })
    ok(b1.receipts.txs[0])
    expect(b1.granted).toBe(40)
    expect(chain.ledger.account(bob.address)).toBeUndefined()
    expect(chain.ledger.unclaimed.get(bob.address)?.lots).toEqual([
      { blockIndex: 1, time: G + 1_000, remaining: 40 },
    ])
    expect(chain.ledger.balance(bob.address, G + 1_000)).toBe(40)
    // a tx from the address fails until it registers
    const b2 = chain.apply(2_000, { txs: [signedTx(bob, { nonce: 0, gas: 1 })] })
    failedWith(b2.receipts.txs[0], 'UNKNOWN_SENDER')

    // block 3: bob registers and claims it
    const b3 = chain.apply(3_000, { accounts: [registrationOf(bob, 'bob')] })
    ok(b3.receipts.accounts[0])
    expect(chain.account(bob).lots).toEqual([{ blockIndex: 1, time: G + 1_000, remaining: 40 }])
    expect(chain.ledger.unclaimed.has(bob.address)).toBe(false)
    expect(chain.ledger.balance(bob.address, G + 3_000)).toBe(40)

    // and spends it
    const b4 = chain.apply(4_000, { txs: [signedTx(bob, { nonce: 0, gas: 25 })] })
    ok(b4.receipts.txs[0])
    expect(b4.receipts.txs[0]!.draws).toEqual([{ index: 1, useGas: 25 }])
    expect(chain.ledger.balance(bob.address, G + 4_000)).toBe(15)
  })
})

// ------------------------------------------------------------------ txs

describe('txs', () => {
  it('fails a tx from an address without an account (UNKNOWN_SENDER)', () => {
    const chain = new Chain()
    const exec = chain.apply(1_000, { txs: [signedTx(dave, { nonce: 0 })] })
    failedWith(exec.receipts.txs[0], 'UNKNOWN_SENDER')
    expect(exec.receipts.txs[0]!.draws).toEqual([])
    expect(chain.ledger.account(dave.address)).toBeUndefined()
  })

  it('fails a used nonce, including a second tx with the same nonce in one block (NONCE_USED)', () => {
    const chain = new Chain()
    const first = signedTx(authority, { nonce: 0, gas: 10 })
    const twin = signedTx(authority, { nonce: 0, gas: 10, data: utf8.encode('twin') })
    const exec = chain.apply(1_000, { txs: [first, twin] })
    ok(exec.receipts.txs[0])
    failedWith(exec.receipts.txs[1], 'NONCE_USED')
    expect(exec.receipts.txs.map((r) => toHex(r.hash))).toEqual([
      toHex(txHash(first)),
      toHex(txHash(twin)),
    ])
    // the twin drew nothing
    expect(exec.gasUsed).toBe(10)
    expect(chain.account(authority)).toMatchObject({ nextNonce: 1, gasUsed: 10 })
    // and a later block cannot use nonce 0 either
    const later = chain.apply(2_000, {
      txs: [signedTx(authority, { nonce: 0, data: utf8.encode('again') })],
    })
    failedWith(later.receipts.txs[0], 'NONCE_USED')
  })

  it('uses nonces in any order: a nonce jumped over stays usable once, within the window', () => {
    const chain = new Chain()
    const b1 = chain.apply(1_000, { txs: [signedTx(authority, { nonce: 5 })] })
    ok(b1.receipts.txs[0])
    expect(chain.account(authority).nextNonce).toBe(6)
    expect(chain.account(authority).missingNonces).toEqual([0, 1, 2, 3, 4])
    const b2 = chain.apply(2_000, {
      txs: [
        signedTx(authority, { nonce: 3 }),
        signedTx(authority, { nonce: 6 }),
        signedTx(authority, { nonce: 5, data: utf8.encode('again') }),
      ],
    })
    ok(b2.receipts.txs[0])
    ok(b2.receipts.txs[1])
    failedWith(b2.receipts.txs[2], 'NONCE_USED')
    expect(chain.account(authority).nextNonce).toBe(7)
    expect(chain.account(authority).missingNonces).toEqual([0, 1, 2, 4])
    const b3 = chain.apply(3_000, {
      txs: [signedTx(authority, { nonce: 3, data: utf8.encode('b') })],
    })
    failedWith(b3.receipts.txs[0], 'NONCE_USED')
    // a jump past the window forgets what falls out of it: those count as used
    const far = 6 + NONCE_WINDOW
    ok(chain.apply(4_000, { txs: [signedTx(authority, { nonce: far })] }).receipts.txs[0])
    expect(chain.account(authority).missingNonces).toHaveLength(NONCE_WINDOW - 1)
    expect(chain.account(authority).missingNonces[0]).toBe(far + 1 - NONCE_WINDOW)
    const old = chain.apply(5_000, { txs: [signedTx(authority, { nonce: 4 })] })
    failedWith(old.receipts.txs[0], 'NONCE_USED')
  })

  it('keeps no missing nonce for an account whose nonces come in order', () => {
    const chain = new Chain()
    chain.apply(1_000, {
      txs: [signedTx(authority, { nonce: 0 }), signedTx(authority, { nonce: 1 })],
    })
    expect(chain.account(authority).nextNonce).toBe(2)
    expect(chain.account(authority).missingNonces).toEqual([])
  })

  it('fails gas above the live balance (INSUFFICIENT_GAS) and passes gas equal to it', () => {
    const chain = new Chain()
    const exec = chain.apply(1_000, {
      txs: [
        signedTx(authority, { nonce: 0, gas: GRANT + 1 }),
        signedTx(authority, { nonce: 1, gas: GRANT }),
      ],
    })
    failedWith(exec.receipts.txs[0], 'INSUFFICIENT_GAS')
    ok(exec.receipts.txs[1])
    expect(exec.receipts.txs[1]!.draws).toEqual([{ index: 0, useGas: GRANT }])
    // the failed tx used its nonce, and nothing else
    expect(chain.account(authority)).toMatchObject({ nextNonce: 2, gasUsed: GRANT, lots: [] })
    expect(chain.ledger.balance(authority.address, G + 1_000)).toBe(0)
  })

  it('fails a gas grant signed by a non-authority (UNAUTHORIZED) and credits no one', () => {
    const chain = chainWithBob(100)
    const exec = chain.apply(2_000, { txs: [grantTx(bob, carol, 50, { nonce: 0, gas: 5 })] })
    failedWith(exec.receipts.txs[0], 'UNAUTHORIZED')
    expect(exec.granted).toBe(0)
    expect(exec.gasUsed).toBe(0)
    expect(chain.ledger.unclaimed.has(carol.address)).toBe(false)
    expect(chain.ledger.balance(carol.address, G + 2_000)).toBe(0)
    // it used its nonce (it can never be in a later block), and nothing else
    expect(chain.account(bob)).toMatchObject({ nextNonce: 1, gasUsed: 0, hasTransacted: false })
    expect(chain.ledger.balance(bob.address, G + 2_000)).toBe(100)
  })

  it('advances a passing tx’s sender: nonce, hasTransacted, lastBlockIndex, gasUsed', () => {
    const chain = chainWithBob(100)
    chain.apply(2_000, {})
    const exec = chain.apply(3_000, { txs: [signedTx(bob, { nonce: 2, gas: 30 })] })
    ok(exec.receipts.txs[0])
    expect(exec.gasUsed).toBe(30)
    expect(chain.account(bob)).toMatchObject({
      nextNonce: 3,
      hasTransacted: true,
      lastBlockIndex: 3,
      gasUsed: 30,
      registeredAt: 1,
    })
    expect(chain.ledger.balance(bob.address, G + 3_000)).toBe(70)
  })

  it('draws gas first-in first-out from the oldest lots, recording {index, useGas} per lot', () => {
    const chain = chainWithBob(30) // lot of block 1: 30
    chain.apply(2_000, { txs: [grantTx(authority, bob, 50, { nonce: 1 })] }) // lot of block 2: 50
    expect(chain.account(bob).lots.map((l) => [l.blockIndex, l.remaining])).toEqual([
      [1, 30],
      [2, 50],
    ])
    const exec = chain.apply(3_000, { txs: [signedTx(bob, { nonce: 0, gas: 40 })] })
    ok(exec.receipts.txs[0])
    expect(exec.receipts.txs[0]!.draws).toEqual([
      { index: 1, useGas: 30 },
      { index: 2, useGas: 10 },
    ])
    // the spent lot is gone; the younger one keeps the rest
    expect(chain.account(bob).lots).toEqual([{ blockIndex: 2, time: G + 2_000, remaining: 40 }])
    const next = chain.apply(4_000, { txs: [signedTx(bob, { nonce: 1, gas: 40 })] })
    expect(next.receipts.txs[0]!.draws).toEqual([{ index: 2, useGas: 40 }])
    expect(chain.account(bob).lots).toEqual([])
    expect(chain.account(bob).gasUsed).toBe(80)
  })

  it('credits a grant to a registered account as a lot of the granting block', () => {
    const chain = chainWithBob(0)
    const exec = chain.apply(5_000, { txs: [grantTx(authority, bob, 70, { gas: 3 })] })
    ok(exec.receipts.txs[0])
    expect(exec.granted).toBe(70)
    expect(chain.account(bob).lots).toEqual([{ blockIndex: 2, time: G + 5_000, remaining: 70 }])
    expect(chain.account(bob).lastBlockIndex).toBe(2)
    expect(chain.account(authority)).toMatchObject({ gasUsed: 3, nextNonce: 1 })
  })

  it.each([
    {
      name: 'an unknown sender',
      reason: 'UNKNOWN_SENDER',
      tx: () => signedTx(dave, { nonce: 0, gas: 1 }),
      usesNonce: false,
    },
    {
      name: 'a used nonce',
      reason: 'NONCE_USED',
      tx: () => signedTx(bob, { nonce: 0, gas: 1, data: utf8.encode('replay') }),
      usesNonce: false,
    },
    {
      name: 'gas above the balance',
      reason: 'INSUFFICIENT_GAS',
      tx: () => signedTx(bob, { nonce: 1, gas: 91 }),
      usesNonce: true,
    },
    {
      name: 'a grant by a non-authority',
      reason: 'UNAUTHORIZED',
      tx: () => grantTx(bob, carol, 10, { nonce: 1, gas: 1 }),
      usesNonce: true,
    },
  ])(
    'changes nothing but its sender’s nonce when a tx fails: $name',
    ({ reason, tx, usesNonce }) => {
      const chain = chainWithBob(100)
      const spent = chain.apply(2_000, { txs: [signedTx(bob, { nonce: 0, gas: 10 })] })
      ok(spent.receipts.txs[0])
      const before = snapshot(chain.ledger)
      const exec = chain.apply(3_000, { txs: [tx()] })
      failedWith(exec.receipts.txs[0], reason)
      expect(exec.receipts.txs[0]!.draws).toEqual([])
      expect({ gasUsed: exec.gasUsed, granted: exec.granted, expired: exec.expired }).toEqual({
        gasUsed: 0,
        granted: 0,
        expired: 0,
      })
      // a tx that got as far as its sender's balance used its nonce: it can never apply later
      if (usesNonce) {
        expect(chain.account(bob)).toMatchObject({ nextNonce: 2, lastBlockIndex: 3 })
        const b = before.accounts.find(([address]) => address === bob.address)![1]
        b.nextNonce = 2
        b.lastBlockIndex = 3
      }
      expect(snapshot(chain.ledger)).toEqual(before)
    },
  )
})

// ------------------------------------------------------------------ expiry

describe('gas lots expire gasWindowMs after their block', () => {
  it('drops an expired lot from the balance and moves it to expiredGas when the account transacts', () => {
    const chain = chainWithBob(30) // block 1 at G + 1_000
    chain.apply(2_000, { txs: [grantTx(authority, bob, 50, { nonce: 1 })] }) // block 2 at G + 2_000
    // one ms before the first lot's end both are live; at its end only the second
    expect(chain.ledger.balance(bob.address, G + 1_000 + WINDOW - 1)).toBe(80)
    expect(chain.ledger.balance(bob.address, G + 1_000 + WINDOW)).toBe(50)

    // a tx in a block at the first lot's end draws from the live lot only
    const exec = chain.apply(1_000 + WINDOW, { txs: [signedTx(bob, { nonce: 0, gas: 10 })] })
    ok(exec.receipts.txs[0])
    expect(exec.receipts.txs[0]!.draws).toEqual([{ index: 2, useGas: 10 }])
    expect(exec.expired).toBe(30)
    expect(chain.account(bob)).toMatchObject({
      expiredGas: 30,
      gasUsed: 10,
      lots: [{ blockIndex: 2, time: G + 2_000, remaining: 40 }],
    })
  })

  it('fails a tx whose gas only expired lots could cover (INSUFFICIENT_GAS)', () => {
    const chain = chainWithBob(30)
    chain.apply(2_000, { txs: [grantTx(authority, bob, 50, { nonce: 1 })] })
    const exec = chain.apply(1_000 + WINDOW, { txs: [signedTx(bob, { nonce: 0, gas: 51 })] })
    failedWith(exec.receipts.txs[0], 'INSUFFICIENT_GAS')
    expect(exec.gasUsed).toBe(0)
    expect(chain.account(bob).nextNonce).toBe(1)
    expect(chain.ledger.balance(bob.address, G + 1_000 + WINDOW)).toBe(50)
  })

  it('expires the genesis grant too', () => {
    const chain = new Chain()
    expect(chain.ledger.balance(authority.address, G + WINDOW - 1)).toBe(GRANT)
    expect(chain.ledger.balance(authority.address, G + WINDOW)).toBe(0)
    const exec = chain.apply(WINDOW, { txs: [signedTx(authority, { nonce: 0, gas: 1 })] })
    failedWith(exec.receipts.txs[0], 'INSUFFICIENT_GAS')
  })

  it('never expires a lot when gasWindowMs is 0', () => {
    const forever = withGasWindow(genesis, 0)
    const ledger = LedgerState.fromGenesis(forever)
    const late = genesisTimeMs(forever) + 1000 * WINDOW
    expect(ledger.balance(authority.address, late)).toBe(GRANT)
    const exec = executeBlock(
      ledger,
      blockOf(1, late, { txs: [signedTx(authority, { nonce: 0, gas: GRANT })] }),
      ROOT0,
    )
    ok(exec.receipts.txs[0])
    expect(exec.expired).toBe(0)
  })
})

// ------------------------------------------------------------------ state root

describe('the state root', () => {
  const body = () => ({
    accounts: [registrationOf(bob, 'bob')],
    txs: [grantTx(authority, bob, 40, { gas: 7 }), grantTx(authority, carol, 5, { nonce: 1 })],
  })

  it('is the same for the same ledger, block and parent root', () => {
    const a = executeBlock(LedgerState.fromGenesis(genesis), blockOf(1, G + 1_000, body()), ROOT0)
    const b = executeBlock(LedgerState.fromGenesis(genesis), blockOf(1, G + 1_000, body()), ROOT0)
    expect(a.stateRoot).toHaveLength(32)
    expect(toHex(a.stateRoot)).toBe(toHex(b.stateRoot))
    // and for a chain of blocks
    const one = new Chain()
    const two = new Chain()
    for (const chain of [one, two]) {
      chain.apply(1_000, body())
      chain.apply(2_000, { txs: [signedTx(bob, { nonce: 0, gas: 20 })] })
    }
    expect(toHex(one.root)).toBe(toHex(two.root))
  })

  it('chains from the parent root', () => {
    const ledger = LedgerState.fromGenesis(genesis)
    const block = blockOf(1, G + 1_000, body())
    const a = executeBlock(ledger, block, ROOT0)
    const other = new Uint8Array(ROOT0)
    other[0]! ^= 1
    const b = executeBlock(ledger, block, other)
    expect(bytesEqual(a.stateRoot, b.stateRoot)).toBe(false)
  })

  it('changes with any change to an account the block touches', () => {
    const base = executeBlock(
      LedgerState.fromGenesis(genesis),
      blockOf(1, G + 1_000, body()),
      ROOT0,
    )
    // the sender spends one more unit of gas
    const moreGas = body()
    moreGas.txs[0] = grantTx(authority, bob, 40, { gas: 8 })
    const spent = executeBlock(
      LedgerState.fromGenesis(genesis),
      blockOf(1, G + 1_000, moreGas),
      ROOT0,
    )
    // the recipient gets one more unit
    const moreGrant = body()
    moreGrant.txs[1] = grantTx(authority, carol, 6, { nonce: 1 })
    const granted = executeBlock(
      LedgerState.fromGenesis(genesis),
      blockOf(1, G + 1_000, moreGrant),
      ROOT0,
    )
    // the sender's record differed before the block (a field the block does not write)
    const edited = LedgerState.fromGenesis(genesis)
    edited.account(authority.address)!.data = 'edited'
    const before = executeBlock(edited, blockOf(1, G + 1_000, body()), ROOT0)
    // the same block at another time (the lots' time)
    const later = executeBlock(
      LedgerState.fromGenesis(genesis),
      blockOf(1, G + 1_001, body()),
      ROOT0,
    )
    const roots = [base, spent, granted, before, later].map((e) => toHex(e.stateRoot))
    expect(new Set(roots).size).toBe(roots.length)
  })
})

// ------------------------------------------------------------------ conservation

/**
 * Gas is neither made nor lost: what the lots hold, plus what was used, plus
 * what expired, over every account and every unclaimed address, is what was
 * granted (genesis included). Returns the difference (0 when it holds).
 */
function conservationGap(ledger: LedgerState, granted: number): number {
  let sum = 0
  for (const a of ledger.accounts.values()) {
    for (const lot of a.lots) sum += lot.remaining
    sum += a.gasUsed + a.expiredGas
  }
  for (const u of ledger.unclaimed.values()) {
    for (const lot of u.lots) sum += lot.remaining
    sum += u.expiredGas
  }
  return sum - granted
}

describe('conservation', () => {
  it('holds after every block of a run with grants, claims, gas use and expiry', () => {
    const chain = new Chain()
    const check = () => {
      const at = `after block ${chain.height}`
      expect(conservationGap(chain.ledger, GRANT + chain.granted), at).toBe(0)
      let used = 0
      let expired = 0
      for (const a of chain.ledger.accounts.values()) {
        used += a.gasUsed
        expired += a.expiredGas
      }
      for (const u of chain.ledger.unclaimed.values()) expired += u.expiredGas
      expect(used, at).toBe(chain.gasUsed)
      expect(expired, at).toBe(chain.expired)
    }
    check()
    // 1: bob registers and is granted gas; carol, without an account, too
    chain.apply(1_000, {
      accounts: [registrationOf(bob, 'bob')],
      txs: [
        grantTx(authority, bob, 100, { gas: 50 }),
        grantTx(authority, carol, 60, { nonce: 1, gas: 10 }),
      ],
    })
    check()
    // 2: a second lot for bob; he spends from the first; a tx beyond his balance fails
    const b2 = chain.apply(20_000, {
      txs: [
        grantTx(authority, bob, 30, { nonce: 2 }),
        signedTx(bob, { nonce: 0, gas: 90 }),
        signedTx(bob, { nonce: 1, gas: 1_000 }),
      ],
    })
    failedWith(b2.receipts.txs[2], 'INSUFFICIENT_GAS')
    check()
    // 3: carol registers, claims her gas and spends some
    chain.apply(30_000, {
      accounts: [registrationOf(carol, 'carol')],
      txs: [signedTx(carol, { nonce: 0, gas: 15 })],
    })
    check()
    // 4: the lots of blocks 0 and 1 are past the window: they expire as their owners transact
    chain.apply(61_000, {
      txs: [
        signedTx(authority, { nonce: 3 }),
        signedTx(bob, { nonce: 2, gas: 5 }),
        signedTx(carol, { nonce: 1 }),
      ],
    })
    expect(chain.expired).toBe(1000 - 60 + (100 - 90) + (60 - 15))
    check()
    // 5: dave, without an account, is granted gas…
    chain.apply(62_000, { txs: [grantTx(authority, dave, 20, { nonce: 4 })] })
    check()
    // 6: …which has expired when he registers and transacts
    const b6 = chain.apply(62_000 + WINDOW, {
      accounts: [registrationOf(dave, 'dave')],
      txs: [signedTx(dave, { nonce: 0 })],
    })
    ok(b6.receipts.txs[0])
    expect(chain.account(dave).expiredGas).toBe(20)
    check()
    expect(chain.granted).toBe(100 + 60 + 30 + 20)
    expect(chain.gasUsed).toBe(50 + 10 + 90 + 15 + 5)
    expect(chain.expired).toBe(1000 - 60 + 10 + 45 + 20)
  })

  it('is a check that fails on a planted bug (a lot that grew)', () => {
    const chain = chainWithBob(100)
    expect(conservationGap(chain.ledger, GRANT + chain.granted)).toBe(0)
    chain.account(bob).lots[0]!.remaining += 1
    expect(conservationGap(chain.ledger, GRANT + chain.granted)).toBe(1)
  })
})

// ------------------------------------------------------------------ purity

describe('executeBlock', () => {
  it('leaves the ledger as it was until applyExecution', () => {
    const erin = accountIdentity('erin')
    const chain = new Chain()
    chain.apply(5_000, {
      txs: [grantTx(authority, bob, 40), grantTx(authority, carol, 30, { nonce: 1 })],
    })
    chain.apply(6_000, {
      accounts: [registrationOf(carol, 'carol')],
      txs: [grantTx(authority, carol, 20, { nonce: 2 })],
    })
    const before = snapshot(chain.ledger)
    // a block that claims unclaimed gas, grants, draws across lots and expires a lot
    const block = blockOf(3, G + WINDOW + 1_500, {
      accounts: [registrationOf(bob, 'bob'), registrationOf(dave, 'dave')],
      txs: [
        grantTx(authority, dave, 5, { nonce: 3 }),
        signedTx(bob, { nonce: 0, gas: 10 }),
        signedTx(carol, { nonce: 0, gas: 40 }),
        grantTx(authority, erin, 5, { nonce: 4 }),
      ],
    })
    const exec = executeBlock(chain.ledger, block, chain.root)
    // the block does something…
    expect(exec.receipts.accounts.map((r) => r.status)).toEqual([
      ReceiptStatus.OK,
      ReceiptStatus.OK,
    ])
    expect(exec.receipts.txs.map((r) => r.status)).toEqual(Array(4).fill(ReceiptStatus.OK))
    expect(exec.receipts.txs[2]!.draws).toEqual([
      { index: 1, useGas: 30 },
      { index: 2, useGas: 10 },
    ])
    expect(exec.gasUsed).toBe(50)
    expect(exec.granted).toBe(10)
    expect(exec.expired).toBe(GRANT)
    // …and none of it is in the ledger yet
    expect(snapshot(chain.ledger)).toEqual(before)
    // executing it again gives the same result
    expect(toHex(executeBlock(chain.ledger, block, chain.root).stateRoot)).toBe(
      toHex(exec.stateRoot),
    )
    applyExecution(chain.ledger, exec)
    expect(snapshot(chain.ledger)).not.toEqual(before)
    expect(chain.ledger.account(bob.address)?.lots).toEqual([
      { blockIndex: 1, time: G + 5_000, remaining: 30 },
    ])
    expect(chain.ledger.unclaimed.has(bob.address)).toBe(false)
    expect(chain.ledger.unclaimed.get(erin.address)?.lots).toHaveLength(1)
  })
})
