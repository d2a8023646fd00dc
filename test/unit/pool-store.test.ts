/**
 * The pool bucket on a real store (node/node/pool-store.ts): committed txs go to disk one record
 * per write and leave it once every one of them is used up; what a restart reads back is every
 * committed tx not yet used up, in the order they committed; a store written before records (one
 * key per tx) is read back and emptied as before; and what the bucket holds stays bounded.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { txHashHex } from '../../src/core/chain/tx.js'
import { MAX_POOL_RECORD_TXS, PoolRecordCodec, type Tx } from '../../src/core/codec/index.js'
import type { PersistOp } from '../../src/core/consensus/types.js'
import { fromHex } from '../../src/core/crypto/hash.js'
import { loadPool, PoolRecords } from '../../src/node/node/pool-store.js'
import { Store } from '../../src/node/store/index.js'
import { accountIdentity, hashOf, registrationOf, signedTx } from './fixtures.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!()
})

async function openStore(): Promise<Store> {
  const dir = await mkdtemp(join(tmpdir(), 'bftchain-pool-'))
  const store = await Store.open(dir)
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  cleanups.push(() => store.close())
  return store
}

const alice = accountIdentity('alice')
const txs = (from: number, n: number): Tx[] =>
  Array.from({ length: n }, (_, i) => signedTx(alice, { nonce: from + i }))
const put = (tx: Tx): PersistOp => ({
  op: 'pool-put',
  hash: txHashHex(tx),
  tx,
  batch: hashOf('batch'),
})
const del = (tx: Tx): PersistOp => ({ op: 'pool-del', hash: txHashHex(tx) })

async function write(store: Store, records: PoolRecords, ops: PersistOp[]): Promise<void> {
  const batch = store.batch()
  records.addOps(batch, store, ops)
  await batch.write()
}

async function keys(store: Store): Promise<number> {
  let n = 0
  for await (const _ of store.pool.entries()) n++
  return n
}

describe('the pool bucket', () => {
  it('keeps the txs of one write under one key, and deletes it once all are used up', async () => {
    const store = await openStore()
    const records = new PoolRecords()
    const [a, b, c, d] = txs(0, 4) as [Tx, Tx, Tx, Tx]
    await write(store, records, [put(a), put(b), put(c)])
    await write(store, records, [put(d)])
    expect(await keys(store)).toBe(2)
    expect(records.size).toEqual({ records: 2, txs: 4 })
    // two of the first write's txs used up: its record stays for the third
    await write(store, records, [del(a), del(b)])
    expect(await keys(store)).toBe(2)
    await write(store, records, [del(c)])
    expect(await keys(store)).toBe(1)
    // a delete of what is gone already deletes nothing more
    await write(store, records, [del(c), del(d)])
    expect(await keys(store)).toBe(0)
    expect(records.size).toEqual({ records: 0, txs: 0 })
  })

  it('reads back the committed txs not used up, in commit order, and counts on from there', async () => {
    const store = await openStore()
    const first = new PoolRecords()
    const list = txs(0, 5)
    await write(store, first, [put(list[3]!), put(list[1]!)])
    await write(store, first, [put(list[4]!), put(list[0]!), put(list[2]!)])
    // two are used up by a final block: the tx index has them (the same write, as chain-store's)
    const final = store.batch()
    first.addOps(final, store, [del(list[1]!), del(list[0]!)])
    for (const tx of [list[1]!, list[0]!])
      final.put(store.txIndex, fromHex(txHashHex(tx)), { height: 1, index: 0 })
    await final.write()
    // a restart: a new writer reads the disk back
    const second = new PoolRecords()
    const saved = await loadPool(store, second)
    expect(saved.committed.map((c) => c.hash)).toEqual(
      [list[3]!, list[4]!, list[2]!].map(txHashHex),
    )
    expect(saved.committed.every((c) => c.batch.length === 32)).toBe(true)
    // the restarted writer deletes the records as their txs are used up, and numbers new ones on
    await write(store, second, [put(txs(5, 1)[0]!)])
    await write(store, second, [del(list[3]!)])
    expect(await keys(store)).toBe(2)
    await write(store, second, [del(list[4]!), del(list[2]!)])
    expect(await keys(store)).toBe(1)
    expect(second.size).toEqual({ records: 1, txs: 1 })
    const third = new PoolRecords()
    expect((await loadPool(store, third)).committed.map((c) => c.tx.nonce)).toEqual([5])
  })

  it('uses up the txs of a final block, and leaves account registrations as they were', async () => {
    const store = await openStore()
    const records = new PoolRecords()
    const [a, b] = txs(0, 2) as [Tx, Tx]
    const reg = registrationOf(alice, 'alice')
    await write(store, records, [
      put(a),
      put(b),
      { op: 'account-pending-put', address: alice.address, reg },
    ])
    const final = { op: 'block-final', poolDeletes: [txHashHex(a), txHashHex(b)] }
    await write(store, records, [final as unknown as PersistOp])
    const saved = await loadPool(store, new PoolRecords())
    expect(saved.committed).toEqual([])
    expect(saved.pendingAccounts.map((p) => p.address)).toEqual([alice.address])
  })

  it('reads back and empties a store that kept each committed tx under its own key', async () => {
    const store = await openStore()
    const [a, b] = txs(0, 2) as [Tx, Tx]
    const old = store.batch()
    for (const tx of [a, b]) {
      const key = new Uint8Array([0x01, ...fromHex(txHashHex(tx))])
      old.put(store.pool, key, PoolRecordCodec.encode({ tx, batch: hashOf('batch') }))
    }
    await old.write()
    const records = new PoolRecords()
    const saved = await loadPool(store, records)
    expect(saved.committed.map((c) => c.hash).sort()).toEqual([a, b].map(txHashHex).sort())
    // it commits again after the restart (same hash): kept once, and used up once
    await write(store, records, [put(a)])
    expect(await keys(store)).toBe(2)
    await write(store, records, [del(a), del(b)])
    expect(await keys(store)).toBe(0)
  })

  it('splits a large write into records of at most MAX_POOL_RECORD_TXS', async () => {
    const store = await openStore()
    const records = new PoolRecords()
    const list = txs(0, MAX_POOL_RECORD_TXS + 3)
    await write(store, records, list.map(put))
    expect(await keys(store)).toBe(2)
    const saved = await loadPool(store, new PoolRecords())
    expect(saved.committed.map((c) => c.tx.nonce)).toEqual(list.map((t) => t.nonce))
  })

  it('deletes, with the next write, a record read back with all of its txs final', async () => {
    const store = await openStore()
    const [a, b] = txs(0, 2) as [Tx, Tx]
    await write(store, new PoolRecords(), [put(a)])
    // a's block is final, but the write that would have deleted its record never happened
    await store
      .batch()
      .put(store.txIndex, fromHex(txHashHex(a)), { height: 1, index: 0 })
      .write()
    const records = new PoolRecords()
    expect((await loadPool(store, records)).committed).toEqual([])
    expect(await keys(store)).toBe(1)
    await write(store, records, [put(b)])
    expect(await keys(store)).toBe(1)
    expect((await loadPool(store, new PoolRecords())).committed.map((c) => c.tx.nonce)).toEqual([1])
  })

  it('counts a tx committed and used up in one write (its put comes first)', async () => {
    const store = await openStore()
    const records = new PoolRecords()
    const [a, b] = txs(0, 2) as [Tx, Tx]
    const final = { op: 'block-final', poolDeletes: [txHashHex(a)] } as unknown as PersistOp
    // b twice in the write: kept and counted once
    await write(store, records, [put(a), put(b), put(b), final])
    expect(records.size).toEqual({ records: 1, txs: 1 })
    await write(store, records, [del(b)])
    expect(await keys(store)).toBe(0)
    expect(records.size).toEqual({ records: 0, txs: 0 })
  })
})
